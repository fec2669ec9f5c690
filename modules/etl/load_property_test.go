package etl

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/database"
)

// dumped are the warehouse's tables a comparison covers, with their keys:
// all but the watermarks and erasures, whose times are the loads' own,
// and dim_date and dim_workout_type, which only grow (sameWarehouse checks
// that they cover the facts).
var dumped = map[string]string{
	"dim_user": "user_key", "dim_goal": "goal_id",
	"fact_workouts": "workout_id", "fact_daily_metrics": "user_key, date_key, metric",
	"fact_goal_progress": "goal_id, date_key", "fact_group_sessions": "session_id, user_key",
	"stage_metric_days": "user_key, metric, date_key", "etl_dirty_users": "user_key",
}

// contents is every row of the dumped tables, for comparing warehouses.
func contents(t *testing.T, wh *database.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, key := range dumped {
		rows, err := wh.Read(context.Background()).Raw("SELECT * FROM " + table + " ORDER BY " + key).Rows()
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for i, v := range vals {
				switch x := v.(type) {
				case time.Time:
					vals[i] = x.UTC().Format(time.RFC3339Nano)
				case []byte:
					vals[i] = string(x)
				}
			}
			out[table] = append(out[table], fmt.Sprint(vals...))
		}
		require.NoError(t, rows.Err())
		_ = rows.Close()
	}
	return out
}

// sameWarehouse compares wh with want table by table, and checks that
// its dimensions cover its facts.
func sameWarehouse(t *testing.T, want map[string][]string, wh *database.DB, msg string) {
	t.Helper()
	got := contents(t, wh)
	for table := range dumped {
		assert.Equal(t, want[table], got[table], "%s: %s", msg, table)
	}
	var missing int64
	require.NoError(t, wh.Read(context.Background()).Raw(`SELECT COUNT(*) FROM (
		SELECT date_key FROM fact_workouts UNION SELECT date_key FROM fact_daily_metrics
		UNION SELECT date_key FROM fact_group_sessions) f
		WHERE date_key NOT IN (SELECT date_key FROM dim_date)`).Scan(&missing).Error)
	assert.Zero(t, missing, "%s: facts dated outside dim_date", msg)
}

// fullLoad is a full load of feeds into a fresh warehouse of the dialect:
// what any sequence of loads must leave.
func fullLoad(t *testing.T, dialect string, feeds Feeds, now func() time.Time) map[string][]string {
	t.Helper()
	fresh := warehouse(t, dialect)
	full, err := NewLoader(LoaderDeps{Warehouse: fresh, Feeds: feeds, PseudonymKey: testKey, Now: now})
	require.NoError(t, err)
	_, err = full.Run(context.Background(), true)
	require.NoError(t, err)
	return contents(t, fresh)
}

// world is the sources of the property test and what it does to them.
type world struct {
	*sources
	rnd      *rand.Rand
	clk      *clock
	workouts []string
	goals    []string
	sessions []string
	erased   map[string]bool // ids are never used again
}

func (w *world) user() string { return "u" + strconv.Itoa(w.rnd.IntN(12)) }

func (w *world) pick(ids []string) string { return ids[w.rnd.IntN(len(ids))] }

var (
	zones   = []string{"UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata"}
	metrics = []string{"steps", "calories_burned", "active_minutes", "distance_km", "weight_kg", "heart_rate"}
)

