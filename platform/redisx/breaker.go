package redisx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fitloop/fitloop/platform/breaker"
)

// ErrOpen is returned, wrapped, by Breaker.Do while the breaker rejects calls.
var ErrOpen = breaker.ErrOpen

// State is the breaker's state; its numeric value is the gauge's.
type State = breaker.State

// Breaker states.
const (
	StateClosed   = breaker.StateClosed
	StateHalfOpen = breaker.StateHalfOpen
	StateOpen     = breaker.StateOpen
)

// Breaker is a circuit breaker for Redis calls with Prometheus metrics
// (fitloop_redis_breaker_state, fitloop_redis_breaker_rejected_total). It is
// safe for concurrent use.
type Breaker struct{ *breaker.Breaker }

// NewBreaker opens after failures consecutive failures (5 when not positive)
// and lets one trial call through after cooldown (5 s when not positive).
// name labels the metrics.
func NewBreaker(name string, failures int, cooldown time.Duration) *Breaker {
	return &Breaker{breaker.New(name, failures, cooldown, breaker.Options{Backend: "redis", Failure: unhealthy})}
}

// unhealthy says which errors count against Redis. Answers from a working
// server do not: a miss (redis.Nil) and command errors such as WRONGTYPE.
// Errors saying the server cannot serve (cluster down, loading, read-only
// replica) do, and so does every error that is not a server's answer.
func unhealthy(err error) bool {
	if errors.Is(err, goredis.Nil) {
		return false
	}
	var rerr goredis.Error
	if !errors.As(err, &rerr) {
		return true
	}
	for _, p := range []string{"CLUSTERDOWN", "LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN"} {
		if strings.HasPrefix(rerr.Error(), p) {
			return true
		}
	}
	return false
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
	b.Breaker.Probe(ctx, interval, func(ctx context.Context) error { return client.Ping(ctx).Err() })
}
