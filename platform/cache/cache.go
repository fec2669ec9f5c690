package cache

import (
	"context"
	"errors"
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
	// GetMany is Get for several keys in one round trip: the values in the
	// keys' order, nil for an absent or expired key (a stored empty value
	// is a non-nil empty slice). An error is as for Get, for all of them.
	GetMany(ctx context.Context, keys ...string) ([][]byte, error)
	// Set stores val under key for ttl; a ttl of zero or less means no expiry.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Delete removes keys; absent keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// Incr atomically adds one to key's counter and returns the new value.
	// The first increment creates the counter with ttl (which must be
	// positive); later increments keep that expiry, so the counter counts a
	// fixed window. A key holding a non-counter value is an error.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	// Update atomically replaces key's value with what fn makes of the
	// current one (nil, false when absent) and returns what it stored. fn
	// may run more than once, when another writer changed the key
	// meanwhile, so it must only compute, and must not call the cache. An
	// error from fn stores nothing and is returned as it is; a nil value
	// from fn deletes the key. ttl is as for Set. After MaxUpdateAttempts
	// lost races Update answers ErrContended.
	Update(ctx context.Context, key string, ttl time.Duration, fn UpdateFunc) ([]byte, error)
}

// UpdateFunc computes a key's next value from its current one.
type UpdateFunc func(cur []byte, ok bool) ([]byte, error)

// MaxUpdateAttempts bounds how often Update retries after another writer
// changed the key between its read and its write.
const MaxUpdateAttempts = 32

// ErrContended is Update giving up after MaxUpdateAttempts lost races.
var ErrContended = errors.New("cache: update contended")

// New returns the cache for a configured Redis: Memory when r is nil, else
// a Fallback over Redis with a per-replica Memory for counters.
func New(r *redisx.Redis) Cache {
	if r == nil {
		return NewMemory()
	}
	return NewFallback(NewRedis(r.Client, r.Breaker), NewMemory())
}
