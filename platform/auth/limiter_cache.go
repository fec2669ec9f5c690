package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/fitloop/fitloop/platform/cache"
)

// counterTimeout bounds one cache call of the ctx-less FailureCounter methods.
const counterTimeout = time.Second

// CacheCounter is a FailureCounter shared by every replica through a cache
// (Redis when configured): a fixed window per key, cut by now.Truncate(window)
// so every replica agrees on it, counted with cache.Incr.
//
// Every failure is also counted in a per-replica MemoryCounter, and a key is
// blocked when either count reaches the limit. While the cache fails (Redis
// down, breaker open) the memory count still blocks, so the limit then holds
// per replica instead of across replicas. Counting twice never blocks early:
// a replica never sees more failures than all replicas together.
type CacheCounter struct {
	cache  cache.Cache
	max    int
	window time.Duration
	local  *MemoryCounter
}

var _ FailureCounter = (*CacheCounter)(nil)

// NewCacheCounter allows max failures per key per window, counted in c.
func NewCacheCounter(c cache.Cache, max int, window time.Duration) *CacheCounter {
	return &CacheCounter{cache: c, max: max, window: window, local: NewMemoryCounter(max, window)}
}

// Blocked implements FailureCounter.
func (c *CacheCounter) Blocked(key string, now time.Time) (bool, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), counterTimeout)
	defer cancel()
	return c.BlockedContext(ctx, key, now)
}

// Fail implements FailureCounter.
func (c *CacheCounter) Fail(key string, now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), counterTimeout)
	defer cancel()
	c.FailContext(ctx, key, now)
}

// Reset implements FailureCounter.
func (c *CacheCounter) Reset(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), counterTimeout)
	defer cancel()
	c.ResetContext(ctx, key, time.Now())
}

// BlockedContext is Blocked bounded by ctx.
func (c *CacheCounter) BlockedContext(ctx context.Context, key string, now time.Time) (bool, time.Duration) {
	if blocked, wait := c.local.Blocked(key, now); blocked {
		return true, wait
	}
	start := c.windowStart(now)
	val, ok, err := c.cache.Get(ctx, c.cacheKey(key, start))
	if err != nil || !ok {
		return false, 0
	}
	n, err := strconv.ParseInt(string(val), 10, 64)
	if err != nil || n < int64(c.max) {
		return false, 0
	}
	return true, start.Add(c.window).Sub(now)
}

// FailContext is Fail bounded by ctx.
func (c *CacheCounter) FailContext(ctx context.Context, key string, now time.Time) {
	c.local.Fail(key, now)
	start := c.windowStart(now)
	// The counter outlives its window a little so a late reader near the
	// boundary still finds it; Blocked only reads the current window.
	_, _ = c.cache.Incr(ctx, c.cacheKey(key, start), start.Add(c.window).Sub(now)+time.Second)
}

// ResetContext is Reset bounded by ctx. It forgets the window holding now and
// the one before, which a failure just before the boundary may have counted.
func (c *CacheCounter) ResetContext(ctx context.Context, key string, now time.Time) {
	c.local.Reset(key)
	start := c.windowStart(now)
	_ = c.cache.Delete(ctx, c.cacheKey(key, start), c.cacheKey(key, start.Add(-c.window)))
}

func (c *CacheCounter) windowStart(now time.Time) time.Time {
	return now.Truncate(c.window)
}

// cacheKey hashes key, which may hold an e-mail address or an IP, so that
// Redis holds no personal data and keys stay short.
func (c *CacheCounter) cacheKey(key string, start time.Time) string {
	sum := sha256.Sum256([]byte(key))
	return "auth:fail:" + hex.EncodeToString(sum[:12]) + ":" + strconv.FormatInt(start.Unix(), 10)
}
