package jobs

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// queueMetrics are the queue's Prometheus collectors.
type queueMetrics struct {
	processed *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	depth     *depthCollector
}

func newQueueMetrics(q *Queue) *queueMetrics {
	return &queueMetrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fitloop_jobs_processed_total",
			Help: "Job attempts by kind and outcome (succeeded, failed, dead, lease_lost, write_failed).",
		}, []string{"kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fitloop_jobs_handler_duration_seconds",
			Help:    "Job handler run time by kind.",
			Buckets: []float64{.005, .025, .1, .5, 1, 5, 30, 120, 600},
		}, []string{"kind"}),
		depth: &depthCollector{q: q, desc: prometheus.NewDesc("fitloop_jobs_queue_depth",
			"Jobs by kind and state, read from the database at scrape time (succeeded jobs not counted).",
			[]string{"kind", "state"}, nil)},
	}
}

func (m *queueMetrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.processed, m.duration, m.depth} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *queueMetrics) observe(kind, outcome string, elapsed time.Duration) {
	m.processed.WithLabelValues(kind, outcome).Inc()
	if elapsed > 0 {
		m.duration.WithLabelValues(kind).Observe(elapsed.Seconds())
	}
}

// depthCollector counts unfinished and dead jobs at scrape time with one
// grouped query on the claim index; succeeded jobs, the bulk of the table,
// are left out.
type depthCollector struct {
	q    *Queue
	desc *prometheus.Desc
}

var _ prometheus.Collector = (*depthCollector)(nil)

// Describe implements prometheus.Collector.
func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector; a failed query yields no samples
// rather than failing the scrape.
func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.q.counts(ctx, "WHERE state <> 'succeeded'")
	if err != nil {
		c.q.log.Warn("job queue depth not collected", "error", err.Error())
		return
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n.Count), n.Kind, n.State)
	}
}
