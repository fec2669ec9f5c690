package users_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/apperr"
)

// newGoalAs creates a goal for u through the service and returns its id.
func (e *env) newGoalAs(tb testing.TB, u *user, goalType, period string, target float64) string {
	tb.Helper()
	g, err := e.mod.Service().CreateGoal(e.as(tb, u), u.ID, users.GoalInput{GoalType: goalType, TargetValue: target,
		TargetDate: e.clock.date(40), Period: period})
	require.NoError(tb, err)
	return g.GoalID
}

// goalIDs are the ids of goals, in order.
func goalIDs(goals []users.ActiveGoal) []string {
	ids := []string{}
	for _, g := range goals {
		ids = append(ids, g.GoalID)
	}
	return ids
}

// sorted returns ids in ascending order, the order ActiveGoals promises.
func sorted(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }

func TestActiveGoals(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		svc, ctx := e.mod.Service(), context.Background()
		ann, bob, banned, leaver, admin := e.newUser(t, "ann"), e.newUser(t, "bob"), e.newUser(t, "banned"),
			e.newUser(t, "leaver"), e.newAdmin(t)
		annDaily := e.newGoalAs(t, ann, "steps", "daily", 8000)
		annWeekly := e.newGoalAs(t, ann, "workouts", "weekly", 3)
		annTotal := e.newGoalAs(t, ann, "distance_km", "total", 42.2)
		done, dropped := e.newGoalAs(t, ann, "steps", "daily", 5000), e.newGoalAs(t, ann, "steps", "daily", 6000)
		bobDaily, bobMonthly := e.newGoalAs(t, bob, "active_minutes", "daily", 30), e.newGoalAs(t, bob, "steps", "monthly", 300000)
		bannedGoal := e.newGoalAs(t, banned, "steps", "daily", 1000)
		e.newGoalAs(t, leaver, "steps", "daily", 1000)

		for id, status := range map[string]string{done: "completed", dropped: "cancelled"} {
			_, err := svc.UpdateGoal(e.as(t, ann), ann.ID, id, users.GoalUpdate{Status: &status})
			require.NoError(t, err)
		}
		disable := func(disabled bool) {
			_, err := svc.AdminUpdateUser(e.as(t, admin), banned.ID, users.AdminUpdate{Disabled: &disabled})
			require.NoError(t, err)
		}
		disable(true)
		_, err := svc.DeleteUser(e.as(t, leaver), leaver.ID, password)
		require.NoError(t, err)

		find := func(tb testing.TB, q users.ActiveGoalQuery) []users.ActiveGoal {
			tb.Helper()
			goals, err := svc.ActiveGoals(ctx, q)
			require.NoError(tb, err)
			return goals
		}
		live := sorted(annDaily, annWeekly, annTotal, bobDaily, bobMonthly)

		t.Run("lists_active_goals_of_live_accounts_across_users_by_id", func(t *testing.T) {
			assert.Equal(t, live, goalIDs(find(t, users.ActiveGoalQuery{})))
		})
		t.Run("describes_each_goal", func(t *testing.T) {
			goals := find(t, users.ActiveGoalQuery{UserID: bob.ID, Periods: []string{"monthly"}})
			require.Len(t, goals, 1)
			g := goals[0]
			assert.True(t, g.CreatedAt.Equal(start), "created at %s", g.CreatedAt)
			assert.Equal(t, time.UTC, g.CreatedAt.Location())
			g.CreatedAt = start
			assert.Equal(t, users.ActiveGoal{GoalID: bobMonthly, UserID: bob.ID, GoalType: "steps", Period: "monthly",
				TargetValue: 300000, TargetDate: e.clock.date(40), CreatedAt: start}, g)
		})
		t.Run("filters_by_user", func(t *testing.T) {
			assert.Equal(t, sorted(annDaily, annWeekly, annTotal), goalIDs(find(t, users.ActiveGoalQuery{UserID: ann.ID})))
		})
		t.Run("filters_by_period", func(t *testing.T) {
			assert.Equal(t, sorted(annDaily, bobDaily), goalIDs(find(t, users.ActiveGoalQuery{Periods: []string{"daily"}})))
			assert.Equal(t, sorted(annWeekly, bobMonthly),
				goalIDs(find(t, users.ActiveGoalQuery{Periods: []string{"weekly", "monthly"}})))
			assert.Equal(t, []string{bobDaily},
				goalIDs(find(t, users.ActiveGoalQuery{UserID: bob.ID, Periods: []string{"daily", "total"}})))
		})
		t.Run("skips_disabled_and_deleted_accounts_even_when_named", func(t *testing.T) {
			assert.Empty(t, find(t, users.ActiveGoalQuery{UserID: banned.ID}))
			assert.Empty(t, find(t, users.ActiveGoalQuery{UserID: leaver.ID}))
		})
		t.Run("pages_by_goal_id", func(t *testing.T) {
			var got []string
			var sizes []int
			after := ""
			for range 5 {
				page := find(t, users.ActiveGoalQuery{After: after, Limit: 2})
				if len(page) == 0 {
					break
				}
				sizes = append(sizes, len(page))
				got = append(got, goalIDs(page)...)
				after = page[len(page)-1].GoalID
			}
			assert.Equal(t, []int{2, 2, 1}, sizes)
			assert.Equal(t, live, got, "every goal once, in id order")
			assert.Equal(t, live[3:], goalIDs(find(t, users.ActiveGoalQuery{After: live[2]})))
			assert.Empty(t, find(t, users.ActiveGoalQuery{After: live[4]}))
		})
		t.Run("rejects_an_unknown_period", func(t *testing.T) {
			_, err := svc.ActiveGoals(ctx, users.ActiveGoalQuery{Periods: []string{"daily", "yearly"}})
			assert.Equal(t, apperr.Invalid, apperr.KindOf(err))
			if ae, ok := apperr.As(err); assert.True(t, ok) {
				assert.Contains(t, ae.Fields, "periods")
			}
		})
		t.Run("lists_an_account_again_once_enabled", func(t *testing.T) {
			disable(false)
			assert.Equal(t, sorted(append(live, bannedGoal)...), goalIDs(find(t, users.ActiveGoalQuery{})))
		})
	})
}