// step changes the sources at random; it reports whether it was a run.
func (w *world) step(n int) bool {
	rnd, clk := w.rnd, w.clk
	switch r := rnd.IntN(135); {
	case r < 10: // a new user, or a changed one
		id := w.user()
		if w.erased[id] {
			return false
		}
		at := clk.tick(rnd.IntN(3))
		w.users.put(id, UserChange{UserID: id, Role: []string{"customer", "instructor"}[rnd.IntN(2)],
			Timezone: zones[rnd.IntN(len(zones))], SignupAt: at.Add(-time.Hour), LeaderboardOptIn: rnd.IntN(2) == 0,
			ChangedAt: at})
	case r < 13: // an erasure: the user, their workouts, goals, rollups and attendance
		w.erase(w.user())
	case r < 20: // an account closed, or reopened (a deletion that failed)
		if u, ok := w.users.get(w.user()); ok && !w.erased[u.UserID] {
			u.Deleted, u.ChangedAt = !u.Deleted, clk.tick(rnd.IntN(3))
			w.users.put(u.UserID, u)
		}
	case r < 50: // a new workout
		id := "w" + strconv.Itoa(n)
		w.workouts = append(w.workouts, id)
		at := clk.tick(rnd.IntN(3))
		start := at.Add(-time.Duration(rnd.IntN(72)) * time.Hour)
		end := start.Add(time.Duration(10+rnd.IntN(80)) * time.Minute)
		dist := float64(rnd.IntN(20))
		w.sources.workouts.put(id, WorkoutChange{ID: id, UserID: w.user(),
			WorkoutType: []string{"running", "yoga", "hiit"}[rnd.IntN(3)], StartTime: start, EndTime: &end,
			Duration: int64(end.Sub(start) / time.Second), CaloriesBurned: float64(rnd.IntN(900)), DistanceKM: &dist,
			Source: "manual", ChangedAt: at})
	case r < 65 && len(w.workouts) > 0: // an edit
		if x, ok := w.sources.workouts.get(w.pick(w.workouts)); ok && !x.Deleted {
			x.CaloriesBurned, x.ChangedAt = float64(rnd.IntN(900)), clk.tick(rnd.IntN(3))
			x.StartTime = x.StartTime.Add(time.Duration(rnd.IntN(5)-2) * 6 * time.Hour)
			w.sources.workouts.put(x.ID, x)
		}
	case r < 72 && len(w.workouts) > 0: // a deletion
		if x, ok := w.sources.workouts.get(w.pick(w.workouts)); ok && !x.Deleted {
			w.sources.workouts.put(x.ID, WorkoutChange{ID: x.ID, UserID: x.UserID, ChangedAt: clk.tick(rnd.IntN(3)), Deleted: true})
		}
	case r < 84: // a goal set, changed or deleted
		w.goal(n)
	case r < 102: // samples: a rollup grows, maybe for a day long past
		w.sample()
	case r < 110: // a session ends, its summary is rewritten, or it goes
		w.session(n)
	case r < 118: // time passes: goals' snapshots reach new days
		clk.t = clk.t.Add(time.Duration(1+rnd.IntN(30)) * time.Hour)
	default:
		return true
	}
	return false
}

func (w *world) goal(n int) {
	rnd, clk := w.rnd, w.clk
	if len(w.goals) > 0 && rnd.IntN(3) == 0 {
		g, ok := w.sources.goals.get(w.pick(w.goals))
		if !ok || g.Deleted {
			return
		}
		if rnd.IntN(3) == 0 {
			w.sources.goals.put(g.GoalID, GoalChange{GoalID: g.GoalID, UserID: g.UserID, Deleted: true, ChangedAt: clk.tick(1)})
			return
		}
		g.TargetValue, g.Status = float64(1+rnd.IntN(5000)), []string{"active", "active", "completed", "cancelled"}[rnd.IntN(4)]
		g.ChangedAt = clk.tick(rnd.IntN(3))
		w.sources.goals.put(g.GoalID, g)
		return
	}
	id := "g" + strconv.Itoa(n)
	w.goals = append(w.goals, id)
	at := clk.tick(rnd.IntN(3))
	target := ""
	if rnd.IntN(2) == 0 {
		target = at.AddDate(0, 0, rnd.IntN(10)).Format(time.DateOnly)
	}
	w.sources.goals.put(id, GoalChange{GoalID: id, UserID: w.user(), GoalType: metrics[rnd.IntN(5)],
		Period: []string{"daily", "weekly", "monthly", "total"}[rnd.IntN(4)], TargetValue: float64(1 + rnd.IntN(3000)),
		TargetDate: target, Status: "active", CreatedAt: at.Add(-time.Duration(rnd.IntN(96)) * time.Hour), ChangedAt: at})
}

func (w *world) sample() {
	rnd, clk := w.rnd, w.clk
	user, metric := w.user(), metrics[rnd.IntN(len(metrics))]
	start := clk.t.Add(-time.Duration(rnd.IntN(10*96)) * 15 * time.Minute).Truncate(15 * time.Minute)
	id := slotID(user, metric, start)
	m, ok := w.metrics.get(id)
	v := float64(1 + rnd.IntN(200))
	if !ok {
		m = MetricChange{UserID: user, Metric: metric, SlotStart: start, Min: v, Max: v}
	}
	m.Sum, m.Count = m.Sum+v, m.Count+1
	m.Min, m.Max = min(m.Min, v), max(m.Max, v)
	m.ChangedAt = clk.tick(rnd.IntN(3))
	w.metrics.put(id, m)
}

