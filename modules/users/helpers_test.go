package users_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/httpx"
	"github.com/fitloop/fitloop/platform/saga"
	"github.com/fitloop/fitloop/platform/testkit"
	"github.com/fitloop/fitloop/web"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// start is where every fake clock begins: a fixed instant keeps dates in
// scenarios (goal target dates, birth dates) stable.
var start = time.Date(2030, time.March, 1, 9, 0, 0, 0, time.UTC)

// fakeClock is the test kit's clock with a date helper.
type fakeClock struct{ *testkit.Clock }

// date returns the clock's day plus days, as YYYY-MM-DD.
func (c *fakeClock) date(days int) string {
	return c.Now().AddDate(0, 0, days).Format(time.DateOnly)
}

const (
	api      = "/api/v1"
	password = "correct-horse-battery"
)

// env is one users module on a fresh database behind the real router.
type env struct {
	db    *database.DB
	mod   *users.Module
	h     http.Handler
	clock *fakeClock
	cfg   config.Auth
	// contract validates every exchange against the OpenAPI document.
	contract []testkit.Option

	mu      sync.Mutex
	secrets []string // token hashes no response may ever contain
	seq     atomic.Int64
}

// newEnv builds the module on a fresh SQLite database.
func newEnv(tb testing.TB) *env {
	tb.Helper()
	return newEnvOn(tb, dbtest.New(tb))
}

// newEnvOn builds the module on db, behind an engine with a 1 MiB body limit;
// deps may change the module's dependencies before it is built.
func newEnvOn(tb testing.TB, db *database.DB, deps ...func(*users.Deps)) *env {
	tb.Helper()
	cfg := config.Default().Auth
	signer, err := auth.NewSigner([]byte("test-signing-key-of-at-least-32-bytes!"), cfg.Issuer, cfg.Audience)
	require.NoError(tb, err)
	clock := &fakeClock{testkit.NewClock(start)}
	log := slog.New(slog.DiscardHandler)
	reg := saga.NewRegistry()
	orch, err := saga.New(saga.Options{DB: db, Registry: reg, Config: config.Default().Sagas, Log: log, Replica: "users-test"})
	require.NoError(tb, err)
	tb.Cleanup(orch.Close)
	d := users.Deps{DB: db, Log: log, Auth: cfg, Signer: signer, Clock: clock.Now, Sagas: orch}
	for _, f := range deps {
		f(&d)
	}
	mod, err := users.New(d)
	require.NoError(tb, err)
	require.NoError(tb, mod.Sagas(reg))
	engine := httpx.NewEngine(log, httpx.Options{MaxBodyBytes: 1 << 20})
	mod.RegisterRoutes(engine.Group(api))
	return &env{db: db, mod: mod, h: engine, clock: clock, cfg: cfg, contract: contractOptions(tb)}
}