func TestActiveGoalsLimits(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u := e.newUser(t, "many")
		rows := make([]map[string]any, 0, 1001)
		for range 1001 {
			rows = append(rows, map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "user_id": u.ID,
				"goal_type": "steps", "target_value": 1000.0, "target_date": start.AddDate(0, 1, 0), "period": "daily",
				"status": "active", "created_at": start, "updated_at": start})
		}
		require.NoError(t, e.db.Tx(context.Background(), func(tx *gorm.DB) error {
			return tx.Table("users_goals").CreateInBatches(rows, 100).Error
		}))
		count := func(limit int) int {
			goals, err := e.mod.Service().ActiveGoals(context.Background(), users.ActiveGoalQuery{UserID: u.ID, Limit: limit})
			require.NoError(t, err)
			return len(goals)
		}
		assert.Equal(t, 100, count(0), "default")
		assert.Equal(t, 100, count(-5), "a negative limit means the default")
		assert.Equal(t, 7, count(7))
		assert.Equal(t, 1000, count(1000))
		assert.Equal(t, 1000, count(5000), "clamped")
	})
}

func TestBasicsCarriesQuietHours(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		svc, ctx := e.mod.Service(), context.Background()
		u := e.newUser(t, "basic")
		b, err := svc.Basics(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, users.UserBasics{UserID: u.ID, Role: "customer", Timezone: "UTC",
			QuietStart: "22:00", QuietEnd: "07:00"}, *b)

		tz, qs, qe := "Asia/Tokyo", "21:15", "05:45"
		_, err = svc.UpdateUser(e.as(t, u), u.ID, users.UserUpdate{Timezone: &tz, QuietHoursStart: &qs, QuietHoursEnd: &qe})
		require.NoError(t, err)
		b, err = svc.Basics(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, users.UserBasics{UserID: u.ID, Role: "customer", Timezone: tz, QuietStart: qs, QuietEnd: qe}, *b)

		_, err = svc.Basics(ctx, "01890000-0000-7000-8000-000000000000")
		assert.True(t, apperr.Is(err, "user_not_found"), "unknown user: %v", err)
	})
}
