// Package authtest gives tests of a module an auth.Authenticator without the
// users module.
package authtest

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/fitloop/fitloop/platform/auth"
)

// Tokens is an auth.Authenticator for tests of a module without the users
// module: fixed bearer tokens name principals the way users would.
type Tokens struct {
	mu     sync.Mutex
	tokens map[string]*auth.Principal
}

var _ auth.Authenticator = (*Tokens)(nil)

// NewTokens returns an authenticator that knows no token yet.
func NewTokens() *Tokens { return &Tokens{tokens: map[string]*auth.Principal{}} }

// Authenticate implements auth.Authenticator: a copy of the token's
// principal, or auth.Unauthenticated.
func (t *Tokens) Authenticate(_ context.Context, credential string) (*auth.Principal, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.tokens[credential]
	if !ok {
		return nil, auth.Unauthenticated
	}
	cp := *p
	return &cp, nil
}

// Issue returns a new token for p.
func (t *Tokens) Issue(p auth.Principal) string {
	tok := "tok-" + uuid.NewString()
	t.Set(tok, p)
	return tok
}

// Set makes token name p.
func (t *Tokens) Set(token string, p auth.Principal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tokens[token] = &p
}

// Revoke makes token fail from now on.
func (t *Tokens) Revoke(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.tokens, token)
}
