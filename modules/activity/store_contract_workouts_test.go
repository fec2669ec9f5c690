package activity

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func contractCreateAndRead(t *testing.T, s Store) {
	u := contractUser(t, "read")
	start := ct0.Add(123456 * time.Microsecond)
	end := start.Add(45*time.Minute + 1*time.Microsecond)
	w := &Workout{
		ID: u + "-w1", UserID: u, WorkoutType: "swimming", StartTime: start, EndTime: &end, Duration: 2700,
		CaloriesBurned: 315.25, CaloriesEstimated: true, DistanceKM: contractPtr(1.5), AvgHeartRate: contractPtr(131),
		Notes: "pool, 50 m", Source: SourceManual, CreatedAt: end.Add(time.Second), UpdatedAt: end.Add(2 * time.Second),
	}
	want := *w
	contractCreate(t, s, w)

	got, err := s.Workout(sctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, &want, got)
	assert.Equal(t, time.UTC, got.StartTime.Location())

	bare := contractActive(u, "w2", ct0.Add(time.Hour))
	wantBare := *bare
	contractCreate(t, s, bare)
	got, err = s.Workout(sctx, bare.ID)
	require.NoError(t, err)
	assert.Equal(t, &wantBare, got, "nil end time, distance and heart rate stay nil")
	assert.True(t, got.Active())
}

func contractOneActive(t *testing.T, s Store) {
	u, other := contractUser(t, "active"), contractUser(t, "active-other")
	first := contractActive(u, "a1", ct0)
	contractCreate(t, s, first)

	err := s.CreateWorkout(sctx, contractActive(u, "a2", ct0.Add(time.Minute)))
	var active *ActiveWorkoutError
	require.ErrorAs(t, err, &active)
	assert.Equal(t, first.ID, active.SessionID)
	_, err = s.Workout(sctx, u+"-a2")
	assert.ErrorIs(t, err, ErrWorkoutNotFound, "the refused workout is not stored")

	assert.NoError(t, s.CreateWorkout(sctx, contractWorkout(u, "logged", ct0.Add(-time.Hour))),
		"an ended workout may be logged while one is active")
	assert.NoError(t, s.CreateWorkout(sctx, contractActive(other, "a1", ct0)),
		"another user's active workout does not conflict")
}

func contractOneActiveConcurrent(t *testing.T, s Store) {
	u := contractUser(t, "race")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.CreateWorkout(sctx, contractActive(u, fmt.Sprintf("r%d", i), ct0)) })
	}
	wg.Wait()
	var winners []string
	for i, err := range errs {
		if err == nil {
			winners = append(winners, fmt.Sprintf("%s-r%d", u, i))
		}
	}
	require.Len(t, winners, 1, "exactly one active workout: %v", errs)
	for _, err := range errs {
		if err != nil {
			var active *ActiveWorkoutError
			require.ErrorAs(t, err, &active)
			assert.Equal(t, winners[0], active.SessionID)
		}
	}
}

func contractEndOnce(t *testing.T, s Store) {
	u := contractUser(t, "end")
	w := contractActive(u, "e1", ct0)
	contractCreate(t, s, w)

	end := ct0.Add(40*time.Minute + 250*time.Millisecond)
	ended := *w
	ended.EndTime, ended.Duration, ended.CaloriesBurned, ended.CaloriesEstimated = &end, 2400, 300.5, true
	ended.UpdatedAt = end
	require.NoError(t, s.EndWorkout(sctx, &ended))

	got, err := s.Workout(sctx, w.ID)
	require.NoError(t, err)
	require.NotNil(t, got.EndTime)
	assert.Equal(t, end, *got.EndTime)
	assert.Equal(t, int64(2400), got.Duration)
	assert.Equal(t, 300.5, got.CaloriesBurned)
	assert.True(t, got.CaloriesEstimated)
	assert.Equal(t, w.StartTime, got.StartTime)

	again := ended
	later := end.Add(time.Hour)
	again.EndTime, again.Duration = &later, 6000
	assert.ErrorIs(t, s.EndWorkout(sctx, &again), ErrWorkoutEnded)
	got, err = s.Workout(sctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, end, *got.EndTime, "a second end changes nothing")

	assert.NoError(t, s.CreateWorkout(sctx, contractActive(u, "e2", end)), "once ended, a new workout may start")
}

func contractNotFound(t *testing.T, s Store) {
	u := contractUser(t, "missing")
	w := contractWorkout(u, "nope", ct0)
	_, err := s.Workout(sctx, w.ID)
	assert.ErrorIs(t, err, ErrWorkoutNotFound)
	assert.ErrorIs(t, s.EndWorkout(sctx, w), ErrWorkoutNotFound)
	assert.ErrorIs(t, s.UpdateWorkout(sctx, w), ErrWorkoutNotFound)
	assert.ErrorIs(t, s.DeleteWorkout(sctx, w.ID, ct0.Add(4*time.Hour)), ErrWorkoutNotFound)
}

