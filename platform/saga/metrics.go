package saga

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fitloop/fitloop/platform/metrics"
)

// meters are the orchestrator's Prometheus series, labelled by saga name.
type meters struct {
	started, completed, compensated, parked *prometheus.CounterVec
	needsAttention                          *prometheus.GaugeVec
	stepDuration                            *prometheus.HistogramVec
}

func newMeters(reg *metrics.Registry) (*meters, error) {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"saga"})
	}
	m := &meters{
		started:     counter("fitloop_sagas_started_total", "Sagas started, by name."),
		completed:   counter("fitloop_sagas_completed_total", "Sagas that completed, by name."),
		compensated: counter("fitloop_sagas_compensated_total", "Sagas rolled back by their compensations, by name."),
		parked:      counter("fitloop_sagas_needs_attention_total", "Sagas parked as needs_attention, by name."),
		needsAttention: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fitloop_sagas_needs_attention", Help: "Sagas now waiting in needs_attention, by name.",
		}, []string{"saga"}),
		stepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fitloop_saga_step_duration_seconds", Help: "Duration of saga steps and compensations.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 30},
		}, []string{"saga", "step", "phase", "outcome"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	// A second orchestrator on the same registry (tests, a restart in-process)
	// shares the first one's series.
	m.started, err = register(reg, m.started, err)
	m.completed, err = register(reg, m.completed, err)
	m.compensated, err = register(reg, m.compensated, err)
	m.parked, err = register(reg, m.parked, err)
	m.needsAttention, err = register(reg, m.needsAttention, err)
	m.stepDuration, err = register(reg, m.stepDuration, err)
	return m, err
}

func register[T prometheus.Collector](reg *metrics.Registry, c T, prev error) (T, error) {
	if prev != nil {
		return c, prev
	}
	if err := reg.Register(c); err != nil {
		var dup prometheus.AlreadyRegisteredError
		if errors.As(err, &dup) {
			if existing, ok := dup.ExistingCollector.(T); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("saga: metrics: %w", err)
	}
	return c, nil
}
