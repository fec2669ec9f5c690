package users_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/httpx"
	"github.com/fitloop/fitloop/platform/testkit"
)

// as returns a context in which u, signed in with its current session, calls the service.
func (e *env) as(tb testing.TB, u *user) context.Context {
	tb.Helper()
	p, err := e.mod.Authenticator().Authenticate(context.Background(), u.Token)
	require.NoError(tb, err)
	return auth.WithPrincipal(context.Background(), p)
}

func TestServiceRequiresACaller(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc, ctx := e.mod.Service(), context.Background()
	calls := map[string]func() error{
		"current_session": func() error { _, err := svc.CurrentSession(ctx); return err },
		"extend_session":  func() error { _, err := svc.ExtendSession(ctx); return err },
		"logout":          func() error { return svc.Logout(ctx) },
		"find_sessions":   func() error { _, err := svc.FindSessions(ctx); return err },
		"revoke_session":  func() error { return svc.RevokeSession(ctx, "x") },
		"find_user":       func() error { _, err := svc.FindUserByID(ctx, "x"); return err },
		"update_user":     func() error { _, err := svc.UpdateUser(ctx, "x", users.UserUpdate{}); return err },
		"delete_user":     func() error { _, err := svc.DeleteUser(ctx, "x", ""); return err },
		"change_password": func() error { _, err := svc.ChangePassword(ctx, "x", users.PasswordChange{}); return err },
		"find_biometrics": func() error { _, err := svc.FindBiometrics(ctx, "x"); return err },
		"update_biometrics": func() error {
			_, err := svc.UpdateBiometrics(ctx, "x", users.BiometricsUpdate{})
			return err
		},
		"create_goal":  func() error { _, err := svc.CreateGoal(ctx, "x", users.GoalInput{}); return err },
		"find_goals":   func() error { _, err := svc.FindGoals(ctx, "x", users.GoalFilter{}); return err },
		"find_goal":    func() error { _, err := svc.FindGoalByID(ctx, "x", "y"); return err },
		"update_goal":  func() error { _, err := svc.UpdateGoal(ctx, "x", "y", users.GoalUpdate{}); return err },
		"delete_goal":  func() error { return svc.DeleteGoal(ctx, "x", "y") },
		"create_token": func() error { _, err := svc.CreateToken(ctx, "x", users.TokenInput{}); return err },
		"find_tokens":  func() error { _, err := svc.FindTokens(ctx, "x"); return err },
		"delete_token": func() error { return svc.DeleteToken(ctx, "x", "y") },
		"find_users":   func() error { _, err := svc.FindUsers(ctx, users.UserFilter{}); return err },
		"admin_update": func() error { _, err := svc.AdminUpdateUser(ctx, "x", users.AdminUpdate{}); return err },
	}
	for name, call := range calls {
		t.Run("refuses_"+name+"_without_a_caller", func(t *testing.T) {
			assert.Equal(t, apperr.Unauthenticated, apperr.KindOf(call()))
		})
	}
}

func TestServiceAdminOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser(t, "plain")
	ctx := e.as(t, u)
	_, err := e.mod.Service().FindUsers(ctx, users.UserFilter{})
	assert.True(t, apperr.Is(err, "forbidden"), "FindUsers: %v", err)
	_, err = e.mod.Service().AdminUpdateUser(ctx, u.ID, users.AdminUpdate{})
	assert.True(t, apperr.Is(err, "forbidden"), "AdminUpdateUser: %v", err)
}

func TestRegisterNormalizes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The document asks clients for a trimmed address; the service forgives
	// stray spaces anyway (this bypasses the HTTP contract check on purpose).
	acct, err := e.mod.Service().Register(context.Background(), users.RegisterInput{
		Username: " Trimmed.Name ", Email: "  Mixed.Case@Example.COM\t", Password: password})
	require.NoError(t, err)
	assert.Equal(t, "trimmed.name", acct.Username)
	assert.Equal(t, "mixed.case@example.com", acct.Email)
	assert.Equal(t, auth.RoleCustomer, acct.Role)
	e.login(t, &user{Email: "MIXED.CASE@example.com", Password: password})
}

