package cache

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a settable clock for Memory.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newTestMemory(tb testing.TB, entries int) (*Memory, *fakeClock) {
	tb.Helper()
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := NewMemorySize(entries)
	m.now = clock.now
	return m, clock
}

func TestMemory(t *testing.T) {
	t.Parallel()
	testContract(t, NewMemory())
}

func TestMemoryExpiresEntries(t *testing.T) {
	t.Parallel()
	m, clock := newTestMemory(t, 10)
	ctx := context.Background()
	require.NoError(t, m.Set(ctx, "short", []byte("v"), time.Second))
	require.NoError(t, m.Set(ctx, "forever", []byte("v"), 0))
	clock.advance(time.Second)
	_, ok, _ := m.Get(ctx, "short")
	assert.False(t, ok, "an entry is gone at its expiry")
	_, ok, _ = m.Get(ctx, "forever")
	assert.True(t, ok, "a zero ttl never expires")

	clock.advance(sweepEvery)
	require.NoError(t, m.Set(ctx, "other", nil, 0))
	assert.Equal(t, 2, m.Len(), "writes sweep expired entries")
}

func TestMemoryIncrKeepsTheFirstExpiry(t *testing.T) {
	t.Parallel()
	m, clock := newTestMemory(t, 10)
	ctx := context.Background()
	for want := int64(1); want <= 3; want++ {
		n, err := m.Incr(ctx, "k", time.Minute)
		require.NoError(t, err)
		assert.Equal(t, want, n)
		clock.advance(20 * time.Second)
	}
	n, err := m.Incr(ctx, "k", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "the window started at the first increment")
}

func TestMemoryStaysBounded(t *testing.T) {
	t.Parallel()
	m, _ := newTestMemory(t, 3)
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		require.NoError(t, m.Set(ctx, k, []byte(k), time.Hour))
	}
	assert.Equal(t, 3, m.Len())
	v, ok, _ := m.Get(ctx, "e")
	assert.True(t, ok, "the newest entry is kept")
	assert.Equal(t, []byte("e"), v)
}

func TestMemoryIncrIsAtomic(t *testing.T) {
	t.Parallel()
	m := NewMemory()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, err := m.Incr(context.Background(), "k", time.Minute)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	n, err := m.Incr(context.Background(), "k", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, int64(801), n)
}
