package cron

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// instruments are the scheduler's Prometheus metrics.
type instruments struct {
	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
}

func newInstruments(reg prometheus.Registerer) (*instruments, error) {
	m := &instruments{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fitloop_cron_runs_total",
			Help: "Cron runs this replica made, by job and final status (skipped: the previous run was still going).",
		}, []string{"job", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fitloop_cron_run_duration_seconds",
			Help:    "Duration of cron runs by job.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 15, 60, 300, 900, 3600},
		}, []string{"job"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fitloop_cron_last_success_timestamp_seconds",
			Help: "Unix time at which a job last finished successfully on this replica.",
		}, []string{"job"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.runs, m.duration, m.lastSuccess} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("cron: metrics: %w", err)
		}
	}
	return m, nil
}

func (m *instruments) observe(job string, status Status, took time.Duration, end time.Time) {
	m.runs.WithLabelValues(job, string(status)).Inc()
	if status == StatusSkipped {
		return
	}
	m.duration.WithLabelValues(job).Observe(took.Seconds())
	if status == StatusSucceeded {
		m.lastSuccess.WithLabelValues(job).Set(float64(end.Unix()))
	}
}