func (w *world) session(n int) {
	rnd, clk := w.rnd, w.clk
	if len(w.sessions) > 0 && rnd.IntN(3) == 0 {
		s, ok := w.sources.sessions.get(w.pick(w.sessions))
		if !ok || s.Deleted {
			return
		}
		if rnd.IntN(2) == 0 {
			w.sources.sessions.put(s.SessionID, SessionChange{SessionID: s.SessionID, Deleted: true, ChangedAt: clk.tick(1)})
			return
		}
		if len(s.Attendees) > 0 {
			s.Attendees = slices.Delete(slices.Clone(s.Attendees), 0, 1)
		}
		s.ChangedAt = clk.tick(rnd.IntN(3))
		w.sources.sessions.put(s.SessionID, s)
		return
	}
	id := "s" + strconv.Itoa(n)
	w.sessions = append(w.sessions, id)
	at := clk.tick(rnd.IntN(3))
	start := at.Add(-time.Duration(1+rnd.IntN(48)) * time.Hour)
	s := SessionChange{SessionID: id, WorkoutType: "spin", StartedAt: start, EndedAt: start.Add(time.Hour), ChangedAt: at}
	seen := map[string]bool{}
	for range 1 + rnd.IntN(4) {
		if u := w.user(); !seen[u] {
			seen[u] = true
			j := start.Add(time.Duration(rnd.IntN(20)) * time.Minute)
			s.Attendees = append(s.Attendees, Attendance{UserID: u, JoinedAt: j, LeftAt: j.Add(30 * time.Minute), PresentS: 1800})
		}
	}
	w.sources.sessions.put(id, s)
}

// erase does what account erasure does to the sources.
func (w *world) erase(id string) {
	u, ok := w.users.get(id)
	if !ok || u.Deleted {
		return
	}
	clk, rnd := w.clk, w.rnd
	w.erased[id] = true
	u.Deleted, u.ChangedAt = true, clk.tick(rnd.IntN(3))
	w.users.put(id, u)
	for _, wid := range w.workouts {
		if x, ok := w.sources.workouts.get(wid); ok && x.UserID == id && !x.Deleted {
			w.sources.workouts.put(wid, WorkoutChange{ID: wid, UserID: id, ChangedAt: clk.tick(rnd.IntN(2)), Deleted: true})
		}
	}
	for _, gid := range w.goals {
		if g, ok := w.sources.goals.get(gid); ok && g.UserID == id && !g.Deleted {
			w.sources.goals.put(gid, GoalChange{GoalID: gid, UserID: id, ChangedAt: clk.tick(1), Deleted: true})
		}
	}
	w.metrics.drop(func(m MetricChange) bool { return m.UserID == id })
	for _, sid := range w.sessions {
		s, ok := w.sources.sessions.get(sid)
		if !ok || s.Deleted {
			continue
		}
		if i := slices.IndexFunc(s.Attendees, func(a Attendance) bool { return a.UserID == id }); i >= 0 {
			s.Attendees = slices.Delete(slices.Clone(s.Attendees), i, i+1)
			s.ChangedAt = clk.tick(1)
			w.sources.sessions.put(sid, s)
		}
	}
}

// Random inserts, updates and deletes in the sources, loaded by any
// sequence of incremental runs — some of them failing midway — while days
// pass, leave the warehouse equal to a full load of the sources into a
// fresh one.
func TestIncrementalRunsEqualAFullLoad(t *testing.T) {
	t.Parallel()
	eachWarehouse(t, func(t *testing.T, dialect string) {
		for seed := range uint64(4) {
			t.Run("seed_"+strconv.FormatUint(seed, 10), func(t *testing.T) {
				w := &world{sources: newSources(), rnd: rand.New(rand.NewPCG(seed, 42)),
					clk: &clock{t: time.Date(2026, 11, 1, 22, 0, 0, 0, time.UTC)}, erased: map[string]bool{}}
				now := func() time.Time { return w.clk.t }
				wh := warehouse(t, dialect)
				// No lag window, or one of a millisecond (the fake clock ticks
				// 0–2 ms a change): the default one would re-read everything.
				// Seeds 2 and 3 pace the loads (pages read and written in
				// turn, as in the server), with pauses too short to wait for.
				inc, err := NewLoader(LoaderDeps{Warehouse: wh, Feeds: w.feeds(), PseudonymKey: testKey,
					Batch: 1 + w.rnd.IntN(7), Lag: []time.Duration{-1, time.Millisecond}[seed%2], Now: now,
					Pace: []float64{0, 1e-9}[seed/2]})
				require.NoError(t, err)
				for n := range 400 {
					if !w.step(n) {
						continue
					}
					// A run, which fails midway now and then: a feed goes
					// away, or the loader dies inside a batch's transaction
					// after writing its rows.
					feeds := []*int{&w.sources.workouts.failAfter, &w.sources.goals.failAfter,
						&w.sources.metrics.failAfter, &w.sources.sessions.failAfter}
					switch w.rnd.IntN(6) {
					case 0:
						*feeds[w.rnd.IntN(len(feeds))] = 1 + w.rnd.IntN(3)
					case 1:
						k := w.rnd.IntN(6)
						inc.crash = func(string) error {
							if k--; k < 0 {
								return errCrash
							}
							return nil
						}
					}
					_, err := inc.Run(context.Background(), false)
					for _, f := range feeds {
						*f = 0
					}
					inc.crash = nil
					if err != nil {
						require.True(t, errors.Is(err, errFeedDown) || errors.Is(err, errCrash), "%v", err)
					}
				}
				_, err = inc.Run(context.Background(), false)
				require.NoError(t, err)
				want := fullLoad(t, dialect, w.feeds(), now)
				for _, table := range []string{"fact_workouts", "fact_daily_metrics", "fact_goal_progress", "fact_group_sessions"} {
					require.NotEmpty(t, want[table], table)
				}
				assert.Empty(t, want["etl_dirty_users"])
				sameWarehouse(t, want, wh, "incremental runs")
				_, err = inc.Run(context.Background(), false)
				require.NoError(t, err)
				sameWarehouse(t, want, wh, "another run changes nothing")
				_, err = inc.Run(context.Background(), true)
				require.NoError(t, err)
				sameWarehouse(t, want, wh, "a full run over an incremental one")
			})
		}
	})
}

