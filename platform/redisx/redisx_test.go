package redisx_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/redisx"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]config.Redis{
		"unknown_mode":             {Mode: "mesh", Addrs: []string{"127.0.0.1:1"}},
		"no_addresses":             {Mode: redisx.ModeSingle},
		"single_with_two_addrs":    {Mode: redisx.ModeSingle, Addrs: []string{"a:1", "b:1"}},
		"sentinel_without_master":  {Mode: redisx.ModeSentinel, Addrs: []string{"127.0.0.1:1"}},
		"cluster_with_non_zero_db": {Mode: redisx.ModeCluster, Addrs: []string{"127.0.0.1:1"}, DB: 2},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := redisx.New(cfg)
			assert.Error(t, err)
		})
	}
}

func TestOpenWithoutModeMeansNoRedis(t *testing.T) {
	t.Parallel()
	r, err := redisx.Open(config.Redis{}, nil)
	require.NoError(t, err)
	assert.Nil(t, r)
}

func TestBreakerOpensAfterFailuresAndClosesAfterCooldown(t *testing.T) {
	t.Parallel()
	b := redisx.NewBreaker("test", 3, 100*time.Millisecond)
	reg := prometheus.NewRegistry()
	require.NoError(t, b.Register(reg))
	ctx := context.Background()
	boom := errors.New("connection refused")
	for range 3 {
		assert.ErrorIs(t, b.Do(ctx, func(context.Context) error { return boom }), boom)
	}
	assert.Equal(t, redisx.StateOpen, b.State())
	assert.Equal(t, 2.0, metricValue(t, reg, "fitloop_redis_breaker_state"))

	called := false
	err := b.Do(ctx, func(context.Context) error { called = true; return nil })
	assert.ErrorIs(t, err, redisx.ErrOpen)
	assert.False(t, called, "an open breaker does not call Redis")
	assert.Equal(t, 1.0, metricValue(t, reg, "fitloop_redis_breaker_rejected_total"))

	require.Eventually(t, func() bool { return b.State() == redisx.StateHalfOpen }, 2*time.Second, 10*time.Millisecond)
	assert.Equal(t, 1.0, metricValue(t, reg, "fitloop_redis_breaker_state"))
	require.NoError(t, b.Do(ctx, func(context.Context) error { return nil }))
	assert.Equal(t, redisx.StateClosed, b.State())
	assert.Equal(t, 0.0, metricValue(t, reg, "fitloop_redis_breaker_state"))
}

func TestBreakerIgnoresMissesAndCancellations(t *testing.T) {
	t.Parallel()
	b := redisx.NewBreaker("test", 1, time.Minute)
	ctx := context.Background()
	_ = b.Do(ctx, func(context.Context) error { return context.Canceled })
	assert.Equal(t, redisx.StateClosed, b.State(), "a caller that gave up says nothing about Redis")
}

func TestOpenClosesBreakerWhenRedisReturns(t *testing.T) {
	t.Parallel()
	addr := testkit.Redis(t)
	reg := prometheus.NewRegistry()
	r, err := redisx.Open(config.Redis{Mode: redisx.ModeSingle, Addrs: []string{addr},
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
		BreakerFailures: 2, BreakerCooldown: 200 * time.Millisecond}, reg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	ctx := context.Background()
	require.NoError(t, r.Check(ctx))

	testkit.KillRedis(t, addr)
	require.Eventually(t, func() bool { return r.Check(ctx) != nil && r.Breaker.State() == redisx.StateOpen },
		5*time.Second, 20*time.Millisecond)
	assert.ErrorContains(t, r.Check(ctx), "circuit breaker open")
	assert.Equal(t, 2.0, metricValue(t, reg, "fitloop_redis_breaker_state"))

	testkit.RestartRedis(t, addr)
	// No calls from the test: the prober alone closes the breaker.
	require.Eventually(t, func() bool { return r.Breaker.State() == redisx.StateClosed }, 10*time.Second, 20*time.Millisecond)
	assert.NoError(t, r.Check(ctx))
}

// metricValue reads the one gauge or counter called name from reg.
func metricValue(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	families, err := reg.Gather()
	require.NoError(tb, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		require.Len(tb, f.GetMetric(), 1)
		m := f.GetMetric()[0]
		if m.GetGauge() != nil {
			return m.GetGauge().GetValue()
		}
		return m.GetCounter().GetValue()
	}
	tb.Fatalf("metric %s not registered", name)
	return 0
}
