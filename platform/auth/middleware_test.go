package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/httpx"
)

// fakeAuthn resolves credentials from a fixed table.
type fakeAuthn struct {
	principals map[string]*auth.Principal
	calls      atomic.Int32
}

func (f *fakeAuthn) Authenticate(_ context.Context, credential string) (*auth.Principal, error) {
	f.calls.Add(1)
	if credential == "broken" {
		return nil, errors.New("database is down: password=hunter2")
	}
	if p, ok := f.principals[credential]; ok {
		cp := *p
		return &cp, nil
	}
	return nil, auth.Unauthenticated
}

func newFakeAuthn() *fakeAuthn {
	return &fakeAuthn{principals: map[string]*auth.Principal{
		"customer":  {UserID: "u-cust", Role: auth.RoleCustomer, SessionID: "s-cust"},
		"other":     {UserID: "u-other", Role: auth.RoleCustomer, SessionID: "s-other"},
		"admin":     {UserID: "u-admin", Role: auth.RoleAdmin, SessionID: "s-admin"},
		"instr":     {UserID: "u-instr", Role: auth.RoleInstructor, SessionID: "s-instr"},
		"expired":   {UserID: "u-cust", Role: auth.RoleCustomer, SessionID: "s-exp", PasswordExpired: true},
		"tok-read":  {UserID: "u-cust", Role: auth.RoleCustomer, TokenID: "t1", Scopes: []string{auth.ScopeRead}},
		"tok-write": {UserID: "u-cust", Role: auth.RoleCustomer, TokenID: "t2", Scopes: []string{auth.ScopeWrite}},
		"tok-rw":    {UserID: "u-cust", Role: auth.RoleCustomer, TokenID: "t3", Scopes: []string{auth.ScopeRead, auth.ScopeWrite}},
		"tok-metrics": {UserID: "u-cust", Role: auth.RoleCustomer, TokenID: "t4",
			Scopes: []string{auth.ScopeMetricsWrite}},
		"tok-admin": {UserID: "u-admin", Role: auth.RoleAdmin, TokenID: "t5", Scopes: []string{auth.ScopeRead, auth.ScopeWrite}},
	}}
}

// whoami answers the caller's user id, or "anonymous".
func whoami(c *gin.Context) {
	p := auth.From(c)
	if p == nil {
		c.JSON(200, gin.H{"user_id": "anonymous"})
		return
	}
	c.JSON(200, gin.H{"user_id": p.UserID})
}

var errThingNotFound = apperr.NotFoundf("thing_not_found", "Thing")

func newAuthServer(a auth.Authenticator) *gin.Engine {
	e := httpx.NewEngine(slog.New(slog.NewTextHandler(io.Discard, nil)), httpx.Options{MaxBodyBytes: 1 << 20})
	any := func(path string, h ...gin.HandlerFunc) {
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE"} {
			e.Handle(m, path, h...)
		}
	}
	any("/require", auth.Require(a, auth.Options{}), whoami)
	any("/expired-ok", auth.Require(a, auth.Options{AllowExpiredPassword: true}), whoami)
	any("/session-only", auth.Require(a, auth.Options{SessionOnly: true}), whoami)
	any("/metrics-scope", auth.Require(a, auth.Options{Scope: auth.ScopeMetricsWrite}), whoami)
	any("/optional", auth.Optional(a), whoami)
	any("/optional-then-require", auth.Optional(a), auth.Require(a, auth.Options{}), whoami)
	any("/admin", auth.Require(a, auth.Options{}), auth.RequireRole(auth.RoleAdmin), whoami)
	any("/staff", auth.Require(a, auth.Options{}), auth.RequireRole(auth.RoleAdmin, auth.RoleInstructor), whoami)
	any("/role-without-auth", auth.RequireRole(auth.RoleAdmin), whoami)
	any("/users/:user_id", auth.Require(a, auth.Options{}), auth.RequireSelfOrAdmin("user_id", errThingNotFound), whoami)
	any("/self-without-auth/:user_id", auth.RequireSelfOrAdmin("user_id", errThingNotFound), whoami)
	return e
}

type result struct {
	status int
	code   string
	user   string
}

