package users_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/testkit"
)

// recordingPlanner records the goals it is told about by key; refuse, when
// set, answers an error for the goals it names.
type recordingPlanner struct {
	mu     sync.Mutex
	goals  map[string]users.PlannedGoal
	refuse func(users.PlannedGoal) error
}

func (p *recordingPlanner) GoalSet(_ context.Context, key string, g users.PlannedGoal) error {
	if p.refuse != nil {
		if err := p.refuse(g); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, dup := p.goals[key]; dup {
		return errors.New("key applied twice: " + key)
	}
	p.goals[key] = g
	return nil
}

func (p *recordingPlanner) planned() map[string]users.PlannedGoal {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]users.PlannedGoal, len(p.goals))
	for k, g := range p.goals {
		out[k] = g
	}
	return out
}

// seededRow is what a test compares of a seeded account: every random
// choice, without its id or write times.
type seededRow struct {
	Username, Role, Timezone, Units, DisplayName string
	QuietHoursStart, QuietHoursEnd               string
	LeaderboardOptIn                             bool
	CreatedAt                                    time.Time
	Goals                                        []seededGoal `gorm:"-"`
	WeightKG                                     *float64
}

type seededGoal struct {
	GoalType, Period string
	TargetValue      float64
	TargetDate       time.Time
	CreatedAt        time.Time
}

// seededRows reads the seeded accounts with their goals, in username order.
func seededRows(tb testing.TB, db *database.DB) []seededRow {
	tb.Helper()
	q := db.Read(context.Background())
	var rows []struct {
		ID  string
		Row seededRow `gorm:"embedded"`
	}
	require.NoError(tb, q.Table("users_accounts AS a").Select("a.*, b.weight_kg").
		Joins("LEFT JOIN users_biometrics b ON b.user_id = a.id").
		Where("a.username LIKE ?", "seed-user-%").Order("a.username").Scan(&rows).Error)
	out := make([]seededRow, len(rows))
	for i, r := range rows {
		out[i] = r.Row
		require.NoError(tb, q.Table("users_goals").Where("user_id = ?", r.ID).
			Order("created_at, goal_type, period").Scan(&out[i].Goals).Error)
	}
	return out
}

func seedOptions(n int) users.SeedOptions {
	return users.SeedOptions{Users: n, Days: 90, Rand: rand.New(rand.NewPCG(2030, 3)), Now: start}
}

