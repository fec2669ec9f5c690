package breaker_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/breaker"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var errDown = errors.New("connection refused")

func fail(context.Context) error { return errDown }

func succeed(context.Context) error { return nil }

func TestBreaker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("opens_after_failures_and_rejects_without_calling", func(t *testing.T) {
		t.Parallel()
		b := breaker.New("store", 2, time.Minute, breaker.Options{Backend: "warehouse"})
		reg := prometheus.NewRegistry()
		require.NoError(t, b.Register(reg))
		for range 2 {
			assert.ErrorIs(t, b.Do(ctx, fail), errDown)
		}
		require.Equal(t, breaker.StateOpen, b.State())
		called := false
		err := b.Do(ctx, func(context.Context) error { called = true; return nil })
		assert.ErrorIs(t, err, breaker.ErrOpen)
		assert.EqualError(t, err, "store: circuit breaker open (open)")
		assert.False(t, called)
		assert.Equal(t, time.Minute, b.Cooldown())
		rec := httptest.NewRecorder()
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		for _, line := range []string{
			`# HELP fitloop_warehouse_breaker_state Warehouse circuit breaker state: 0 closed, 1 half-open, 2 open.`,
			`fitloop_warehouse_breaker_state{breaker="store"} 2`,
			`# HELP fitloop_warehouse_breaker_rejected_total Warehouse calls rejected without trying because the circuit breaker was open.`,
			`fitloop_warehouse_breaker_rejected_total{breaker="store"} 1`,
		} {
			assert.Contains(t, rec.Body.String(), line+"\n")
		}
	})

	t.Run("counts_only_what_failure_says_is_the_backends_fault", func(t *testing.T) {
		t.Parallel()
		answer := errors.New("no such row")
		b := breaker.New("db", 1, time.Minute, breaker.Options{Failure: func(err error) bool { return !errors.Is(err, answer) }})
		for range 3 {
			assert.ErrorIs(t, b.Do(ctx, func(context.Context) error { return answer }), answer)
		}
		assert.Equal(t, breaker.StateClosed, b.State())
		assert.ErrorIs(t, b.Do(ctx, fail), errDown)
		assert.Equal(t, breaker.StateOpen, b.State())
	})

	t.Run("ignores_cancelled_callers", func(t *testing.T) {
		t.Parallel()
		b := breaker.New("db", 1, time.Minute, breaker.Options{})
		assert.ErrorIs(t, b.Do(ctx, func(context.Context) error { return context.Canceled }), context.Canceled)
		assert.Equal(t, breaker.StateClosed, b.State())
	})

	t.Run("a_successful_trial_closes_and_a_failed_one_reopens", func(t *testing.T) {
		t.Parallel()
		b := breaker.New("db", 1, 20*time.Millisecond, breaker.Options{})
		require.Error(t, b.Do(ctx, fail))
		require.Eventually(t, func() bool { return b.State() == breaker.StateHalfOpen }, 5*time.Second, 5*time.Millisecond)
		require.ErrorIs(t, b.Do(ctx, fail), errDown)
		assert.Equal(t, breaker.StateOpen, b.State())
		require.Eventually(t, func() bool { return b.State() == breaker.StateHalfOpen }, 5*time.Second, 5*time.Millisecond)
		require.NoError(t, b.Do(ctx, succeed))
		assert.Equal(t, breaker.StateClosed, b.State())
	})

	t.Run("defaults_settings_that_are_not_positive", func(t *testing.T) {
		t.Parallel()
		b := breaker.New("db", 0, 0, breaker.Options{})
		assert.Equal(t, breaker.DefaultCooldown, b.Cooldown())
		for range breaker.DefaultFailures - 1 {
			require.ErrorIs(t, b.Do(ctx, fail), errDown)
		}
		assert.Equal(t, breaker.StateClosed, b.State())
		require.ErrorIs(t, b.Do(ctx, fail), errDown)
		assert.Equal(t, breaker.StateOpen, b.State())
	})
}

func TestProbeClosesTheBreakerWithoutTraffic(t *testing.T) {
	t.Parallel()
	b := breaker.New("db", 1, 20*time.Millisecond, breaker.Options{})
	require.Error(t, b.Do(context.Background(), fail))
	var pings atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Probe(ctx, 10*time.Millisecond, func(context.Context) error { pings.Add(1); return nil })
	}()
	require.Eventually(t, func() bool { return b.State() == breaker.StateClosed }, 5*time.Second, 5*time.Millisecond)
	cancel()
	<-done
	assert.Equal(t, int32(1), pings.Load(), "the prober pings only while half-open")
}
