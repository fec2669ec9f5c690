package activity_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/activity"
	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/httpx"
	"github.com/fitloop/fitloop/platform/idempotency"
	"github.com/fitloop/fitloop/platform/testkit"
	"github.com/fitloop/fitloop/web"
)

// The module may not import the users module, even in tests (arch_test.go):
// the tests stand in for it with fakeUsers and fakeAuth, whose fixed bearer
// tokens name principals the way the users module would.

const api = "/api/v1"

// t0 is where every fake clock starts: 2030-03-12 11:00 in New York, two
// days after its clocks went forward (2030-03-10 02:00 EST → 03:00 EDT).
var t0 = time.Date(2030, time.March, 12, 15, 0, 0, 0, time.UTC)

// Limits of the test engine: a small default body limit and a larger one for
// the metric batch route, so the override shows.
const (
	maxSamples       = 50
	defaultBodyLimit = 8 << 10
	metricsBodyLimit = 64 << 10
)

// fakeClock is a clock tests move by hand.
type fakeClock = testkit.Clock

// fakeUsers is the users module as activity sees it (deps.go).
type fakeUsers struct {
	mu    sync.Mutex
	users map[string]activity.UserBasics
}

var _ activity.Users = (*fakeUsers)(nil)

// Basics implements activity.Users.
func (f *fakeUsers) Basics(_ context.Context, userID string) (*activity.UserBasics, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[userID]
	if !ok {
		return nil, apperr.NotFoundf("user_not_found", "User")
	}
	return &u, nil
}

func (f *fakeUsers) add(u activity.UserBasics) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[u.UserID] = u
}

// fakeAuth maps fixed bearer tokens to principals.
type fakeAuth struct {
	mu     sync.Mutex
	tokens map[string]*auth.Principal
}

// Authenticate implements auth.Authenticator.
func (f *fakeAuth) Authenticate(_ context.Context, credential string) (*auth.Principal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.tokens[credential]
	if !ok {
		return nil, auth.Unauthenticated
	}
	cp := *p
	return &cp, nil
}

// user is a caller: an account with a session token, or an API token.
type user struct {
	ID    string
	Token string
}

// env is the activity module on a fresh database behind the real engine,
// with customers A (New York, 80 kg) and B (Kolkata, weight unknown), an
// admin, and API tokens of A's with narrow scopes.
type env struct {
	h     http.Handler
	clock *fakeClock
	users *fakeUsers
	auth  *fakeAuth
	opts  []testkit.Option

	a, b, admin *user
	// aMetrics, aRead and aWrite are API tokens of A's with the scope
	// metrics:write, read or write only; aExpired is a session of A's
	// whose password has expired.
	aMetrics, aRead, aWrite, aExpired *user
}

// newEnv builds the module on a fresh SQLite database.
func newEnv(tb testing.TB) *env {
	tb.Helper()
	return newEnvOn(tb, dbtest.New(tb))
}

// eachDB runs body on SQLite and PostgreSQL, each with its own env, in parallel.
func eachDB(t *testing.T, body func(t *testing.T, e *env)) {
	t.Helper()
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		body(t, newEnvOn(t, db))
	})
}

func newEnvOn(tb testing.TB, db *database.DB) *env {
	tb.Helper()
	e := &env{
		clock: testkit.NewClock(t0),
		users: &fakeUsers{users: map[string]activity.UserBasics{}},
		auth:  &fakeAuth{tokens: map[string]*auth.Principal{}},
	}
	log := slog.New(slog.DiscardHandler)
	idem := idempotency.Middleware(db, time.Hour, func() time.Time { return e.clock.Now().UTC() })
	mod, err := activity.New(activity.Deps{DB: db, Users: e.users, Log: log, Clock: e.clock.Now,
		MaxSamples: maxSamples, Idempotent: idem})
	require.NoError(tb, err)
	engine := httpx.NewEngine(log, httpx.Options{MaxBodyBytes: defaultBodyLimit,
		BodyLimits: map[string]int64{"POST " + api + activity.MetricsRoute: metricsBodyLimit}})
	mod.RegisterRoutes(engine.Group(api), e.auth)
	e.h = engine

	v := testkit.NewOpenAPIValidator(tb, web.OpenAPI)
	v.CheckRequests = true
	e.opts = []testkit.Option{testkit.WithValidator(v)}

	weight := 80.0
	e.a = e.newUser("America/New_York", &weight, auth.Principal{Role: auth.RoleCustomer})
	e.b = e.newUser("Asia/Kolkata", nil, auth.Principal{Role: auth.RoleCustomer})
	e.admin = e.newUser("UTC", nil, auth.Principal{Role: auth.RoleAdmin})
	e.aMetrics = e.token(e.a, auth.Principal{Role: auth.RoleCustomer, TokenID: uuid.NewString(), Scopes: []string{auth.ScopeMetricsWrite}})
	e.aRead = e.token(e.a, auth.Principal{Role: auth.RoleCustomer, TokenID: uuid.NewString(), Scopes: []string{auth.ScopeRead}})
	e.aWrite = e.token(e.a, auth.Principal{Role: auth.RoleCustomer, TokenID: uuid.NewString(), Scopes: []string{auth.ScopeWrite}})
	e.aExpired = e.token(e.a, auth.Principal{Role: auth.RoleCustomer, SessionID: uuid.NewString(), PasswordExpired: true})
	return e
}

// newUser adds an account to the fake users module with a session of its own.
func (e *env) newUser(tz string, weight *float64, p auth.Principal) *user {
	id := uuid.NewString()
	e.users.add(activity.UserBasics{UserID: id, Timezone: tz, WeightKG: weight})
	p.SessionID = uuid.NewString()
	return e.token(&user{ID: id}, p)
}

// token gives owner's account another credential for the principal p.
func (e *env) token(owner *user, p auth.Principal) *user {
	p.UserID = owner.ID
	tok := "tok-" + uuid.NewString()
	e.auth.mu.Lock()
	e.auth.tokens[tok] = &p
	e.auth.mu.Unlock()
	return &user{ID: owner.ID, Token: tok}
}

// run runs scenarios in order as subtests of t, each checked against the
// OpenAPI document.
func (e *env) run(t *testing.T, scenarios ...testkit.Scenario) {
	t.Helper()
	for _, s := range scenarios {
		s.Run(t, e.h, e.opts...)
	}
}

// do runs one scenario in tb and returns its answer.
func (e *env) do(tb testing.TB, s testkit.Scenario) *testkit.Response {
	tb.Helper()
	return s.Do(tb, e.h, e.opts...)
}

// The error helpers of the test kit, by their short names.
type errorBody = testkit.ErrorBody

var (
	errorOf = testkit.ErrorOf
	code    = testkit.Code
	field   = testkit.Field
)

// decode unmarshals a JSON answer into a T.
func decode[T any](tb testing.TB, resp *testkit.Response) T {
	tb.Helper()
	var v T
	resp.Decode(tb, &v)
	return v
}

// rfc formats t as the API does.
func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
