package users_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/httpx"
)

// planner records goals and fails while fail is set.
type planner struct {
	mu   sync.Mutex
	keys []string
	fail error
}

func (p *planner) setFail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = err
}

func (p *planner) GoalSet(_ context.Context, key string, _ users.PlannedGoal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.keys = append(p.keys, key)
	return nil
}

// eraser records the users it erased and fails while fail is set.
type eraser struct {
	mu     sync.Mutex
	erased []string
	fail   error
}

func (e *eraser) EraseAccount(_ context.Context, userID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail != nil {
		return e.fail
	}
	e.erased = append(e.erased, userID)
	return nil
}

func (e *eraser) setFail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail = err
}

func (e *eraser) calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.erased...)
}

func TestSetGoalSaga(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		p := &planner{}
		e := newEnvOn(t, db, func(d *users.Deps) { d.Planner = p })
		u := e.newUser(t, "saga")
		ctx := e.as(t, u)
		svc := e.mod.Service()
		in := users.GoalInput{GoalType: "steps", TargetValue: 8000, TargetDate: e.clock.date(10), Period: "daily"}

		t.Run("stores_the_goal_and_tells_the_planner_once", func(t *testing.T) {
			g, err := svc.CreateGoal(ctx, u.ID, in)
			require.NoError(t, err)
			got, err := svc.FindGoalByID(ctx, u.ID, g.GoalID)
			require.NoError(t, err)
			assert.Equal(t, "steps", got.GoalType)
			p.mu.Lock()
			assert.Len(t, p.keys, 1)
			p.mu.Unlock()
		})
		t.Run("removes_the_goal_and_answers_the_planners_error", func(t *testing.T) {
			p.setFail(apperr.E(apperr.Unavailable, "planner_unavailable", "The planner is unavailable."))
			defer p.setFail(nil)
			_, err := svc.CreateGoal(ctx, u.ID, in)
			require.Error(t, err)
			assert.True(t, apperr.Is(err, "planner_unavailable"), "the step's error reaches the caller: %v", err)
			goals, err := svc.FindGoals(ctx, u.ID, users.GoalFilter{Page: httpx.Page{Limit: 100}})
			require.NoError(t, err)
			assert.Len(t, goals, 1, "only the first goal remains")
		})
	})
}

func TestDeleteAccountSaga(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		er := &eraser{}
		e := newEnvOn(t, db, func(d *users.Deps) { d.Erasers = []users.AccountEraser{er} })
		svc := e.mod.Service()

		t.Run("erases_elsewhere_then_releases_the_email", func(t *testing.T) {
			u := e.newUser(t, "erase")
			id, err := svc.DeleteUser(e.as(t, u), u.ID, password)
			require.NoError(t, err)
			assert.NotEmpty(t, id)
			require.Eventually(t, func() bool { return countEmail(t, db, u.Email) == 0 }, 30*time.Second, 10*time.Millisecond)
			assert.Equal(t, []string{u.ID}, er.calls(), "every eraser runs once")
		})
		t.Run("reopens_the_account_when_an_eraser_fails", func(t *testing.T) {
			er.setFail(errors.New("media storage is down"))
			defer er.setFail(nil)
			u := e.newUser(t, "reopen")
			_, err := svc.DeleteUser(e.as(t, u), u.ID, password)
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				var n int64
				require.NoError(t, db.Read(context.Background()).Table("users_accounts").
					Where("id = ? AND deleted_at IS NULL AND disabled = ?", u.ID, false).Count(&n).Error)
				return n == 1
			}, 30*time.Second, 10*time.Millisecond, "the compensation reopens the account")
			e.login(t, u) // and its owner can sign in again
		})
		t.Run("keeps_an_admins_ban_when_the_deletion_is_undone", func(t *testing.T) {
			er.setFail(errors.New("media storage is down"))
			defer er.setFail(nil)
			u, admin := e.newUser(t, "banned"), e.newAdmin(t)
			disabled := true
			_, err := svc.AdminUpdateUser(e.as(t, admin), u.ID, users.AdminUpdate{Disabled: &disabled})
			require.NoError(t, err)
			_, err = svc.DeleteUser(e.as(t, admin), u.ID, "")
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				var n int64
				require.NoError(t, db.Read(context.Background()).Table("users_accounts").
					Where("id = ? AND deleted_at IS NULL", u.ID).Count(&n).Error)
				return n == 1
			}, 30*time.Second, 10*time.Millisecond, "the compensation reopens the account")
			var disabledNow bool
			require.NoError(t, db.Read(context.Background()).Table("users_accounts").Where("id = ?", u.ID).
				Select("disabled").Scan(&disabledNow).Error)
			assert.True(t, disabledNow, "the ban survives the undone deletion")
		})
	})
}

func countEmail(tb testing.TB, db *database.DB, email string) int64 {
	tb.Helper()
	var n int64
	require.NoError(tb, db.Read(context.Background()).Table("users_accounts").Where("email = ?", email).Count(&n).Error)
	return n
}
