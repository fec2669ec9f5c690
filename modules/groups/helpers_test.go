package groups_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/groups"
	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/auth/authtest"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/httpx"
	"github.com/fitloop/fitloop/platform/idempotency"
	"github.com/fitloop/fitloop/platform/testkit"
	"github.com/fitloop/fitloop/web"
)

// The module may not import the users or activity modules, even in tests
// (arch_test.go): fakeUsers and fakeCatalog stand in for them and
// authtest.Tokens for the users module's authenticator.

const api = "/api/v1"

// t0 is where every fake clock starts.
var t0 = time.Date(2030, time.March, 12, 15, 0, 0, 0, time.UTC)

// fakeUsers is the users module as groups sees it: a set of live accounts.
type fakeUsers struct {
	mu   sync.Mutex
	live map[string]bool
}

// Exists implements groups.Users.
func (f *fakeUsers) Exists(_ context.Context, userID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.live[userID] {
		return apperr.NotFoundf("user_not_found", "User")
	}
	return nil
}

func (f *fakeUsers) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.live, id)
}

func (f *fakeUsers) add(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live[id] = true
}

// fakeCatalog knows a few workout types.
type fakeCatalog struct{}

// KnownWorkoutType implements groups.Catalog.
func (fakeCatalog) KnownWorkoutType(name string) bool {
	switch name {
	case "hiit", "yoga", "cycling", "other":
		return true
	}
	return false
}

// user is a caller with a session token.
type user struct {
	ID    string
	Token string
}

// env is the groups module on a fresh database behind the real engine:
// host H (an instructor), customers A, B and C, and an admin.
type env struct {
	h     http.Handler
	mod   *groups.Module
	clock *testkit.Clock
	users *fakeUsers
	auth  *authtest.Tokens
	opts  []testkit.Option

	host, a, b, c, admin *user
}

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
	e := &env{clock: testkit.NewClock(t0), users: &fakeUsers{live: map[string]bool{}}, auth: authtest.NewTokens()}
	log := slog.New(slog.DiscardHandler)
	idem := idempotency.Middleware(db, time.Hour, func() time.Time { return e.clock.Now().UTC() })
	mod, err := groups.New(groups.Deps{DB: db, Users: e.users, Catalog: fakeCatalog{}, Log: log,
		Clock: e.clock.Now, Idempotent: idem})
	require.NoError(tb, err)
	e.mod = mod
	engine := httpx.NewEngine(log, httpx.Options{MaxBodyBytes: 8 << 10})
	mod.RegisterRoutes(engine.Group(api), e.auth)
	e.h = engine

	v := testkit.NewOpenAPIValidator(tb, web.OpenAPI)
	v.CheckRequests = true
	e.opts = []testkit.Option{testkit.WithValidator(v)}

	e.host = e.newUser(auth.RoleInstructor)
	e.a, e.b, e.c = e.newUser(auth.RoleCustomer), e.newUser(auth.RoleCustomer), e.newUser(auth.RoleCustomer)
	e.admin = e.newUser(auth.RoleAdmin)
	return e
}

// newUser adds a live account with a session of its own.
func (e *env) newUser(role string) *user {
	id := uuid.NewString()
	e.users.add(id)
	return &user{ID: id, Token: e.auth.Issue(auth.Principal{UserID: id, Role: role, SessionID: uuid.NewString()})}
}

// as is one request with its expected status and body fragments.
func as(name, method, url, token string, body any, status int, want ...string) testkit.Scenario {
	return testkit.Scenario{Name: name, Method: method, URL: url, Token: token, Body: body,
		ExpectedStatus: status, ExpectedContent: want}
}

// run runs scenarios in order as subtests of t, each checked against the
// OpenAPI document.
func (e *env) run(t *testing.T, scenarios ...testkit.Scenario) {
	t.Helper()
	for _, s := range scenarios {
		s.Run(t, e.h, e.opts...)
	}
}

// do runs one scenario and returns its answer.
func (e *env) do(tb testing.TB, s testkit.Scenario) *testkit.Response {
	tb.Helper()
	return s.Do(tb, e.h, e.opts...)
}

// session creates a session hosted by u and returns it.
func (e *env) session(tb testing.TB, u *user, body map[string]any) groups.Session {
	tb.Helper()
	in := map[string]any{"title": "Lunch HIIT", "workout_type": "hiit", "visibility": groups.Public}
	for k, v := range body {
		in[k] = v
	}
	return decode[groups.Session](tb, e.do(tb, as("", http.MethodPost, api+"/groups/sessions", u.Token, in, http.StatusCreated)))
}

// meeting creates a meeting organised by u and returns it.
func (e *env) meeting(tb testing.TB, u *user, start time.Time, d time.Duration, attendees ...string) groups.Meeting {
	tb.Helper()
	if attendees == nil {
		attendees = []string{}
	}
	in := map[string]any{"title": "Form check", "start_time": rfc(start), "end_time": rfc(start.Add(d)), "attendee_ids": attendees}
	return decode[groups.Meeting](tb, e.do(tb, as("", http.MethodPost, api+"/meetings", u.Token, in, http.StatusCreated)))
}

// The error helpers of the test kit, by their short names.
var (
	code  = testkit.Code
	field = testkit.Field
)

func decode[T any](tb testing.TB, resp *testkit.Response) T {
	tb.Helper()
	var v T
	resp.Decode(tb, &v)
	return v
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
