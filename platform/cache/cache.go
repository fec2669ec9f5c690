package cache

import (
	"context"
	"time"

	"github.com/fitloop/fitloop/platform/redisx"
)

// Cache stores byte values under string keys. Implementations are safe for
// concurrent use.
type Cache interface {
	// Get returns key's value and true, or false when the key is absent or
	// expired. An error means the cache could not be asked; callers treat it
	// like a miss and read the database.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores val under key for ttl; a ttl of zero or less means no expiry.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Delete removes keys; absent keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// Incr atomically adds one to key's counter and returns the new value.
	// The first increment creates the counter with ttl (which must be
	// positive); later increments keep that expiry, so the counter counts a
	// fixed window. A key holding a non-counter value is an error.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
}

// New returns the cache for a configured Redis: Memory when r is nil, else
// a Fallback over Redis with a per-replica Memory for counters.
func New(r *redisx.Redis) Cache {
	if r == nil {
		return NewMemory()
	}
	return NewFallback(NewRedis(r.Client, r.Breaker), NewMemory())
}
