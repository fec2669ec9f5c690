package auth

import (
	"context"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/httpx"
)

// Roles.
const (
	RoleCustomer   = "customer"
	RoleInstructor = "instructor"
	RoleAdmin      = "admin"
)

// Scopes an API token can carry. A session (JWT) has every scope.
const (
	ScopeRead         = "read"
	ScopeWrite        = "write"
	ScopeMetricsWrite = "metrics:write"
)

// Scopes lists every scope, for validation and documentation.
var Scopes = []string{ScopeRead, ScopeWrite, ScopeMetricsWrite}

// Principal is who is calling: set by the middleware for authenticated requests.
type Principal struct {
	UserID          string
	Role            string
	SessionID       string // empty for API tokens
	TokenID         string // empty for sessions
	Scopes          []string
	PasswordExpired bool
}

// IsAdmin reports whether the principal has the admin role.
func (p *Principal) IsAdmin() bool { return p.Role == RoleAdmin }

// HasScope reports whether the principal may act with scope s.
// A write token may also post metrics (metrics:write is the narrower grant
// for device bridges).
func (p *Principal) HasScope(s string) bool {
	return p.SessionID != "" || slices.Contains(p.Scopes, s) ||
		(s == ScopeMetricsWrite && slices.Contains(p.Scopes, ScopeWrite))
}

// CanActFor reports whether the principal is userID or an admin.
func (p *Principal) CanActFor(userID string) bool { return p.UserID == userID || p.IsAdmin() }

// Authenticator resolves a bearer credential to a principal; the users module
// implements it (it owns sessions and API tokens).
type Authenticator interface {
	Authenticate(ctx context.Context, credential string) (*Principal, error)
}

type principalKey struct{}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Caller returns the authenticated principal in ctx or Unauthenticated.
func Caller(ctx context.Context) (*Principal, error) {
	p := PrincipalFrom(ctx)
	if p == nil {
		return nil, Unauthenticated
	}
	return p, nil
}

// SelfOrAdmin returns the caller when they may act for userID; anyone else
// gets notFound, so the existence of another user's object does not leak.
func SelfOrAdmin(ctx context.Context, userID string, notFound error) (*Principal, error) {
	p, err := Caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.CanActFor(userID) {
		return nil, notFound
	}
	return p, nil
}

// From returns the request's principal, or nil for anonymous requests.
func From(c *gin.Context) *Principal { return PrincipalFrom(c.Request.Context()) }

// Unauthenticated is the error for a missing or bad credential.
var Unauthenticated = apperr.E(apperr.Unauthenticated, "unauthenticated", "Authentication required.")

// Bearer returns the credential from "Authorization: Bearer X", or "".
func Bearer(c *gin.Context) string {
	h := c.GetHeader("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// Options of the Require middleware.
type Options struct {
	// AllowExpiredPassword lets a session whose password has expired through
	// (the password change and session routes).
	AllowExpiredPassword bool
	// SessionOnly refuses personal API tokens (token and session management).
	SessionOnly bool
	// Scope, when set, is the token scope the route needs; otherwise GET/HEAD
	// need "read" and every other method "write".
	Scope string
}

// Optional authenticates a bearer credential when one is sent, and lets
// anonymous requests through.
func Optional(a Authenticator) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw := Bearer(c)
		if raw == "" {
			c.Next()
			return
		}
		p, err := a.Authenticate(c.Request.Context(), raw)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.Request = c.Request.WithContext(WithPrincipal(c.Request.Context(), p))
		c.Next()
	}
}

// Require refuses requests without a valid principal (401), and principals
// whose password expired or whose token lacks the route's scope (403).
func Require(a Authenticator, opt Options) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := From(c)
		if p == nil {
			raw := Bearer(c)
			if raw == "" {
				httpx.WriteError(c, Unauthenticated)
				return
			}
			var err error
			if p, err = a.Authenticate(c.Request.Context(), raw); err != nil {
				httpx.WriteError(c, err)
				return
			}
			c.Request = c.Request.WithContext(WithPrincipal(c.Request.Context(), p))
		}
		if err := check(c, p, opt); err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.Next()
	}
}

func check(c *gin.Context, p *Principal, opt Options) error {
	if p.PasswordExpired && !opt.AllowExpiredPassword {
		return apperr.E(apperr.Forbidden, "password_expired", "Your password has expired; change it to continue.")
	}
	if opt.SessionOnly && p.SessionID == "" {
		return apperr.E(apperr.Forbidden, "session_required", "This route needs a signed-in session, not an API token.")
	}
	scope := opt.Scope
	if scope == "" {
		scope = ScopeWrite
		if m := c.Request.Method; m == "GET" || m == "HEAD" {
			scope = ScopeRead
		}
	}
	if !p.HasScope(scope) {
		return apperr.E(apperr.Forbidden, "insufficient_scope", "This token lacks the "+scope+" scope.")
	}
	return nil
}

// RequireRole refuses principals without one of the roles (403).
func RequireRole(roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := From(c)
		if p == nil {
			httpx.WriteError(c, Unauthenticated)
			return
		}
		if !slices.Contains(roles, p.Role) {
			httpx.WriteError(c, apperr.E(apperr.Forbidden, "forbidden", "You may not do this."))
			return
		}
		c.Next()
	}
}

// RequireSelfOrAdmin checks that the principal is the user named by the path
// parameter param, or an admin. Anyone else gets notFound, so a caller cannot
// learn that another user's private object exists.
func RequireSelfOrAdmin(param string, notFound error) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := From(c)
		if p == nil {
			httpx.WriteError(c, Unauthenticated)
			return
		}
		if !p.CanActFor(c.Param(param)) {
			httpx.WriteError(c, notFound)
			return
		}
		c.Next()
	}
}
