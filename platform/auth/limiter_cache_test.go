package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/cache"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/redisx"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestCacheCounterBlocksAtTheLimit(t *testing.T) {
	t.Parallel()
	c := auth.NewCacheCounter(cache.NewMemory(), 3, time.Minute)
	now := time.Now()
	for range 3 {
		blocked, _ := c.Blocked("alice", now)
		require.False(t, blocked)
		c.Fail("alice", now)
	}
	blocked, wait := c.Blocked("alice", now)
	assert.True(t, blocked)
	assert.Positive(t, wait)
	assert.LessOrEqual(t, wait, time.Minute)
	blocked, _ = c.Blocked("bob", now)
	assert.False(t, blocked, "keys are counted apart")

	c.Reset("alice")
	blocked, _ = c.Blocked("alice", now)
	assert.False(t, blocked, "a successful login resets the count")
}

func TestCacheCounterSharesCountsThroughRedis(t *testing.T) {
	t.Parallel()
	r, err := redisx.Open(config.Redis{Mode: redisx.ModeSingle, Addrs: []string{testkit.Redis(t)},
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	// Two replicas: each has its own counter and fallback memory.
	replica1 := auth.NewCacheCounter(cache.New(r), 5, time.Minute)
	replica2 := auth.NewCacheCounter(cache.New(r), 5, time.Minute)
	now := time.Now()
	for range 3 {
		replica1.Fail("alice", now)
	}
	for range 2 {
		blocked, _ := replica2.Blocked("alice", now)
		require.False(t, blocked)
		replica2.Fail("alice", now)
	}
	blocked, _ := replica1.Blocked("alice", now)
	assert.True(t, blocked, "five failures across replicas reach the limit")
	blocked, _ = replica2.Blocked("alice", now)
	assert.True(t, blocked)
}

// downCache is a cache whose backend is unreachable.
type downCache struct{ cache.Cache }

func (downCache) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errors.New("down")
}

func (downCache) Incr(context.Context, string, time.Duration) (int64, error) {
	return 0, errors.New("down")
}

func (downCache) Delete(context.Context, ...string) error { return errors.New("down") }

func TestCacheCounterFallsBackToReplicaMemory(t *testing.T) {
	t.Parallel()
	c := auth.NewCacheCounter(downCache{}, 2, time.Minute)
	now := time.Now()
	c.Fail("alice", now)
	c.Fail("alice", now)
	blocked, _ := c.Blocked("alice", now)
	assert.True(t, blocked, "with the cache down the limit holds per replica")
}
