package activity_test

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/activity"
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

// The module may not import the users module, even in tests (arch_test.go):
// the tests stand in for it with fakeUsers and authtest.Tokens, whose fixed bearer
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
	goals []activity.GoalSpec // ordered by goal id
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

// ActiveGoals implements activity.Users.
func (f *fakeUsers) ActiveGoals(_ context.Context, q activity.GoalQuery) ([]activity.GoalSpec, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []activity.GoalSpec
	for _, g := range f.goals {
		if (q.UserID == "" || g.UserID == q.UserID) && g.GoalID > q.After && len(out) < q.Limit {
			out = append(out, g)
		}
	}
	return out, nil
}

// addGoal gives a user an active goal.
func (f *fakeUsers) addGoal(g activity.GoalSpec) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.goals = append(f.goals, g)
	slices.SortFunc(f.goals, func(a, b activity.GoalSpec) int { return strings.Compare(a.GoalID, b.GoalID) })
}

func (f *fakeUsers) add(u activity.UserBasics) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[u.UserID] = u
}

// fakePush records the events pushed to users' sockets.
type fakePush struct {
	mu     sync.Mutex
	events []pushed
}

type pushed struct {
	UserID, Type string
	Data         any
}

// PublishUser implements activity.Push.
func (f *fakePush) PublishUser(_ context.Context, userID, typ string, data any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, pushed{userID, typ, data})
	return nil
}

func (f *fakePush) sent() []pushed {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
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
	mod   *activity.Module
	clock *fakeClock
	users *fakeUsers
	auth  *authtest.Tokens
	push  *fakePush
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
		auth:  authtest.NewTokens(),
		push:  &fakePush{},
	}
	log := slog.New(slog.DiscardHandler)
	idem := idempotency.Middleware(db, time.Hour, func() time.Time { return e.clock.Now().UTC() })
	mod, err := activity.New(activity.Deps{DB: db, Users: e.users, Push: e.push, Log: log, Clock: e.clock.Now,
		MaxSamples: maxSamples, Idempotent: idem})
	require.NoError(tb, err)
	tb.Cleanup(func() { mod.Close() })
	e.mod = mod
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
	return &user{ID: owner.ID, Token: e.auth.Issue(p)}
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

// as is one request with its expected status and body fragments.
func as(name, method, url, token string, body any, status int, want ...string) testkit.Scenario {
	return testkit.Scenario{Name: name, Method: method, URL: url, Token: token, Body: body,
		ExpectedStatus: status, ExpectedContent: want}
}

// withKey sends s with an Idempotency-Key.
func withKey(s testkit.Scenario, key string) testkit.Scenario {
	s.Headers = map[string]string{"Idempotency-Key": key}
	return s
}

func startBody(userID, typ string) map[string]any {
	return map[string]any{"user_id": userID, "workout_type": typ}
}

// start starts a workout for u and returns it.
func (e *env) start(tb testing.TB, u *user, typ string) activity.Started {
	tb.Helper()
	resp := e.do(tb, as("", http.MethodPost, api+"/workouts/start", u.Token, startBody(u.ID, typ), http.StatusCreated))
	s := decode[activity.Started](tb, resp)
	require.NotEmpty(tb, s.SessionID)
	return s
}

// logWorkout logs a finished workout for u and returns it.
func (e *env) logWorkout(tb testing.TB, u *user, typ string, start time.Time, seconds int) activity.Workout {
	tb.Helper()
	resp := e.do(tb, as("", http.MethodPost, api+"/users/"+u.ID+"/workouts", u.Token,
		map[string]any{"workout_type": typ, "start_time": rfc(start), "duration": seconds}, http.StatusCreated))
	return decode[activity.Workout](tb, resp)
}

// post posts a batch of samples for u and requires 200.
func (e *env) post(tb testing.TB, u *user, samples ...map[string]any) activity.SampleResult {
	tb.Helper()
	resp := e.do(tb, as("", http.MethodPost, api+"/users/"+u.ID+"/metrics", u.Token,
		map[string]any{"samples": samples}, http.StatusOK))
	return decode[activity.SampleResult](tb, resp)
}

func sample(metric string, value any, at time.Time) map[string]any {
	return map[string]any{"metric": metric, "value": value, "recorded_at": rfc(at)}
}

// The error helpers of the test kit, by their short names.
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
