// Package metrics holds the Prometheus registry modules register into, the
// HTTP metrics middleware, and database pool gauges.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fitloop/fitloop/platform/httpx"
)

// Registry wraps a Prometheus registry with the process and Go collectors.
type Registry struct {
	*prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	series   sync.Map // routeKey → *routeObserver
}

// New returns a registry with Go runtime, process and HTTP metrics.
func New() *Registry {
	reg := prometheus.NewRegistry()
	r := &Registry{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fitloop_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fitloop_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.requests, r.latency)
	return r
}

// Observe records a finished request by its route pattern (never the raw
// path, which would explode the label space). It fits httpx.Options.Observe.
func (r *Registry) Observe(sum httpx.Summary) {
	o := r.observer(sum.Route, sum.Method, sum.Status)
	o.count.Inc()
	o.latency.Observe(sum.Duration.Seconds())
}

// routeKey names one series of the HTTP metrics.
type routeKey struct {
	route, method string
	status        int
}

type routeObserver struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// observer returns the series for a request, resolving the labels once per
// distinct key: WithLabelValues hashes every label on every call, which
// costs more than the rest of the middleware together.
func (r *Registry) observer(route, method string, status int) *routeObserver {
	k := routeKey{route, method, status}
	if o, ok := r.series.Load(k); ok {
		return o.(*routeObserver)
	}
	o := &routeObserver{
		count:   r.requests.WithLabelValues(route, method, strconv.Itoa(status)),
		latency: r.latency.WithLabelValues(route, method),
	}
	actual, _ := r.series.LoadOrStore(k, o)
	return actual.(*routeObserver)
}

// Handler serves the registry in the Prometheus text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.Registry, promhttp.HandlerOpts{Registry: r.Registry})
}

// RegisterDBStats exports pool statistics of each named pool, read at scrape time.
func (r *Registry) RegisterDBStats(stats func() map[string]sql.DBStats) {
	r.MustRegister(&dbCollector{stats: stats})
}

type dbCollector struct{ stats func() map[string]sql.DBStats }

var (
	dbOpen  = prometheus.NewDesc("fitloop_db_open_connections", "Open connections by pool.", []string{"pool"}, nil)
	dbInUse = prometheus.NewDesc("fitloop_db_in_use_connections", "Connections in use by pool.", []string{"pool"}, nil)
	dbWait  = prometheus.NewDesc("fitloop_db_wait_count_total", "Waits for a connection by pool.", []string{"pool"}, nil)
	dbWaitS = prometheus.NewDesc("fitloop_db_wait_seconds_total", "Time spent waiting for a connection by pool.", []string{"pool"}, nil)
)

func (d *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dbOpen
	ch <- dbInUse
	ch <- dbWait
	ch <- dbWaitS
}

func (d *dbCollector) Collect(ch chan<- prometheus.Metric) {
	for pool, s := range d.stats() {
		ch <- prometheus.MustNewConstMetric(dbOpen, prometheus.GaugeValue, float64(s.OpenConnections), pool)
		ch <- prometheus.MustNewConstMetric(dbInUse, prometheus.GaugeValue, float64(s.InUse), pool)
		ch <- prometheus.MustNewConstMetric(dbWait, prometheus.CounterValue, float64(s.WaitCount), pool)
		ch <- prometheus.MustNewConstMetric(dbWaitS, prometheus.CounterValue, s.WaitDuration.Seconds(), pool)
	}
}
