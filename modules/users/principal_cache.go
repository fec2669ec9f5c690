package users

import (
	"sync"
	"time"

	"github.com/fitloop/fitloop/platform/auth"
)

// principalCache remembers a verified session or token for ttl, so the hot
// path does not query the sessions table on every request. A revocation on
// this replica drops the entry at once; other replicas see it within ttl.
type principalCache struct {
	ttl     time.Duration
	mu      sync.RWMutex
	entries map[string]cachedPrincipal
}

type cachedPrincipal struct {
	p       *auth.Principal
	expires time.Time
}

// maxCachedPrincipals bounds memory: past it the cache starts over.
const maxCachedPrincipals = 100_000

func newPrincipalCache(ttl time.Duration) *principalCache {
	return &principalCache{ttl: ttl, entries: map[string]cachedPrincipal{}}
}

func (c *principalCache) get(key string, now time.Time) (*auth.Principal, bool) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e.p, true
}

func (c *principalCache) put(key string, p *auth.Principal, now time.Time) {
	c.mu.Lock()
	if len(c.entries) >= maxCachedPrincipals {
		c.entries = map[string]cachedPrincipal{}
	}
	c.entries[key] = cachedPrincipal{p: p, expires: now.Add(c.ttl)}
	c.mu.Unlock()
}

func (c *principalCache) drop(keys ...string) {
	c.mu.Lock()
	for _, k := range keys {
		delete(c.entries, k)
	}
	c.mu.Unlock()
}

// dropUser forgets every entry of a user (account disabled or deleted).
func (c *principalCache) dropUser(userID string) {
	c.mu.Lock()
	for k, e := range c.entries {
		if e.p.UserID == userID {
			delete(c.entries, k)
		}
	}
	c.mu.Unlock()
}
