package cache

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/redisx"
	"github.com/fitloop/fitloop/platform/testkit"
)

// flaky is a Memory that fails every call while down is set.
type flaky struct {
	*Memory
	down atomic.Bool
}

var errDown = errors.New("redis down")

func (f *flaky) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if f.down.Load() {
		return nil, false, errDown
	}
	return f.Memory.Get(ctx, k)
}

func (f *flaky) GetMany(ctx context.Context, keys ...string) ([][]byte, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Memory.GetMany(ctx, keys...)
}

func (f *flaky) Delete(ctx context.Context, keys ...string) error {
	if f.down.Load() {
		return errDown
	}
	return f.Memory.Delete(ctx, keys...)
}

func (f *flaky) Incr(ctx context.Context, k string, ttl time.Duration) (int64, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.Memory.Incr(ctx, k, ttl)
}

func TestFallback(t *testing.T) {
	t.Parallel()
	testContract(t, NewFallback(NewMemory(), NewMemory()))
}

func (f *flaky) Update(ctx context.Context, k string, ttl time.Duration, fn UpdateFunc) ([]byte, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Memory.Update(ctx, k, ttl, fn)
}

func TestFallbackUpdateWaitsForLostDeletions(t *testing.T) {
	t.Parallel()
	primary := &flaky{Memory: NewMemory()}
	c := NewFallback(primary, NewMemory())
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "room", []byte("old"), time.Minute))
	primary.down.Store(true)
	require.NoError(t, c.Delete(ctx, "room"))
	_, err := c.Update(ctx, "room", time.Minute, func(cur []byte, _ bool) ([]byte, error) { return cur, nil })
	assert.ErrorIs(t, err, ErrPendingDelete)

	primary.down.Store(false)
	out, err := c.Update(ctx, "room", time.Minute, func(cur []byte, ok bool) ([]byte, error) {
		assert.False(t, ok, "the deleted value is not read back")
		return []byte("new"), nil
	})
	require.NoError(t, err)
	assert.Equal(t, []byte("new"), out)
}

func TestFallbackReplaysLostInvalidations(t *testing.T) {
	t.Parallel()
	primary := &flaky{Memory: NewMemory()}
	c := NewFallback(primary, NewMemory())
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "session", []byte("valid"), time.Minute))

	primary.down.Store(true)
	require.NoError(t, c.Delete(ctx, "session"), "a lost invalidation is remembered, not reported")
	_, ok, err := c.Get(ctx, "session")
	require.NoError(t, err)
	assert.False(t, ok, "an outage reads as a miss")

	primary.down.Store(false)
	_, ok, err = c.Get(ctx, "session")
	require.NoError(t, err)
	assert.False(t, ok, "the stale value does not come back with Redis")
	_, ok, _ = primary.Memory.Get(ctx, "session")
	assert.False(t, ok, "the deletion reached Redis")
}

func TestFallbackGetManyMissesWhatItCannotTrust(t *testing.T) {
	t.Parallel()
	primary := &flaky{Memory: NewMemory()}
	c := NewFallback(primary, NewMemory())
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "a", []byte("1"), time.Minute))
	require.NoError(t, c.Set(ctx, "b", []byte("2"), time.Minute))

	primary.down.Store(true)
	require.NoError(t, c.Delete(ctx, "a"))
	vals, err := c.GetMany(ctx, "a", "b")
	require.NoError(t, err, "an outage reads as misses")
	assert.Equal(t, [][]byte{nil, nil}, vals)

	require.NoError(t, primary.Memory.Set(ctx, "a", []byte("stale"), time.Minute)) // as if the DEL was lost
	primary.down.Store(false)
	vals, err = c.GetMany(ctx, "b", "a")
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("2"), nil}, vals, "the pending deletion is made before anything is read")
}

func TestFallbackKeepsAnsweringWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	addr := testkit.Redis(t)
	reg := prometheus.NewRegistry()
	r, err := redisx.Open(config.Redis{Mode: redisx.ModeSingle, Addrs: []string{addr},
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
		BreakerFailures: 3, BreakerCooldown: 300 * time.Millisecond}, reg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	c := New(r)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "profile", []byte("p"), time.Minute))
	n, err := c.Incr(ctx, "limit", time.Minute)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)

	testkit.KillRedis(t, addr)
	require.Eventually(t, func() bool {
		_, ok, err := c.Get(ctx, "profile")
		return err == nil && !ok && r.Breaker.State() == redisx.StateOpen
	}, 5*time.Second, 10*time.Millisecond, "misses, then the breaker opens")
	for want := int64(1); want <= 3; want++ {
		n, err := c.Incr(ctx, "limit", time.Minute)
		require.NoError(t, err)
		assert.Equal(t, want, n, "counts fall back to this replica's memory")
	}
	_, err = c.Update(ctx, "room", time.Minute, func([]byte, bool) ([]byte, error) { return []byte("state"), nil })
	assert.ErrorIs(t, err, redisx.ErrOpen, "state is never kept per replica: Update fails while Redis is away")
	assert.ErrorContains(t, r.Check(ctx), "open")
	families, err := reg.Gather()
	require.NoError(t, err)
	assert.Contains(t, gaugeValues(families), "fitloop_redis_breaker_state=2")

	testkit.RestartRedis(t, addr)
	require.Eventually(t, func() bool { return r.Breaker.State() == redisx.StateClosed },
		10*time.Second, 20*time.Millisecond, "the breaker closes by itself")
	require.NoError(t, c.Set(ctx, "profile", []byte("p2"), time.Minute))
	v, ok, err := c.Get(ctx, "profile")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []byte("p2"), v)
}

// gaugeValues lists the gauges in families as "name=value".
func gaugeValues(families []*dto.MetricFamily) []string {
	var out []string
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if g := m.GetGauge(); g != nil {
				out = append(out, f.GetName()+"="+strconv.FormatFloat(g.GetValue(), 'g', -1, 64))
			}
		}
	}
	return out
}