// A day whose slots come in several batches, with a run cut short between
// them, ends with all its slots: each batch lays its slots over the day's
// staged ones.
func TestADayInSeveralBatchesKeepsAllItsSlots(t *testing.T) {
	t.Parallel()
	eachWarehouse(t, func(t *testing.T, dialect string) {
		src := newSources()
		at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
		src.users.put("u1", UserChange{UserID: "u1", Role: "customer", Timezone: "UTC", SignupAt: at, ChangedAt: at})
		for i := range 10 {
			start := at.Add(time.Duration(i) * 6 * time.Hour)
			src.metrics.put(slotID("u1", "steps", start), MetricChange{UserID: "u1", Metric: "steps", SlotStart: start,
				Sum: 100, Count: 1, Min: 100, Max: 100, ChangedAt: at.Add(time.Duration(i) * time.Second)})
		}
		now := func() time.Time { return at.Add(72 * time.Hour) }
		wh := warehouse(t, dialect)
		l, err := NewLoader(LoaderDeps{Warehouse: wh, Feeds: src.feeds(), PseudonymKey: testKey, Batch: 2, Lag: -1, Now: now})
		require.NoError(t, err)
		batches := 0
		l.crash = func(source string) error {
			if source == SourceMetrics {
				if batches++; batches == 3 {
					return errCrash
				}
			}
			return nil
		}
		_, err = l.Run(context.Background(), false)
		require.ErrorIs(t, err, errCrash)
		l.crash = nil
		_, err = l.Run(context.Background(), false)
		require.NoError(t, err)
		want := fullLoad(t, dialect, src.feeds(), now)
		require.Len(t, want["fact_daily_metrics"], 3)
		sameWarehouse(t, want, wh, "after the cut")
	})
}

// A workout moved to a later day changes the goal snapshots from its
// former day on, which a later run than the one that loaded it takes
// again; a deleted one likewise.
func TestAMovedWorkoutChangesItsFormerDay(t *testing.T) {
	t.Parallel()
	eachWarehouse(t, func(t *testing.T, dialect string) {
		src := newSources()
		at := time.Date(2026, 11, 10, 8, 0, 0, 0, time.UTC)
		now := func() time.Time { return at.Add(8 * 24 * time.Hour) }
		src.users.put("u1", UserChange{UserID: "u1", Role: "customer", Timezone: "UTC", SignupAt: at, ChangedAt: at})
		src.goals.put("g1", GoalChange{GoalID: "g1", UserID: "u1", GoalType: "workouts", Period: "total", TargetValue: 5,
			Status: "active", CreatedAt: at, ChangedAt: at})
		start := at.Add(24 * time.Hour)
		end := start.Add(time.Hour)
		w := WorkoutChange{ID: "w1", UserID: "u1", WorkoutType: "yoga", StartTime: start, EndTime: &end, Duration: 3600,
			Source: "manual", ChangedAt: at.Add(time.Minute)}
		src.workouts.put("w1", w)
		wh := warehouse(t, dialect)
		l, err := NewLoader(LoaderDeps{Warehouse: wh, Feeds: src.feeds(), PseudonymKey: testKey, Lag: -1, Now: now})
		require.NoError(t, err)
		_, err = l.Run(context.Background(), false)
		require.NoError(t, err)
		check := func(msg string) {
			t.Helper()
			sameWarehouse(t, fullLoad(t, dialect, src.feeds(), now), wh, msg)
		}
		w.StartTime, w.ChangedAt = start.Add(3*24*time.Hour), at.Add(2*time.Minute)
		end2 := w.StartTime.Add(time.Hour)
		w.EndTime = &end2
		src.workouts.put("w1", w)
		_, err = l.Run(context.Background(), false)
		require.NoError(t, err)
		check("moved three days later")
		src.workouts.put("w1", WorkoutChange{ID: "w1", UserID: "u1", ChangedAt: at.Add(3 * time.Minute), Deleted: true})
		_, err = l.Run(context.Background(), false)
		require.NoError(t, err)
		check("deleted")
	})
}