func TestSeed(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		planner := &recordingPlanner{goals: map[string]users.PlannedGoal{}}
		e := newEnvOn(t, db, func(d *users.Deps) { d.Planner = planner })
		e.clock.Advance(time.Hour) // writes are stamped an hour after the seed's Now
		seeded, err := e.mod.Seed(context.Background(), seedOptions(50))
		require.NoError(t, err)
		require.Len(t, seeded, 50)
		rows := seededRows(t, db)
		require.Len(t, rows, 50)

		zones, optedIn, roles, goals := map[string]bool{}, 0, map[string]int{}, 0
		oddOffset := false
		for i, r := range rows {
			assert.Equal(t, users.SeedUsername(i+1), r.Username)
			assert.Equal(t, seeded[i].Timezone, r.Timezone)
			assert.True(t, seeded[i].SignupAt.Equal(r.CreatedAt), "signup %v, created %v", seeded[i].SignupAt, r.CreatedAt)
			assert.False(t, r.CreatedAt.After(start) || r.CreatedAt.Before(start.AddDate(0, 0, -90)), "signup %v", r.CreatedAt)
			loc, err := time.LoadLocation(r.Timezone)
			require.NoError(t, err)
			_, off := start.In(loc).Zone()
			oddOffset = oddOffset || off%3600 != 0
			zones[r.Timezone] = true
			roles[r.Role]++
			if r.LeaderboardOptIn {
				optedIn++
			}
			for _, g := range r.Goals {
				assert.Contains(t, users.GoalTypes, g.GoalType)
				assert.Contains(t, users.GoalPeriods, g.Period)
				assert.Positive(t, g.TargetValue)
				assert.False(t, g.CreatedAt.Before(r.CreatedAt) || g.CreatedAt.After(start), "goal set %v", g.CreatedAt)
				assert.True(t, g.TargetDate.After(start.AddDate(0, 0, 28)), "target date %v", g.TargetDate)
			}
			goals += len(r.Goals)
		}
		assert.GreaterOrEqual(t, len(zones), 10, "varied time zones: %v", zones)
		assert.True(t, oddOffset, "some zone off the whole hour: %v", zones)
		assert.Greater(t, optedIn, 15, "about 60%% opted in")
		assert.Less(t, optedIn, 45, "about 60%% opted in")
		assert.Greater(t, roles[auth.RoleCustomer], roles[auth.RoleInstructor])
		assert.Positive(t, roles[auth.RoleInstructor], "a few instructors")
		assert.Zero(t, roles[auth.RoleAdmin])
		assert.Greater(t, goals, 50, "about two goals each")

		t.Run("tells_the_planner_every_goal_once", func(t *testing.T) {
			planned := planner.planned()
			assert.Len(t, planned, goals)
			var ids []string
			require.NoError(t, db.Read(context.Background()).Table("users_goals").Pluck("id", &ids).Error)
			for _, id := range ids {
				g, ok := planned["users.seed:"+id]
				if assert.True(t, ok, "goal %s planned", id) {
					assert.Equal(t, id, g.GoalID)
				}
			}
		})
		t.Run("stamps_the_feed_at_the_write_with_the_signup", func(t *testing.T) {
			feed := e.everyAccountChange(t, users.ChangeCursor{}, 20)
			require.Len(t, feed, 50)
			byID := map[string]users.AccountChange{}
			for _, c := range feed {
				byID[c.UserID] = c
				assert.Equal(t, e.clock.Now(), c.ChangedAt)
			}
			n := 0
			for _, s := range seeded {
				assert.True(t, s.SignupAt.Equal(byID[s.UserID].SignupAt))
				if byID[s.UserID].LeaderboardOptIn {
					n++
				}
			}
			assert.Equal(t, optedIn, n)
		})
		t.Run("lets_every_account_sign_in_with_the_documented_password", func(t *testing.T) {
			// Every account holds the one hash of the password, live; signing
			// in verifies it (argon2id, slow under -race), so a few accounts
			// stand for all.
			var creds []struct {
				PasswordHash string
				ExpiresAt    time.Time
				Disabled     bool
			}
			require.NoError(t, db.Read(context.Background()).Table("users_credentials AS c").
				Select("c.password_hash, c.expires_at, a.disabled").Joins("JOIN users_accounts a ON a.id = c.user_id").
				Where("a.username LIKE ?", "seed-user-%").Scan(&creds).Error)
			require.Len(t, creds, 50, "one credential each")
			for _, c := range creds {
				assert.Equal(t, creds[0].PasswordHash, c.PasswordHash, "hashed once")
				assert.True(t, c.ExpiresAt.After(e.clock.Now().AddDate(0, 0, 80)), "set at the write: %v", c.ExpiresAt)
				assert.False(t, c.Disabled)
			}
			for _, i := range []int{0, 24, 49} {
				u := &user{ID: seeded[i].UserID, Email: users.SeedEmail(i + 1), Password: users.SeedPassword}
				res := e.login(t, u)
				assert.Equal(t, seeded[i].UserID, res.UserID)
				assert.False(t, res.PasswordExpired)
			}
		})
		t.Run("shows_goals_and_biometrics_like_any_others", func(t *testing.T) {
			i := firstWith(t, rows, func(r seededRow) bool { return len(r.Goals) > 0 && r.WeightKG != nil })
			u := &user{ID: seeded[i].UserID, Email: users.SeedEmail(i + 1), Password: users.SeedPassword}
			e.login(t, u)
			e.run(t,
				testkit.Scenario{Name: "lists_the_goals_with_progress", Method: http.MethodGet,
					URL: api + "/users/" + u.ID + "/goals", Token: u.Token, ExpectedStatus: http.StatusOK,
					ExpectedContent: []string{`"goal_id":"`, `"status":"active"`, `"current_progress":0`}},
				testkit.Scenario{Name: "shows_the_weight_history", Method: http.MethodGet,
					URL: api + "/users/" + u.ID + "/biometrics", Token: u.Token, ExpectedStatus: http.StatusOK,
					ExpectedContent: []string{`"weight_history":[{"weight_kg":`}},
			)
		})
		t.Run("adds_the_same_choices_under_new_names_when_run_again", func(t *testing.T) {
			again, err := e.mod.Seed(context.Background(), seedOptions(50))
			require.NoError(t, err)
			require.Len(t, again, 50)
			all := seededRows(t, db)
			require.Len(t, all, 100)
			for i := range 50 {
				first, second := all[i], all[50+i]
				assert.Equal(t, users.SeedUsername(51+i), second.Username)
				second.Username = first.Username
				assert.Equal(t, first, second, "account %d", i+1)
				assert.Equal(t, seeded[i].Timezone, again[i].Timezone)
				assert.True(t, seeded[i].SignupAt.Equal(again[i].SignupAt))
				assert.NotEqual(t, seeded[i].UserID, again[i].UserID)
			}
		})
	})
}