func call(t *testing.T, e http.Handler, method, path, authz string) result {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	var body struct {
		UserID string `json:"user_id"`
		Error  struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if method != "HEAD" {
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), "body %q", w.Body.String())
	}
	return result{status: w.Code, code: body.Error.Code, user: body.UserID}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		path   string
		authz  string
		want   result
	}{
		// Require
		{"no_token_is_401", "GET", "/require", "", result{401, "unauthenticated", ""}},
		{"unknown_token_is_401", "GET", "/require", "Bearer nope", result{401, "unauthenticated", ""}},
		{"basic_auth_is_not_a_bearer", "GET", "/require", "Basic Y3VzdG9tZXI=", result{401, "unauthenticated", ""}},
		{"empty_bearer_is_401", "GET", "/require", "Bearer ", result{401, "unauthenticated", ""}},
		{"session_passes", "GET", "/require", "Bearer customer", result{200, "", "u-cust"}},
		{"bearer_scheme_is_case_insensitive", "GET", "/require", "bearer customer", result{200, "", "u-cust"}},
		{"session_may_write", "DELETE", "/require", "Bearer customer", result{200, "", "u-cust"}},
		{"authenticator_failure_is_an_opaque_500", "GET", "/require", "Bearer broken", result{500, "internal", ""}},

		// Expired passwords
		{"expired_password_is_403", "GET", "/require", "Bearer expired", result{403, "password_expired", ""}},
		{"expired_password_allowed_where_opted_in", "PUT", "/expired-ok", "Bearer expired", result{200, "", "u-cust"}},
		{"expired_password_on_session_only_is_403", "GET", "/session-only", "Bearer expired", result{403, "password_expired", ""}},

		// SessionOnly
		{"session_only_refuses_api_tokens", "GET", "/session-only", "Bearer tok-rw", result{403, "session_required", ""}},
		{"session_only_takes_sessions", "POST", "/session-only", "Bearer customer", result{200, "", "u-cust"}},

		// Scopes by method
		{"get_needs_read", "GET", "/require", "Bearer tok-read", result{200, "", "u-cust"}},
		{"head_needs_read", "HEAD", "/require", "Bearer tok-read", result{200, "", ""}},
		{"post_needs_write", "POST", "/require", "Bearer tok-read", result{403, "insufficient_scope", ""}},
		{"put_needs_write", "PUT", "/require", "Bearer tok-read", result{403, "insufficient_scope", ""}},
		{"delete_needs_write", "DELETE", "/require", "Bearer tok-read", result{403, "insufficient_scope", ""}},
		{"write_token_may_post", "POST", "/require", "Bearer tok-write", result{200, "", "u-cust"}},
		{"write_does_not_imply_read", "GET", "/require", "Bearer tok-write", result{403, "insufficient_scope", ""}},
		{"metrics_token_cannot_write_generally", "POST", "/require", "Bearer tok-metrics", result{403, "insufficient_scope", ""}},

		// Explicit scope
		{"explicit_metrics_scope_accepts_a_write_token", "POST", "/metrics-scope", "Bearer tok-rw", result{200, "", "u-cust"}},
		{"explicit_scope_refuses_a_read_token", "POST", "/metrics-scope", "Bearer tok-read", result{403, "insufficient_scope", ""}},
		{"explicit_scope_refuses_read_on_get", "GET", "/metrics-scope", "Bearer tok-read", result{403, "insufficient_scope", ""}},
		{"explicit_scope_accepts_its_token", "POST", "/metrics-scope", "Bearer tok-metrics", result{200, "", "u-cust"}},
		{"explicit_scope_session_has_every_scope", "POST", "/metrics-scope", "Bearer customer", result{200, "", "u-cust"}},

		// Optional
		{"optional_lets_anonymous_through", "POST", "/optional", "", result{200, "", "anonymous"}},
		{"optional_sets_the_principal", "POST", "/optional", "Bearer admin", result{200, "", "u-admin"}},
		{"optional_refuses_a_bad_token", "POST", "/optional", "Bearer nope", result{401, "unauthenticated", ""}},
		{"require_after_optional_still_requires", "GET", "/optional-then-require", "", result{401, "unauthenticated", ""}},
		{"require_after_optional_checks_scope", "POST", "/optional-then-require", "Bearer tok-read", result{403, "insufficient_scope", ""}},

		// RequireRole
		{"role_customer_is_403", "GET", "/admin", "Bearer customer", result{403, "forbidden", ""}},
		{"role_instructor_is_403", "GET", "/admin", "Bearer instr", result{403, "forbidden", ""}},
		{"role_admin_passes", "GET", "/admin", "Bearer admin", result{200, "", "u-admin"}},
		{"role_admin_token_passes", "GET", "/admin", "Bearer tok-admin", result{200, "", "u-admin"}},
		{"role_one_of_several", "GET", "/staff", "Bearer instr", result{200, "", "u-instr"}},
		{"role_anonymous_is_401", "GET", "/admin", "", result{401, "unauthenticated", ""}},
		{"role_without_require_is_401", "GET", "/role-without-auth", "Bearer admin", result{401, "unauthenticated", ""}},

		// RequireSelfOrAdmin
		{"self_passes", "GET", "/users/u-cust", "Bearer customer", result{200, "", "u-cust"}},
		{"self_by_token_passes", "GET", "/users/u-cust", "Bearer tok-read", result{200, "", "u-cust"}},
		{"admin_passes_for_anyone", "PUT", "/users/u-cust", "Bearer admin", result{200, "", "u-admin"}},
		{"other_user_gets_not_found", "GET", "/users/u-cust", "Bearer other", result{404, "thing_not_found", ""}},
		{"instructor_gets_not_found", "DELETE", "/users/u-cust", "Bearer instr", result{404, "thing_not_found", ""}},
		{"self_or_admin_anonymous_is_401", "GET", "/users/u-cust", "", result{401, "unauthenticated", ""}},
		{"self_without_require_is_401", "GET", "/self-without-auth/u-cust", "Bearer customer", result{401, "unauthenticated", ""}},
	}
	e := newAuthServer(newFakeAuthn())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := call(t, e, tt.method, tt.path, tt.authz)
			if tt.method == "HEAD" {
				got.user = ""
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMiddlewareDoesNotLeakAuthenticatorErrors(t *testing.T) {
	t.Parallel()
	e := newAuthServer(newFakeAuthn())
	req := httptest.NewRequest("GET", "/require", nil)
	req.Header.Set("Authorization", "Bearer broken")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	assert.Equal(t, 500, w.Code)
	assert.NotContains(t, w.Body.String(), "hunter2")
}

func TestRequireReusesThePrincipal(t *testing.T) {
	t.Parallel()
	a := newFakeAuthn()
	e := newAuthServer(a)
	got := call(t, e, "GET", "/optional-then-require", "Bearer customer")
	assert.Equal(t, result{200, "", "u-cust"}, got)
	assert.EqualValues(t, 1, a.calls.Load(), "Require does not authenticate again after Optional")
}

func TestPrincipal(t *testing.T) {
	t.Parallel()
	session := &auth.Principal{UserID: "u1", Role: auth.RoleCustomer, SessionID: "s"}
	token := &auth.Principal{UserID: "u1", Role: auth.RoleCustomer, TokenID: "t", Scopes: []string{auth.ScopeRead}}
	admin := &auth.Principal{UserID: "a", Role: auth.RoleAdmin, SessionID: "s"}

	for _, s := range auth.Scopes {
		assert.True(t, session.HasScope(s), "a session has %s", s)
	}
	assert.True(t, token.HasScope(auth.ScopeRead))
	assert.False(t, token.HasScope(auth.ScopeWrite))
	assert.False(t, session.IsAdmin())
	assert.True(t, admin.IsAdmin())
	assert.True(t, session.CanActFor("u1"))
	assert.False(t, session.CanActFor("u2"))
	assert.False(t, session.CanActFor(""))
	assert.True(t, admin.CanActFor("u2"))

	ctx := auth.WithPrincipal(context.Background(), session)
	assert.Same(t, session, auth.PrincipalFrom(ctx))
	assert.Nil(t, auth.PrincipalFrom(context.Background()))
}