func contractUpdate(t *testing.T, s Store) {
	u := contractUser(t, "update")
	w := contractWorkout(u, "u1", ct0)
	w.Source = SourceLive
	created := w.CreatedAt
	contractCreate(t, s, w)

	upd := *w
	start, end := ct0.Add(-time.Hour+7*time.Microsecond), ct0.Add(-time.Minute)
	upd.WorkoutType, upd.StartTime, upd.EndTime, upd.Duration = "hiking", start, &end, 3540
	upd.CaloriesBurned, upd.CaloriesEstimated = 410.75, true
	upd.DistanceKM, upd.AvgHeartRate, upd.Notes = contractPtr(7.25), contractPtr(118), "ridge loop"
	upd.UpdatedAt = ct0.Add(time.Hour)
	want := upd
	upd.Source, upd.CreatedAt = SourceManual, ct0.Add(24*time.Hour) // not editable
	require.NoError(t, s.UpdateWorkout(sctx, &upd))
	want.Version++ // each update moves the version on

	got, err := s.Workout(sctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, &want, got)
	assert.Equal(t, SourceLive, got.Source)
	assert.Equal(t, created, got.CreatedAt)

	cleared := *got
	cleared.DistanceKM, cleared.AvgHeartRate, cleared.Notes = nil, nil, ""
	require.NoError(t, s.UpdateWorkout(sctx, &cleared))
	got, err = s.Workout(sctx, w.ID)
	require.NoError(t, err)
	assert.Nil(t, got.DistanceKM)
	assert.Nil(t, got.AvgHeartRate)
	assert.Empty(t, got.Notes)
}

func contractDelete(t *testing.T, s Store) {
	u := contractUser(t, "delete")
	keep, gone := contractWorkout(u, "keep", ct0), contractWorkout(u, "gone", ct0.Add(time.Hour))
	contractCreate(t, s, keep, gone)
	require.NoError(t, s.DeleteWorkout(sctx, gone.ID, ct0.Add(4*time.Hour)))
	_, err := s.Workout(sctx, gone.ID)
	assert.ErrorIs(t, err, ErrWorkoutNotFound)
	assert.ErrorIs(t, s.DeleteWorkout(sctx, gone.ID, ct0.Add(4*time.Hour)), ErrWorkoutNotFound)
	_, err = s.Workout(sctx, keep.ID)
	assert.NoError(t, err)

	live := contractActive(u, "live", ct0.Add(2*time.Hour))
	contractCreate(t, s, live)
	require.NoError(t, s.DeleteWorkout(sctx, live.ID, ct0.Add(4*time.Hour)))
	assert.NoError(t, s.CreateWorkout(sctx, contractActive(u, "live2", ct0.Add(3*time.Hour))),
		"deleting the active workout frees the slot")
}

// contractTiedWorkouts creates workouts whose start times tie (same instant,
// different ids) and differ by single microseconds, and returns them in the
// order Workouts must list them.
func contractTiedWorkouts(tb testing.TB, s Store, u string) []Workout {
	tb.Helper()
	offsets := []time.Duration{
		0, 0, 0, time.Microsecond, time.Microsecond, 2 * time.Microsecond, 500 * time.Millisecond,
		500*time.Millisecond + time.Microsecond, time.Second - time.Microsecond, time.Second, time.Second,
		-time.Microsecond, -time.Second, time.Hour, time.Hour, time.Hour, time.Hour, 24 * time.Hour,
		24*time.Hour + 999999*time.Microsecond, -24 * time.Hour, 90 * time.Minute, 90 * time.Minute,
		3 * time.Millisecond, 30 * time.Microsecond, 300 * time.Microsecond,
	}
	var want []Workout
	for i, off := range offsets {
		// Ids out of step with the times, so ties must be broken by id.
		w := contractWorkout(u, fmt.Sprintf("k%02d", (i*7)%len(offsets)), ct0.Add(off))
		if i%3 == 0 {
			w.WorkoutType = "cycling"
		}
		contractCreate(tb, s, w)
		want = append(want, *w)
	}
	slices.SortFunc(want, func(a, b Workout) int {
		return cmp.Or(b.StartTime.Compare(a.StartTime), cmp.Compare(b.ID, a.ID))
	})
	return want
}

