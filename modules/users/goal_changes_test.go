package users_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

// goalChanges reads one page of the goal feed.
func (e *env) goalChanges(tb testing.TB, after users.ChangeCursor, limit int) []users.GoalChange {
	tb.Helper()
	out, err := e.mod.GoalChanges(context.Background(), after, limit)
	require.NoError(tb, err)
	return out
}

// everyGoalChange pages through the goal feed after after, limit at a
// time (everyChange).
func (e *env) everyGoalChange(tb testing.TB, after users.ChangeCursor, limit int) []users.GoalChange {
	tb.Helper()
	return everyChange(tb, e.mod.GoalChanges, after, limit)
}

// changedGoalIDs are the GoalIDs of changes, in order.
func changedGoalIDs(changes []users.GoalChange) []string {
	ids := []string{}
	for _, c := range changes {
		ids = append(ids, c.GoalID)
	}
	return ids
}

func TestGoalChanges(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		p := &planner{}
		e := newEnvOn(t, db, func(d *users.Deps) { d.Planner = p })
		svc := e.mod.Service()
		u, leaver := e.newUser(t, "goals"), e.newUser(t, "leaver")
		g1, g2 := e.newGoalAs(t, u, "steps", "daily", 8000), e.newGoalAs(t, u, "workouts", "weekly", 3)

		created := e.goalChanges(t, users.ChangeCursor{}, 100)
		require.Equal(t, sorted(g1, g2), changedGoalIDs(created))
		for _, c := range created {
			assert.Equal(t, u.ID, c.UserID)
			assert.Equal(t, "active", c.Status)
			assert.Equal(t, e.clock.date(40), c.TargetDate)
			assert.Equal(t, start, c.CreatedAt)
			assert.Equal(t, start, c.ChangedAt)
			assert.False(t, c.Deleted)
		}
		byID := map[string]users.GoalChange{created[0].GoalID: created[0], created[1].GoalID: created[1]}
		assert.Equal(t, users.GoalChange{GoalID: g1, UserID: u.ID, GoalType: "steps", Period: "daily", TargetValue: 8000,
			TargetDate: e.clock.date(40), Status: "active", CreatedAt: start, ChangedAt: start}, byID[g1])
		cur := created[1].Cursor()

		// step makes changes a minute later and returns what the goal feed
		// says after cur: n changes, all at that minute.
		step := func(t *testing.T, n int, change func()) []users.GoalChange {
			t.Helper()
			e.clock.Advance(time.Minute)
			change()
			got := e.goalChanges(t, cur, 100)
			require.Len(t, got, n)
			for _, c := range got {
				assert.Equal(t, e.clock.Now(), c.ChangedAt, "stamped with the module's clock at the write")
			}
			cur = got[len(got)-1].Cursor()
			return got
		}
		t.Run("reports_an_update", func(t *testing.T) {
			status, target := "completed", 9000.0
			c := step(t, 1, func() {
				_, err := svc.UpdateGoal(e.as(t, u), u.ID, g1, users.GoalUpdate{Status: &status, TargetValue: &target})
				require.NoError(t, err)
			})[0]
			assert.Equal(t, g1, c.GoalID)
			assert.Equal(t, "completed", c.Status)
			assert.Equal(t, 9000.0, c.TargetValue)
			assert.Equal(t, start, c.CreatedAt)
		})
		t.Run("reports_a_deletion_as_a_tombstone", func(t *testing.T) {
			c := step(t, 1, func() { require.NoError(t, svc.DeleteGoal(e.as(t, u), u.ID, g2)) })[0]
			assert.Equal(t, users.GoalChange{GoalID: g2, UserID: u.ID, Deleted: true, ChangedAt: e.clock.Now()}, c)
		})
		t.Run("reports_a_goal_its_saga_undid_as_a_tombstone", func(t *testing.T) {
			p.setFail(apperr.E(apperr.Unavailable, "planner_unavailable", "The planner is unavailable."))
			defer p.setFail(nil)
			c := step(t, 1, func() {
				_, err := svc.CreateGoal(e.as(t, u), u.ID, users.GoalInput{GoalType: "steps", TargetValue: 1,
					TargetDate: e.clock.date(3), Period: "daily"})
				require.Error(t, err)
			})[0]
			assert.True(t, c.Deleted)
			assert.Equal(t, u.ID, c.UserID)
			assert.NotContains(t, []string{g1, g2}, c.GoalID)
		})
		t.Run("reports_erased_goals_as_tombstones", func(t *testing.T) {
			var g3, g4 string
			step(t, 2, func() {
				g3, g4 = e.newGoalAs(t, leaver, "steps", "daily", 1), e.newGoalAs(t, leaver, "steps", "weekly", 7)
			})
			erased := step(t, 2, func() {
				_, err := svc.DeleteUser(e.as(t, leaver), leaver.ID, password)
				require.NoError(t, err)
				require.Eventually(t, func() bool { return countEmail(t, db, leaver.Email) == 0 },
					30*time.Second, 10*time.Millisecond, "erased")
			})
			assert.Equal(t, sorted(g3, g4), changedGoalIDs(erased))
			for _, c := range erased {
				assert.Equal(t, users.GoalChange{GoalID: c.GoalID, UserID: leaver.ID, Deleted: true, ChangedAt: e.clock.Now()}, c)
			}
		})
	})
}

func TestGoalChangesPaging(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		// Five goals at the start; a second later three more, two of the
		// first deleted and one updated: rows and tombstones share an instant.
		u := e.newUser(t, "paging")
		var first []string
		for range 5 {
			first = append(first, e.newGoalAs(t, u, "steps", "daily", 100))
		}
		e.clock.Advance(time.Second)
		for range 3 {
			e.newGoalAs(t, u, "workouts", "weekly", 2)
		}
		svc, ctx := e.mod.Service(), e.as(t, u)
		require.NoError(t, svc.DeleteGoal(ctx, u.ID, first[0]))
		require.NoError(t, svc.DeleteGoal(ctx, u.ID, first[3]))
		status := "cancelled"
		_, err := svc.UpdateGoal(ctx, u.ID, first[4], users.GoalUpdate{Status: &status})
		require.NoError(t, err)

		full := e.goalChanges(t, users.ChangeCursor{}, users.MaxChanges)
		require.Len(t, full, 8, "each goal once, deleted ones as tombstones")
		seen := map[string]bool{}
		for _, c := range full {
			assert.False(t, seen[c.GoalID], "goal %s twice", c.GoalID)
			seen[c.GoalID] = true
			assert.Equal(t, c.GoalID == first[0] || c.GoalID == first[3], c.Deleted, "goal %s", c.GoalID)
		}
		assert.Equal(t, sorted(first[1], first[2]), changedGoalIDs(full[:2]), "only the untouched goals stay at the start")
		for _, limit := range []int{1, 2, 3, 5} {
			assert.Equal(t, full, e.everyGoalChange(t, users.ChangeCursor{}, limit), "limit %d", limit)
		}
		assert.Equal(t, full[3:], e.goalChanges(t, full[2].Cursor(), 100), "strictly after an equal instant")
		assert.Empty(t, e.goalChanges(t, full[7].Cursor(), 100))
	})
}