func firstWith(tb testing.TB, rows []seededRow, ok func(seededRow) bool) int {
	tb.Helper()
	for i, r := range rows {
		if ok(r) {
			return i
		}
	}
	require.FailNow(tb, "no seeded account fits")
	return -1
}

func TestSeedRefusals(t *testing.T) {
	t.Parallel()
	t.Run("rejects_bad_options", func(t *testing.T) {
		e := newEnv(t)
		for _, o := range []users.SeedOptions{{Users: -1, Days: 1, Rand: rand.New(rand.NewPCG(1, 1))},
			{Users: 1, Days: 0, Rand: rand.New(rand.NewPCG(1, 1))},
			{Users: 1, Days: 36_501, Rand: rand.New(rand.NewPCG(1, 1))}, {Users: 1, Days: 1}} {
			_, err := e.mod.Seed(context.Background(), o)
			assert.Equal(t, apperr.Invalid, apperr.KindOf(err), "%+v", o)
		}
		assert.Empty(t, seededRows(t, e.db))
	})
	t.Run("refuses_a_batch_whose_email_is_taken", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.mod.Service().Register(context.Background(), users.RegisterInput{Username: "squatter",
			Email: users.SeedEmail(3), Password: users.SeedPassword})
		require.NoError(t, err, "the documented password passes the password rules")
		_, err = e.mod.Seed(context.Background(), seedOptions(5))
		assert.Equal(t, apperr.Conflict, apperr.KindOf(err), "%v", err)
		assert.Empty(t, seededRows(t, e.db), "the batch is all or nothing")
	})
	t.Run("removes_the_goals_the_planner_refuses", func(t *testing.T) {
		planner := &recordingPlanner{goals: map[string]users.PlannedGoal{}, refuse: func(g users.PlannedGoal) error {
			if g.GoalType == "weight_kg" {
				return errors.New("planner down")
			}
			return nil
		}}
		e := newEnvOn(t, dbtest.New(t), func(d *users.Deps) { d.Planner = planner })
		_, err := e.mod.Seed(context.Background(), seedOptions(50))
		require.ErrorContains(t, err, "planner down")
		kept := 0
		for _, r := range seededRows(t, e.db) {
			for _, g := range r.Goals {
				assert.NotEqual(t, "weight_kg", g.GoalType, "a refused goal is removed")
				kept++
			}
		}
		assert.Len(t, planner.planned(), kept, "every goal kept was planned")
		var stones int64
		require.NoError(t, e.db.Read(context.Background()).Table("users_goal_tombstones").Count(&stones).Error)
		assert.Positive(t, stones, "the removal is in the goal feed")
	})
}
