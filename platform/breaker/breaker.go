// Package breaker is the circuit breaker fitloop puts around calls to backends
// it can live without for a moment (Redis, MongoDB, the warehouse): after a run
// of failures it rejects calls at once instead of letting each one wait for a
// time-out, and after a cooldown it lets one trial call through.
//
// A breaker counts only the failures its backend's classifier says are about
// the backend (a time-out, a lost connection), never a caller that gave up
// (context.Canceled). Its state and rejected calls are Prometheus metrics
// named after the backend: fitloop_<backend>_breaker_state (0 closed,
// 1 half-open, 2 open) and fitloop_<backend>_breaker_rejected_total, labelled
// breaker=<name>.
package breaker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// ErrOpen is returned, wrapped, by Breaker.Do while the breaker rejects calls.
var ErrOpen = errors.New("circuit breaker open")

// State is the breaker's state; its numeric value is the gauge's.
type State = gobreaker.State

// Breaker states.
const (
	StateClosed   = gobreaker.StateClosed
	StateHalfOpen = gobreaker.StateHalfOpen
	StateOpen     = gobreaker.StateOpen
)

// Defaults for settings that are not positive.
const (
	DefaultFailures = 5
	DefaultCooldown = 5 * time.Second
)

// Options are what differs between backends.
type Options struct {
	// Backend names the metrics (fitloop_<backend>_breaker_…); empty means
	// the breaker's name.
	Backend string
	// Failure reports whether a call's error says the backend is unhealthy.
	// Nil counts every error. context.Canceled never counts either way.
	Failure func(error) bool
}

// Breaker is a circuit breaker with Prometheus metrics. It is safe for
// concurrent use.
type Breaker struct {
	name     string
	cooldown time.Duration
	cb       *gobreaker.CircuitBreaker[struct{}]
	state    prometheus.GaugeFunc
	rejected prometheus.Counter
}

// New returns a breaker that opens after failures consecutive failures
// (DefaultFailures when not positive) and lets one trial call through after
// cooldown (DefaultCooldown when not positive). name labels the metrics and
// the errors.
func New(name string, failures int, cooldown time.Duration, opts Options) *Breaker {
	if failures <= 0 {
		failures = DefaultFailures
	}
	if cooldown <= 0 {
		cooldown = DefaultCooldown
	}
	failure := opts.Failure
	if failure == nil {
		failure = func(error) bool { return true }
	}
	b := &Breaker{name: name, cooldown: cooldown}
	b.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         name,
		MaxRequests:  1,
		Timeout:      cooldown,
		ReadyToTrip:  func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(failures) },
		IsSuccessful: func(err error) bool { return err == nil || !failure(err) },
		// A caller that gave up says nothing about the backend.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
	})
	backend := cmp.Or(opts.Backend, name, "backend")
	title := strings.ToUpper(backend[:1]) + backend[1:]
	labels := prometheus.Labels{"breaker": name}
	b.state = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "fitloop_" + backend + "_breaker_state", ConstLabels: labels,
		Help: title + " circuit breaker state: 0 closed, 1 half-open, 2 open.",
	}, func() float64 { return float64(b.State()) })
	b.rejected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "fitloop_" + backend + "_breaker_rejected_total", ConstLabels: labels,
		Help: title + " calls rejected without trying because the circuit breaker was open.",
	})
	return b
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

// Cooldown is how long the breaker stays open before its trial call: the
// longest a rejected caller has to wait.
func (b *Breaker) Cooldown() time.Duration { return b.cooldown }

// Do runs fn unless the breaker is open, and records its outcome. While open
// (and while half-open with its one trial call under way) it returns an
// error wrapping ErrOpen without calling fn.
func (b *Breaker) Do(ctx context.Context, fn func(context.Context) error) error {
	_, err := b.cb.Execute(func() (struct{}, error) { return struct{}{}, fn(ctx) })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		b.rejected.Inc()
		return fmt.Errorf("%s: %w (%s)", b.name, ErrOpen, b.State())
	}
	return err
}

// Probe calls ping through the breaker every interval while the breaker is
// half-open, so it closes again without waiting for traffic. It returns when
// ctx is done.
func (b *Breaker) Probe(ctx context.Context, interval time.Duration, ping func(context.Context) error) {
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
		_ = b.Do(pctx, ping)
		cancel()
	}
}