// contractPages lists q page by page, each page starting after the last one's end.
func contractPages(tb testing.TB, s Store, q WorkoutQuery) []Workout {
	tb.Helper()
	var all []Workout
	for range 100 {
		page, err := s.Workouts(sctx, q)
		require.NoError(tb, err)
		require.LessOrEqual(tb, len(page), q.Limit)
		all = append(all, page...)
		if len(page) < q.Limit {
			return all
		}
		last := page[len(page)-1]
		q.After = &WorkoutCursor{StartTime: last.StartTime, ID: last.ID}
	}
	tb.Fatal("pagination does not end")
	return nil
}

func contractIDs(ws []Workout) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.ID
	}
	return out
}

func contractKeysetPages(t *testing.T, s Store) {
	u, other := contractUser(t, "pages"), contractUser(t, "pages-other")
	want := contractTiedWorkouts(t, s, u)
	contractCreate(t, s, contractWorkout(other, "x", ct0))

	for _, limit := range []int{1, 2, 3, 4, 7, 25, 100} {
		got := contractPages(t, s, WorkoutQuery{UserID: u, Limit: limit})
		require.Equal(t, contractIDs(want), contractIDs(got), "limit %d", limit)
	}
	got := contractPages(t, s, WorkoutQuery{UserID: u, Limit: 100})
	assert.Equal(t, want, got, "every field survives the list")

	// A cursor on a tie starts right after that workout.
	for i := range want[:len(want)-1] {
		page, err := s.Workouts(sctx, WorkoutQuery{UserID: u, Limit: 2,
			After: &WorkoutCursor{StartTime: want[i].StartTime, ID: want[i].ID}})
		require.NoError(t, err)
		require.NotEmpty(t, page)
		assert.Equal(t, want[i+1].ID, page[0].ID, "after %s", want[i].ID)
	}
	page, err := s.Workouts(sctx, WorkoutQuery{UserID: u, Limit: 5,
		After: &WorkoutCursor{StartTime: want[len(want)-1].StartTime, ID: want[len(want)-1].ID}})
	require.NoError(t, err)
	assert.Empty(t, page)
}

func contractWorkoutFilters(t *testing.T, s Store) {
	u := contractUser(t, "filters")
	all := contractTiedWorkouts(t, s, u)
	from, to := ct0, ct0.Add(time.Hour) // from inclusive, to exclusive: both are start times of some workouts
	keep := func(fn func(w Workout) bool) []string {
		var out []Workout
		for _, w := range all {
			if fn(w) {
				out = append(out, w)
			}
		}
		return contractIDs(out)
	}

	for _, c := range []struct {
		name string
		q    WorkoutQuery
		want []string
	}{
		{"type", WorkoutQuery{Type: "cycling"}, keep(func(w Workout) bool { return w.WorkoutType == "cycling" })},
		{"from", WorkoutQuery{From: from}, keep(func(w Workout) bool { return !w.StartTime.Before(from) })},
		{"to", WorkoutQuery{To: to}, keep(func(w Workout) bool { return w.StartTime.Before(to) })},
		{"period", WorkoutQuery{From: from, To: to},
			keep(func(w Workout) bool { return !w.StartTime.Before(from) && w.StartTime.Before(to) })},
		{"type_and_period", WorkoutQuery{Type: "running", From: from, To: to}, keep(func(w Workout) bool {
			return w.WorkoutType == "running" && !w.StartTime.Before(from) && w.StartTime.Before(to)
		})},
		{"empty_type", WorkoutQuery{Type: "yoga"}, []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.q.UserID, c.q.Limit = u, 3
			require.NotEqual(t, len(all), len(c.want), "the filter must filter")
			assert.Equal(t, c.want, contractIDs(contractPages(t, s, c.q)))
		})
	}
}

func contractEachWorkout(t *testing.T, s Store) {
	u, other := contractUser(t, "each"), contractUser(t, "each-other")
	all := contractTiedWorkouts(t, s, u)
	contractCreate(t, s, contractWorkout(other, "x", ct0))
	slices.Reverse(all) // oldest first
	from, to := ct0, ct0.Add(time.Hour)

	var got []Workout
	require.NoError(t, s.EachWorkout(sctx, u, from, to, func(w *Workout) error {
		got = append(got, *w)
		return nil
	}))
	var want []Workout
	for _, w := range all {
		if !w.StartTime.Before(from) && w.StartTime.Before(to) {
			want = append(want, w)
		}
	}
	require.NotEmpty(t, want)
	assert.Equal(t, want, got)

	calls := 0
	err := s.EachWorkout(sctx, u, from, to, func(*Workout) error { calls++; return errContractStop })
	assert.ErrorIs(t, err, errContractStop)
	assert.Equal(t, 1, calls, "an error from fn stops the walk")

	err = s.EachWorkout(sctx, u, to, to, func(*Workout) error { return errors.New("called on an empty range") })
	assert.NoError(t, err)
}
