package cache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// DefaultMemoryEntries bounds NewMemory's cache.
const DefaultMemoryEntries = 100_000

// sweepEvery is how often writes also drop every expired entry.
const sweepEvery = time.Minute

// ErrNotCounter is returned by Incr when the key holds a value that is not a
// decimal integer.
var ErrNotCounter = errors.New("cache: value is not a counter")

// Memory is a Cache in process memory, per replica. It holds at most a fixed
// number of entries; when full, expired entries go first and then arbitrary
// ones, so a full cache keeps working but forgets early. Expired entries are
// never returned and are swept as the cache is written to.
type Memory struct {
	max   int
	now   func() time.Time
	mu    sync.Mutex
	m     map[string]entry
	swept time.Time
}

type entry struct {
	val []byte
	exp time.Time // zero: no expiry
}

func (e entry) expired(now time.Time) bool { return !e.exp.IsZero() && !now.Before(e.exp) }

var _ Cache = (*Memory)(nil)

// NewMemory returns an empty Memory of DefaultMemoryEntries entries.
func NewMemory() *Memory { return NewMemorySize(DefaultMemoryEntries) }

// NewMemorySize returns an empty Memory of at most max entries (at least 1).
func NewMemorySize(entries int) *Memory {
	return &Memory{max: max(entries, 1), now: time.Now, m: map[string]entry{}}
}

// Get implements Cache.
func (c *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || e.expired(c.now()) {
		return nil, false, nil
	}
	return append([]byte(nil), e.val...), true, nil
}

// GetMany implements Cache.
func (c *Memory) GetMany(_ context.Context, keys ...string) ([][]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	out := make([][]byte, len(keys))
	for i, k := range keys {
		if e, ok := c.m[k]; ok && !e.expired(now) {
			out[i] = append([]byte{}, e.val...)
		}
	}
	return out, nil
}

// Set implements Cache.
func (c *Memory) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.put(now, key, entry{val: append([]byte(nil), val...), exp: expiry(now, ttl)})
	return nil
}

// Delete implements Cache.
func (c *Memory) Delete(_ context.Context, keys ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.m, k)
	}
	return nil
}

// Incr implements Cache.
func (c *Memory) Incr(_ context.Context, key string, ttl time.Duration) (int64, error) {
	if ttl <= 0 {
		return 0, fmt.Errorf("cache: incr %s: ttl must be positive", key)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	e, ok := c.m[key]
	if !ok || e.expired(now) {
		e = entry{exp: expiry(now, ttl)}
	}
	var n int64
	if len(e.val) > 0 {
		var err error
		if n, err = strconv.ParseInt(string(e.val), 10, 64); err != nil {
			return 0, fmt.Errorf("cache: incr %s: %w", key, ErrNotCounter)
		}
	}
	n++
	e.val = strconv.AppendInt(nil, n, 10)
	c.put(now, key, e)
	return n, nil
}

// Update implements Cache: under the cache's lock, so it never races.
func (c *Memory) Update(_ context.Context, key string, ttl time.Duration, fn UpdateFunc) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	var cur []byte
	e, ok := c.m[key]
	if ok = ok && !e.expired(now); ok {
		cur = append([]byte(nil), e.val...)
	}
	next, err := fn(cur, ok)
	if err != nil {
		return nil, err
	}
	if next == nil {
		delete(c.m, key)
		return nil, nil
	}
	c.put(now, key, entry{val: append([]byte(nil), next...), exp: expiry(now, ttl)})
	return next, nil
}

// Len returns the number of entries, expired ones not yet swept included.
func (c *Memory) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// put stores e under key, making room first. c.mu is held.
func (c *Memory) put(now time.Time, key string, e entry) {
	_, exists := c.m[key]
	full := !exists && len(c.m) >= c.max
	// A full cache sweeps at most once a second, so writes stay O(1) when
	// nothing has expired.
	if now.Sub(c.swept) >= sweepEvery || full && now.Sub(c.swept) >= time.Second {
		c.sweep(now)
	}
	if !exists && len(c.m) >= c.max {
		for k := range c.m { // map order is unspecified: an arbitrary victim
			delete(c.m, k)
			break
		}
	}
	c.m[key] = e
}

// sweep drops expired entries. c.mu is held.
func (c *Memory) sweep(now time.Time) {
	c.swept = now
	for k, e := range c.m {
		if e.expired(now) {
			delete(c.m, k)
		}
	}
}

func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}