func TestConcurrentRegistrationsClaimAnEmailOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, errs[i] = e.mod.Service().Register(context.Background(), users.RegisterInput{
					Username: fmt.Sprintf("racer%d", i), Email: "race@example.com", Password: password})
			})
		}
		wg.Wait()
		created := 0
		for _, err := range errs {
			if err == nil {
				created++
				continue
			}
			assert.True(t, apperr.Is(err, "email_taken"), "want email_taken, got %v", err)
		}
		assert.Equal(t, 1, created, "exactly one registration wins")
	})
}

func TestConcurrentGoalWritesAllCommit(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u := e.newUser(t, "busy")
		ctx := e.as(t, u)
		const n = 30
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				in := users.GoalInput{GoalType: "steps", TargetValue: float64(1000 + i), TargetDate: e.clock.date(5)}
				if i%5 == 0 {
					in.GoalType = "juggling" // fails validation; must not disturb the others
				}
				var g *users.Goal
				if g, errs[i] = e.mod.Service().CreateGoal(ctx, u.ID, in); g != nil {
					ids[i] = g.GoalID
				}
			})
		}
		wg.Wait()
		want := map[string]bool{}
		for i, err := range errs {
			if i%5 == 0 {
				assert.Equal(t, apperr.Invalid, apperr.KindOf(err), "goal %d", i)
				continue
			}
			require.NoError(t, err, "goal %d", i)
			want[ids[i]] = true
		}
		goals, err := e.mod.Service().FindGoals(ctx, u.ID, users.GoalFilter{Page: httpx.Page{Limit: 100}})
		require.NoError(t, err)
		got := map[string]bool{}
		for _, g := range goals {
			got[g.GoalID] = true
		}
		assert.Equal(t, want, got)
	})
}

// progressStub answers a set progress and records what it was asked.
type progressStub struct {
	mu     sync.Mutex
	answer users.Progress
	specs  []users.GoalSpec
}

func (p *progressStub) CurrentProgress(_ context.Context, _ string, g users.GoalSpec) (users.Progress, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.specs = append(p.specs, g)
	return p.answer, nil
}

func (p *progressStub) set(answer users.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answer = answer
}

// lastSpec is the goal the stub was last asked about.
func (p *progressStub) lastSpec(tb testing.TB) users.GoalSpec {
	tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotEmpty(tb, p.specs, "the progress source was never asked")
	return p.specs[len(p.specs)-1]
}

func TestProgressAndPaceComeFromTheProgressSource(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		expected, projected := 2000.0, "2030-03-20"
		stub := &progressStub{answer: users.Progress{Current: 1234, Expected: &expected, ProjectedDate: &projected}}
		e := newEnvOn(t, db, func(d *users.Deps) { d.Progress = stub })
		u := e.newUser(t, "progress")
		e.do(t, testkit.Scenario{Method: http.MethodPut, URL: api + "/users/" + u.ID, Token: u.Token,
			Body:           map[string]string{"timezone": "America/Lima", "quiet_hours_start": "23:30", "quiet_hours_end": "06:15"},
			ExpectedStatus: http.StatusOK})
		g := e.newGoal(t, u)
		assert.Equal(t, 1234.0, g.CurrentProgress)
		spec := stub.lastSpec(t)
		assert.True(t, spec.CreatedAt.Equal(start), "created at %s", spec.CreatedAt)
		spec.CreatedAt = start
		assert.Equal(t, users.GoalSpec{GoalID: g.GoalID, GoalType: "steps", Period: "total", TargetValue: 10000,
			TargetDate: e.clock.date(30), CreatedAt: start, Timezone: "America/Lima",
			QuietStart: "23:30", QuietEnd: "06:15"}, spec)

		goals := api + "/users/" + u.ID + "/goals"
		get := func(name, url string, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodGet, URL: url, Token: u.Token,
				ExpectedStatus: http.StatusOK, ExpectedContent: want}
		}
		behind := `"current_progress":1234,"pace":{"expected":2000,"projected_date":"2030-03-20","on_track":false}`
		e.run(t,
			get("shows_the_pace_of_one_goal", goals+"/"+g.GoalID, behind),
			get("shows_the_pace_in_the_list", goals, behind),
		)
		stub.set(users.Progress{Current: 9000, OnTrack: true})
		e.run(t, get("shows_an_unknown_pace_as_null", goals+"/"+g.GoalID,
			`"current_progress":9000,"pace":{"expected":null,"projected_date":null,"on_track":true}`))
	})
}
