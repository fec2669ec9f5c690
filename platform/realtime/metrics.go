package realtime

import "github.com/prometheus/client_golang/prometheus"

type hubMetrics struct {
	connections prometheus.Gauge
	in, out     prometheus.Counter
	slow        prometheus.Counter
}

func newHubMetrics(reg prometheus.Registerer) (*hubMetrics, error) {
	m := &hubMetrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fitloop_ws_connections", Help: "Open WebSocket connections."}),
		in: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fitloop_ws_messages_received_total", Help: "WebSocket messages received from clients."}),
		out: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fitloop_ws_messages_sent_total", Help: "WebSocket messages written to clients."}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fitloop_ws_slow_consumers_dropped_total", Help: "Connections dropped because their send queue was full."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.connections, m.in, m.out, m.slow} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
