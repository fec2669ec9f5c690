package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// maxPending bounds the invalidations a Fallback remembers while Redis is
// away. Past it, staleness is bounded by the values' TTLs alone.
const maxPending = 10_000

// Fallback is a Cache over a shared primary (Redis) that keeps answering
// when the primary fails or its breaker is open:
//
//   - Get answers a miss, so the caller reads the database. It never serves
//     a per-replica copy, which could hide another replica's invalidation.
//   - Set does nothing: the value is simply not cached.
//   - Delete remembers the keys it could not delete. Until the primary
//     confirms their deletion, Get answers a miss for them on this replica,
//     and every later call retries the deletion first, so a value cached
//     before the outage does not come back when Redis does.
//   - Incr counts in the local cache instead: rate limits hold per replica
//     (each replica allows the full limit) until Redis is back, and counts
//     made locally are not carried over.
//
// Its methods report no primary errors, except Incr on a key that holds a
// value (ErrNotCounter).
type Fallback struct {
	primary, local Cache
	mu             sync.Mutex
	pending        map[string]struct{}
}

var _ Cache = (*Fallback)(nil)

// NewFallback returns a Fallback over primary that counts in local while
// primary fails.
func NewFallback(primary, local Cache) *Fallback {
	return &Fallback{primary: primary, local: local, pending: map[string]struct{}{}}
}

// Get implements Cache.
func (c *Fallback) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if c.isPending(ctx, key) {
		return nil, false, nil
	}
	val, ok, err := c.primary.Get(ctx, key)
	if err != nil {
		return nil, false, nil
	}
	return val, ok, nil
}

// GetMany implements Cache: misses for the keys pending deletion, and for
// all of them when the primary fails.
func (c *Fallback) GetMany(ctx context.Context, keys ...string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	ask := make([]string, 0, len(keys))
	at := make([]int, 0, len(keys))
	for i, k := range keys {
		if !c.isPending(ctx, k) {
			ask, at = append(ask, k), append(at, i)
		}
	}
	vals, err := c.primary.GetMany(ctx, ask...)
	if err != nil {
		return out, nil
	}
	for j, v := range vals {
		out[at[j]] = v
	}
	return out, nil
}

// Set implements Cache.
func (c *Fallback) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if c.isPending(ctx, key) {
		return nil
	}
	_ = c.primary.Set(ctx, key, val, ttl)
	return nil
}

// Delete implements Cache.
func (c *Fallback) Delete(ctx context.Context, keys ...string) error {
	if err := c.primary.Delete(ctx, keys...); err != nil {
		c.mu.Lock()
		for _, k := range keys {
			if len(c.pending) < maxPending {
				c.pending[k] = struct{}{}
			}
		}
		c.mu.Unlock()
	}
	return nil
}

// Update implements Cache on the primary alone, errors included: what it
// stores is state, not a copy of the database, and a per-replica stand-in
// would split it between replicas.
func (c *Fallback) Update(ctx context.Context, key string, ttl time.Duration, fn UpdateFunc) ([]byte, error) {
	if c.isPending(ctx, key) { // a deletion the primary has not confirmed
		return nil, fmt.Errorf("cache: update %s: %w", key, ErrPendingDelete)
	}
	return c.primary.Update(ctx, key, ttl, fn)
}

// ErrPendingDelete is Fallback.Update refusing a key whose deletion the
// primary has not confirmed yet: it would read the value deleted.
var ErrPendingDelete = errors.New("cache: key deletion pending")

// Incr implements Cache.
func (c *Fallback) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	n, err := c.primary.Incr(ctx, key, ttl)
	if errors.Is(err, ErrNotCounter) {
		return 0, err // Redis answered; counting elsewhere would hide a bug
	}
	if err != nil {
		return c.local.Incr(ctx, key, ttl)
	}
	return n, nil
}

// isPending retries the remembered deletions and reports whether key is
// still among them.
func (c *Fallback) isPending(ctx context.Context, key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) == 0 {
		return false
	}
	keys := make([]string, 0, len(c.pending))
	for k := range c.pending {
		keys = append(keys, k)
	}
	// Holding the lock makes concurrent callers wait for this one attempt
	// instead of each retrying; with the breaker open it fails at once.
	if err := c.primary.Delete(ctx, keys...); err == nil {
		clear(c.pending)
		return false
	}
	_, ok := c.pending[key]
	return ok
}
