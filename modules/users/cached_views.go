package users

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"
)

// viewTTL bounds how stale a cached view may be when an invalidation was
// lost (Redis away) or raced a refill on another replica; every change of
// what a view carries deletes it at once.
const viewTTL = 30 * time.Second

// The views of a user the module keeps in the shared cache, as JSON.
var (
	// publicProfiles serve FindUserByID to other users. A value carrying
	// private fields is never served from it.
	publicProfiles = cachedView[Profile]{prefix: "users:profile:", valid: func(p *Profile) bool { return p.Private == nil }}
	// basicsViews serve Basics, which other modules call on hot paths
	// (pricing every workout).
	basicsViews = cachedView[UserBasics]{prefix: "users:basics:"}
)

// viewCache is the shared cache of users' views (nil Cache: none). Only
// answers read from the database are cached, never errors such as NotFound.
type viewCache struct {
	c   Cache
	log *slog.Logger
	// gen counts this replica's invalidations. A refill that saw it move
	// while reading the database deletes what it stored: the value may
	// predate a change whose own delete came before the store.
	gen atomic.Uint64
}

// forget drops every cached view of a user. Call it after the change is
// committed: a refill between the delete and the commit would re-cache the
// old value.
func (v *viewCache) forget(ctx context.Context, userID string) {
	if v.c == nil {
		return
	}
	v.gen.Add(1)
	v.delete(ctx, userID, publicProfiles.key(userID), basicsViews.key(userID))
}

func (v *viewCache) delete(ctx context.Context, userID string, keys ...string) {
	if err := v.c.Delete(ctx, keys...); err != nil {
		v.log.Warn("users: forget cached views", slog.String("user_id", userID), slog.String("error", err.Error()))
	}
}

func (v *viewCache) warn(msg, key string, err error) {
	v.log.Warn(msg, slog.String("key", key), slog.String("error", err.Error()))
}

// cachedView is one kind of per-user value kept as JSON under prefix+userID.
type cachedView[T any] struct {
	prefix string
	valid  func(*T) bool // nil: every decoded value is served
}

func (cv cachedView[T]) key(userID string) string { return cv.prefix + userID }

// load returns userID's cached value, or reads it with read and caches it.
// A cache that fails or holds something undecodable is a miss: the answer
// then comes from read, and the failure is only logged.
func (cv cachedView[T]) load(ctx context.Context, v *viewCache, userID string, read func() (*T, error)) (*T, error) {
	if v.c == nil {
		return read()
	}
	key := cv.key(userID)
	if val, ok := cv.get(ctx, v, key); ok {
		return val, nil
	}
	gen := v.gen.Load()
	val, err := read()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(val)
	if err != nil {
		v.warn("users: encode cached view", key, err)
		return val, nil
	}
	if err := v.c.Set(ctx, key, b, viewTTL); err != nil {
		v.warn("users: cache view", key, err)
	}
	// Checked after the store: a forget that moved gen before this point
	// may have deleted nothing; one that moves it later deletes our store.
	if v.gen.Load() != gen {
		v.delete(ctx, userID, key)
	}
	return val, nil
}

func (cv cachedView[T]) get(ctx context.Context, v *viewCache, key string) (*T, bool) {
	b, ok, err := v.c.Get(ctx, key)
	if err != nil {
		v.warn("users: read cached view", key, err)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	var val T
	if err := json.Unmarshal(b, &val); err != nil {
		v.warn("users: decode cached view", key, err)
		return nil, false
	}
	if cv.valid != nil && !cv.valid(&val) {
		return nil, false
	}
	return &val, true
}