// contractOptions validates every exchange against the OpenAPI document
// served at /api/openapi.json: the response always, and the request too when
// the server accepted it.
func contractOptions(tb testing.TB) []testkit.Option {
	tb.Helper()
	v := testkit.NewOpenAPIValidator(tb, web.OpenAPI)
	v.CheckRequests = true
	return []testkit.Option{testkit.WithValidator(v)}
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

// options are the checks every exchange gets: no password or token hash ever
// appears in a body, and the OpenAPI contract holds.
func (e *env) options() []testkit.Option {
	return append(append([]testkit.Option{}, e.contract...),
		testkit.WithNotExpectedContent("$argon2id$", "argon2id", "password_hash", "token_hash"),
		testkit.WithCheck(func(tb testing.TB, _ *http.Request, _ []byte, resp *testkit.Response) {
			tb.Helper()
			e.mu.Lock()
			defer e.mu.Unlock()
			for _, s := range e.secrets {
				if strings.Contains(resp.String(), s) {
					tb.Errorf("response contains a token hash: %s", resp.String())
				}
			}
		}),
	)
}

// run runs scenarios in order as subtests of t.
func (e *env) run(t *testing.T, scenarios ...testkit.Scenario) {
	t.Helper()
	opts := e.options()
	for _, s := range scenarios {
		s.Run(t, e.h, opts...)
	}
}

// do runs one scenario in tb and returns its answer.
func (e *env) do(tb testing.TB, s testkit.Scenario) *testkit.Response {
	tb.Helper()
	return s.Do(tb, e.h, e.options()...)
}

// rememberToken records an API token's hash so no later response may show it.
func (e *env) rememberToken(secret string) {
	e.mu.Lock()
	e.secrets = append(e.secrets, auth.HashAPIToken(secret))
	e.mu.Unlock()
}

// user is a registered account with a signed-in session.
type user struct {
	ID, Username, Email, Password string
	Token, SessionID              string
}

// loginResult is the body of a successful login or session extension.
type loginResult struct {
	Token           string    `json:"token"`
	UserID          string    `json:"user_id"`
	SessionID       string    `json:"session_id"`
	ExpiresAt       time.Time `json:"expires_at"`
	PasswordExpired bool      `json:"password_expired"`
}

// newUser registers a customer with a unique name and signs it in.
func (e *env) newUser(tb testing.TB, prefix string) *user {
	tb.Helper()
	name := fmt.Sprintf("%s%d", prefix, e.seq.Add(1))
	u := &user{Username: name, Email: name + "@example.com", Password: password}
	resp := e.do(tb, testkit.Scenario{
		Method: http.MethodPost, URL: api + "/users/register",
		Body:           map[string]string{"username": u.Username, "email": u.Email, "password": u.Password},
		ExpectedStatus: http.StatusCreated,
	})
	var acct users.Account
	resp.Decode(tb, &acct)
	require.NotEmpty(tb, acct.UserID)
	u.ID = acct.UserID
	e.login(tb, u)
	return u
}

// newAdmin creates an admin the way the CLI does and signs it in.
func (e *env) newAdmin(tb testing.TB) *user {
	tb.Helper()
	name := fmt.Sprintf("admin%d", e.seq.Add(1))
	system := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: "system", Role: auth.RoleAdmin, SessionID: "cli"})
	acct, err := e.mod.Service().Register(system, users.RegisterInput{
		Username: name, Email: name + "@example.com", Password: password, Role: auth.RoleAdmin,
	})
	require.NoError(tb, err)
	u := &user{ID: acct.UserID, Username: name, Email: acct.Email, Password: password}
	e.login(tb, u)
	return u
}

// login opens a new session for u and makes it u's current token.
func (e *env) login(tb testing.TB, u *user) loginResult {
	tb.Helper()
	resp := e.do(tb, testkit.Scenario{
		Method: http.MethodPost, URL: api + "/users/login",
		Body:           map[string]string{"email": u.Email, "password": u.Password},
		ExpectedStatus: http.StatusOK,
	})
	var res loginResult
	resp.Decode(tb, &res)
	require.NotEmpty(tb, res.Token, "login token")
	u.Token, u.SessionID = res.Token, res.SessionID
	return res
}

// createdToken is the body of POST /users/{id}/tokens.
type createdToken struct {
	TokenID   string     `json:"token_id"`
	Token     string     `json:"token"`
	Prefix    string     `json:"prefix"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// newToken creates an API token for u and returns it.
func (e *env) newToken(tb testing.TB, u *user, scopes []string, expiresAt *time.Time) createdToken {
	tb.Helper()
	body := map[string]any{"name": "test", "scopes": scopes}
	if expiresAt != nil {
		body["expires_at"] = expiresAt
	}
	resp := e.do(tb, testkit.Scenario{
		Method: http.MethodPost, URL: api + "/users/" + u.ID + "/tokens", Token: u.Token,
		Body: body, ExpectedStatus: http.StatusCreated,
	})
	var tok createdToken
	resp.Decode(tb, &tok)
	require.True(tb, strings.HasPrefix(tok.Token, auth.APITokenPrefix), "token %q", tok.Token)
	e.rememberToken(tok.Token)
	return tok
}

// The error helpers of the test kit, by their short names.
var (
	errorOf = testkit.ErrorOf
	code    = testkit.Code
	field   = testkit.Field
)
