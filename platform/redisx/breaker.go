package redisx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// ErrOpen is returned, wrapped, by Breaker.Do while the breaker rejects calls.
var ErrOpen = errors.New("redisx: circuit breaker open")

// State is the breaker's state; its numeric value is the gauge's.
type State = gobreaker.State

// Breaker states.
const (
	StateClosed   = gobreaker.StateClosed
	StateHalfOpen = gobreaker.StateHalfOpen
	StateOpen     = gobreaker.StateOpen
)

// Breaker is a circuit breaker for Redis calls with Prometheus metrics. It is
// safe for concurrent use.
type Breaker struct {
	cb       *gobreaker.CircuitBreaker[struct{}]
	state    prometheus.GaugeFunc
	rejected prometheus.Counter
}

// NewBreaker opens after failures consecutive failures (5 when not positive)
// and lets one trial call through after cooldown (5 s when not positive).
// name labels the metrics.
func NewBreaker(name string, failures int, cooldown time.Duration) *Breaker {
	if failures <= 0 {
		failures = 5
	}
	if cooldown <= 0 {
		cooldown = 5 * time.Second
	}
	b := &Breaker{}
	b.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         name,
		MaxRequests:  1,
		Timeout:      cooldown,
		ReadyToTrip:  func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(failures) },
		IsSuccessful: isSuccessful,
		// A caller that gave up says nothing about Redis.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
	})
	labels := prometheus.Labels{"breaker": name}
	b.state = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "fitloop_redis_breaker_state", ConstLabels: labels,
		Help: "Redis circuit breaker state: 0 closed, 1 half-open, 2 open.",
	}, func() float64 { return float64(b.State()) })
	b.rejected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "fitloop_redis_breaker_rejected_total", ConstLabels: labels,
		Help: "Redis calls rejected without trying because the circuit breaker was open.",
	})
	return b
}

// isSuccessful counts answers from a working server as successes: a miss
// (redis.Nil) and command errors such as WRONGTYPE. Errors saying the server
// cannot serve (cluster down, loading, read-only replica) are failures.
func isSuccessful(err error) bool {
	if err == nil || errors.Is(err, goredis.Nil) {
		return true
	}
	var rerr goredis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	for _, p := range []string{"CLUSTERDOWN", "LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN"} {
		if strings.HasPrefix(rerr.Error(), p) {
			return false
		}
	}
	return true
}

// Register adds the breaker's gauge and counter to reg.
func (b *Breaker) Register(reg prometheus.Registerer) error {
	if err := reg.Register(b.state); err != nil {
		return err
	}
	return reg.Register(b.rejected)
}

// State reports the breaker's state. An open breaker whose cooldown has
// passed reports half-open.
func (b *Breaker) State() State { return b.cb.State() }

// Do runs fn unless the breaker is open, and records its outcome. While open
// it returns an error wrapping ErrOpen without calling fn.
func (b *Breaker) Do(ctx context.Context, fn func(context.Context) error) error {
	_, err := b.cb.Execute(func() (struct{}, error) { return struct{}{}, fn(ctx) })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		b.rejected.Inc()
		return fmt.Errorf("%w (%s)", ErrOpen, b.State())
	}
	return err
}

// Check returns a readiness check that pings client through the breaker. Its
// error names the breaker state, so /readyz shows it.
func (b *Breaker) Check(client goredis.UniversalClient) func(context.Context) error {
	return func(ctx context.Context) error {
		err := b.Do(ctx, func(ctx context.Context) error { return client.Ping(ctx).Err() })
		if err != nil {
			return fmt.Errorf("redis unavailable, circuit breaker %s: %w", b.State(), err)
		}
		return nil
	}
}

// Probe pings client through the breaker every interval while the breaker is
// half-open, so it closes again without waiting for traffic. It returns when
// ctx is done.
func (b *Breaker) Probe(ctx context.Context, client goredis.UniversalClient, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Open means the cooldown is still running; State turns half-open
		// once it ends, and then one ping decides.
		if b.State() != StateHalfOpen {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, interval+time.Second)
		_ = b.Do(pctx, func(ctx context.Context) error { return client.Ping(ctx).Err() })
		cancel()
	}
}
