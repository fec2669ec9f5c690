package activity

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runStoreContract checks a Store against the contract in store.go. open
// returns the store under test; it may return the same store to every
// subtest (a shared database): each subtest works on user and workout ids
// of its own, and the subtests run in parallel. The suite knows nothing of
// the backend.
func runStoreContract(t *testing.T, open func(t *testing.T) Store) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"creates_and_reads_a_workout_to_the_microsecond", contractCreateAndRead},
		{"refuses_a_second_active_workout_naming_the_first", contractOneActive},
		{"lets_exactly_one_of_concurrent_active_workouts_in", contractOneActiveConcurrent},
		{"ends_an_active_workout_once", contractEndOnce},
		{"answers_not_found_for_unknown_workouts", contractNotFound},
		{"updates_the_editable_fields_only", contractUpdate},
		{"deletes_a_workout", contractDelete},
		{"pages_workouts_newest_first_over_ties_and_fractions", contractKeysetPages},
		{"filters_workouts_by_type_and_period", contractWorkoutFilters},
		{"streams_workouts_oldest_first_within_the_range", contractEachWorkout},
		{"counts_duplicates_of_stored_samples", contractStoredDuplicates},
		{"counts_duplicates_within_a_batch", contractBatchDuplicates},
		{"treats_a_repeated_sample_id_as_a_duplicate_whatever_the_metric_and_time", contractSampleIDDuplicates},
		{"accepts_the_same_time_from_different_sources", contractSources},
		{"stores_nothing_when_the_call_fails", contractAllOrNothing},
		{"keeps_rollups_exact", contractRollupsExact},
		{"keeps_rollups_exact_under_concurrent_overlapping_batches", contractRollupsConcurrent},
		{"cuts_slots_at_quarter_hours", contractSlotBoundaries},
		{"returns_the_latest_sample_of_each_metric", contractLatest},
		{"streams_samples_by_metric_then_time_within_the_range", contractEachSample},
		{"erases_one_user_only", contractEraseUser},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

var (
	sctx            = context.Background()
	contractRun     = rand.Text()[:8] // keeps ids apart when a database outlives a run
	errContractStop = errors.New("stop")
	ct0             = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

// contractUser returns a user id no other test uses.
func contractUser(tb testing.TB, name string) string {
	tb.Helper()
	return fmt.Sprintf("u-%s-%s-%s", contractRun, name, rand.Text()[:6])
}

func contractPtr[T any](v T) *T { return &v }

// contractWorkout returns an ended manual workout of user starting at start; its id
// is the user id plus suffix, so ids compare as their suffixes do.
func contractWorkout(user, suffix string, start time.Time) *Workout {
	end := start.Add(30 * time.Minute)
	return &Workout{
		ID: user + "-" + suffix, UserID: user, WorkoutType: "running", StartTime: start, EndTime: &end,
		Duration: 1800, CaloriesBurned: 343, Source: SourceManual, CreatedAt: start, UpdatedAt: start,
	}
}

func contractActive(user, suffix string, start time.Time) *Workout {
	return &Workout{
		ID: user + "-" + suffix, UserID: user, WorkoutType: "cycling", StartTime: start,
		Source: SourceLive, CreatedAt: start, UpdatedAt: start,
	}
}

func contractCreate(tb testing.TB, s Store, ws ...*Workout) {
	tb.Helper()
	for _, w := range ws {
		require.NoError(tb, s.CreateWorkout(sctx, w), "create %s", w.ID)
	}
}

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
	assert.ErrorIs(t, s.DeleteWorkout(sctx, w.ID), ErrWorkoutNotFound)
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

	got, err := s.Workout(sctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, &want, got)
	assert.Equal(t, SourceLive, got.Source)
	assert.Equal(t, created, got.CreatedAt)

	cleared := want
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
	require.NoError(t, s.DeleteWorkout(sctx, gone.ID))
	_, err := s.Workout(sctx, gone.ID)
	assert.ErrorIs(t, err, ErrWorkoutNotFound)
	assert.ErrorIs(t, s.DeleteWorkout(sctx, gone.ID), ErrWorkoutNotFound)
	_, err = s.Workout(sctx, keep.ID)
	assert.NoError(t, err)

	live := contractActive(u, "live", ct0.Add(2*time.Hour))
	contractCreate(t, s, live)
	require.NoError(t, s.DeleteWorkout(sctx, live.ID))
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

// contractSample is a sample of metric at ct0 + offset.
func contractSample(metric string, offset time.Duration, value float64, source, sampleID string) Sample {
	return Sample{Metric: metric, Value: value, RecordedAt: ct0.Add(offset), Source: source, SampleID: sampleID}
}

func contractAdd(tb testing.TB, s Store, user string, samples []Sample, accepted, duplicates int) {
	tb.Helper()
	a, d, err := s.AddSamples(sctx, user, samples)
	require.NoError(tb, err)
	assert.Equal(tb, accepted, a, "accepted")
	assert.Equal(tb, duplicates, d, "duplicates")
}

// contractStored returns every sample of user, via EachSample over all time.
func contractStored(tb testing.TB, s Store, user string) []Sample {
	tb.Helper()
	var out []Sample
	require.NoError(tb, s.EachSample(sctx, user, time.Unix(0, 0), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		func(sm *Sample) error {
			out = append(out, *sm)
			return nil
		}))
	return out
}

func contractSortSamples(ss []Sample) []Sample {
	out := slices.Clone(ss)
	slices.SortFunc(out, func(a, b Sample) int {
		return cmp.Or(cmp.Compare(a.Metric, b.Metric), a.RecordedAt.Compare(b.RecordedAt),
			cmp.Compare(a.Source, b.Source))
	})
	return out
}

// contractRollup computes the slots of samples of one metric by brute force.
func contractRollup(samples []Sample, metric string) []Slot {
	bySlot := map[time.Time]*Slot{}
	for _, sm := range samples {
		if sm.Metric != metric {
			continue
		}
		start := sm.RecordedAt.Truncate(SlotSize)
		sl := bySlot[start]
		if sl == nil {
			bySlot[start] = &Slot{Start: start, Sum: sm.Value, Count: 1, Min: sm.Value, Max: sm.Value}
			continue
		}
		sl.Sum += sm.Value
		sl.Count++
		sl.Min, sl.Max = min(sl.Min, sm.Value), max(sl.Max, sm.Value)
	}
	out := make([]Slot, 0, len(bySlot))
	for _, sl := range bySlot {
		out = append(out, *sl)
	}
	slices.SortFunc(out, func(a, b Slot) int { return a.Start.Compare(b.Start) })
	return out
}

// contractSlots returns a metric's slots over all time.
func contractSlots(tb testing.TB, s Store, user, metric string) []Slot {
	tb.Helper()
	slots, err := s.Slots(sctx, user, metric, time.Unix(0, 0), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(tb, err)
	return slots
}

// contractCheckRollups checks that every metric's slots are the brute-force
// rollup of the samples the store holds: each stored sample counted once.
func contractCheckRollups(tb testing.TB, s Store, user string, metrics ...string) {
	tb.Helper()
	held := contractStored(tb, s, user)
	for _, m := range metrics {
		assert.Equal(tb, contractRollup(held, m), contractSlots(tb, s, user, m), "rollups of %s", m)
	}
}

func contractStoredDuplicates(t *testing.T, s Store) {
	u := contractUser(t, "dups")
	batch := []Sample{
		contractSample("heart_rate", 0, 61, "watch", ""),
		contractSample("heart_rate", time.Minute, 63, "watch", ""),
		contractSample("steps", 0, 120, "phone", "s-1"),
		contractSample("steps", time.Minute, 80, "", ""),
	}
	contractAdd(t, s, u, batch, 4, 0)
	contractAdd(t, s, u, batch, 0, 4)

	changed := slices.Clone(batch)
	changed[0].Value, changed[2].Value = 99, 999 // same keys, other values: still duplicates
	changed = append(changed, contractSample("heart_rate", 2*time.Minute, 65, "watch", ""))
	contractAdd(t, s, u, changed, 1, 4)

	held := contractStored(t, s, u)
	assert.Equal(t, contractSortSamples(append(slices.Clone(batch), changed[4])), held, "the first value stays")
	contractCheckRollups(t, s, u, "heart_rate", "steps")
	contractAdd(t, s, contractUser(t, "dups-other"), batch, 4, 0) // duplicates are per user
}

func contractBatchDuplicates(t *testing.T, s Store) {
	u := contractUser(t, "batch")
	batch := []Sample{
		contractSample("heart_rate", 0, 70, "watch", ""),
		contractSample("heart_rate", 0, 70, "watch", ""),    // same key
		contractSample("heart_rate", 0, 71, "watch", ""),    // same key, other value
		contractSample("heart_rate", 0, 70, "", ""),         // no source: another key
		contractSample("heart_rate", 0, 72, "", ""),         // same key as the previous one
		contractSample("steps", time.Second, 10, "", "x"),   // sample id x
		contractSample("steps", 2*time.Second, 11, "", "x"), // same sample id
		contractSample("steps", 3*time.Second, 12, "", ""),
	}
	contractAdd(t, s, u, batch, 4, 4)
	held := contractStored(t, s, u)
	require.Len(t, held, 4)
	assert.Equal(t, 70.0, held[0].Value, "the first of equal keys is kept")
	assert.Equal(t, 70.0, held[1].Value)
	contractCheckRollups(t, s, u, "heart_rate", "steps")
}

func contractSampleIDDuplicates(t *testing.T, s Store) {
	u, other := contractUser(t, "ids"), contractUser(t, "ids-other")
	contractAdd(t, s, u, []Sample{contractSample("steps", 0, 100, "phone", "abc")}, 1, 0)
	contractAdd(t, s, u, []Sample{
		contractSample("distance_km", time.Hour, 2.5, "watch", "abc"), // other metric, time and source
		contractSample("steps", 5*time.Minute, 100, "phone", "abd"),
	}, 1, 1)
	contractAdd(t, s, other, []Sample{contractSample("steps", 0, 100, "phone", "abc")}, 1, 0) // ids are per user
	held := contractStored(t, s, u)
	require.Len(t, held, 2)
	assert.Equal(t, []string{"abc", "abd"}, []string{held[0].SampleID, held[1].SampleID})
	assert.Empty(t, contractSlots(t, s, u, "distance_km"), "a skipped sample adds to no rollup")
	contractCheckRollups(t, s, u, "steps")
}

func contractSources(t *testing.T, s Store) {
	u := contractUser(t, "sources")
	contractAdd(t, s, u, []Sample{
		contractSample("heart_rate", 0, 60, "watch", ""),
		contractSample("heart_rate", 0, 64, "chest-strap", ""),
		contractSample("heart_rate", 0, 66, "", ""),
	}, 3, 0)
	contractAdd(t, s, u, []Sample{contractSample("heart_rate", 0, 68, "ring", "")}, 1, 0)
	contractAdd(t, s, u, []Sample{contractSample("heart_rate", 0, 1, "ring", "")}, 0, 1)
	assert.Equal(t, []Slot{{Start: ct0, Sum: 258, Count: 4, Min: 60, Max: 68}}, contractSlots(t, s, u, "heart_rate"))
}

func contractAllOrNothing(t *testing.T, s Store) {
	u := contractUser(t, "atomic")
	cancelled, cancel := context.WithCancel(sctx)
	cancel()
	batch := make([]Sample, 0, 3000)
	for i := range 3000 {
		batch = append(batch, contractSample("steps", time.Duration(i)*time.Second, float64(i%50), "phone", fmt.Sprint("id-", i)))
	}
	_, _, err := s.AddSamples(cancelled, u, batch)
	require.Error(t, err)
	assert.Empty(t, contractStored(t, s, u))
	assert.Empty(t, contractSlots(t, s, u, "steps"))
	latest, err := s.LatestSamples(sctx, u)
	require.NoError(t, err)
	assert.Empty(t, latest)

	contractAdd(t, s, u, batch, 3000, 0) // and nothing half-stored makes these duplicates
}

// contractRandomSamples returns n distinct samples (distinct keys and sample ids)
// over six hours. Values are multiples of 0.5, so sums are exact in any order.
func contractRandomSamples(rng *mrand.Rand, n int) []Sample {
	metrics := []string{"heart_rate", "steps", "weight_kg"}
	sources := []string{"", "watch", "phone"}
	seen := map[string]bool{}
	out := make([]Sample, 0, n)
	for len(out) < n {
		sm := Sample{
			Metric:     metrics[rng.IntN(len(metrics))],
			RecordedAt: ct0.Add(time.Duration(rng.Int64N(int64(6*time.Hour/time.Microsecond))) * time.Microsecond),
			Source:     sources[rng.IntN(len(sources))],
			Value:      float64(rng.IntN(500)) / 2,
		}
		if rng.IntN(2) == 0 {
			sm.SampleID = fmt.Sprintf("sid-%d", len(out))
		}
		if rng.IntN(10) == 0 { // right on a slot boundary
			sm.RecordedAt = sm.RecordedAt.Truncate(SlotSize)
		}
		key := fmt.Sprint(sm.Metric, sm.RecordedAt.UnixMicro(), sm.Source)
		if !seen[key] {
			seen[key] = true
			out = append(out, sm)
		}
	}
	return out
}

func contractRollupsExact(t *testing.T, s Store) {
	u := contractUser(t, "rollups")
	rng := mrand.New(mrand.NewPCG(1, 2))
	pool := contractRandomSamples(rng, 1500)
	sent, accepted, duplicates := 0, 0, 0
	for b := range 5 {
		batch := slices.Clone(pool[b*300 : (b+1)*300])
		// Repeats of this batch's samples and of earlier batches'.
		for range 40 {
			batch = append(batch, pool[rng.IntN((b+1)*300)])
		}
		rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		a, d, err := s.AddSamples(sctx, u, batch)
		require.NoError(t, err)
		sent, accepted, duplicates = sent+len(batch), accepted+a, duplicates+d
	}
	assert.Equal(t, len(pool), accepted)
	assert.Equal(t, sent-len(pool), duplicates)
	assert.Equal(t, contractSortSamples(pool), contractStored(t, s, u))
	for _, m := range []string{"heart_rate", "steps", "weight_kg"} {
		assert.Equal(t, contractRollup(pool, m), contractSlots(t, s, u, m), "rollups of %s", m)
	}
}

func contractRollupsConcurrent(t *testing.T, s Store) {
	u := contractUser(t, "concurrent")
	rng := mrand.New(mrand.NewPCG(3, 4))
	pool := contractRandomSamples(rng, 1000)
	const callers = 8
	var wg sync.WaitGroup
	accepted := make([]int, callers)
	errs := make([]error, callers)
	for g := range callers {
		// Batch g overlaps batch g-1 by half, in another order.
		batch := slices.Clone(pool[g*100 : min(g*100+250, len(pool))])
		if g%2 == 1 {
			slices.Reverse(batch)
		}
		wg.Go(func() { accepted[g], _, errs[g] = s.AddSamples(sctx, u, batch) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	covered := pool[:min((callers-1)*100+250, len(pool))]
	var total int
	for _, a := range accepted {
		total += a
	}
	assert.Equal(t, len(covered), total)
	for _, m := range []string{"heart_rate", "steps", "weight_kg"} {
		assert.Equal(t, contractRollup(covered, m), contractSlots(t, s, u, m), "rollups of %s", m)
	}
}

func contractSlotBoundaries(t *testing.T, s Store) {
	u := contractUser(t, "bounds")
	us := time.Microsecond
	q := 15 * time.Minute
	contractAdd(t, s, u, []Sample{
		contractSample("steps", q-us, 1, "", ""),    // last instant of the 09:00 slot
		contractSample("steps", q, 2, "", ""),       // exactly 09:15: the 09:15 slot
		contractSample("steps", q+us, 4, "", ""),    // inside it
		contractSample("steps", 2*q-us, 8, "", ""),  // its last instant
		contractSample("steps", 2*q, 16, "", ""),    // 09:30
		contractSample("steps", 5*q+us, 32, "", ""), // 10:15, after a gap
		contractSample("heart_rate", q, 99, "", ""), // another metric
		contractSample("steps", -us, 64, "", ""),    // 08:45 slot
	}, 8, 0)
	at := func(n int) time.Time { return ct0.Add(time.Duration(n) * q) }
	all := []Slot{
		{Start: at(-1), Sum: 64, Count: 1, Min: 64, Max: 64},
		{Start: at(0), Sum: 1, Count: 1, Min: 1, Max: 1},
		{Start: at(1), Sum: 14, Count: 3, Min: 2, Max: 8},
		{Start: at(2), Sum: 16, Count: 1, Min: 16, Max: 16},
		{Start: at(5), Sum: 32, Count: 1, Min: 32, Max: 32},
	}
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     []Slot
	}{
		{"everything", at(-4), at(8), all},
		{"one_slot", at(1), at(2), all[2:3]},
		{"from_inclusive_to_exclusive", at(0), at(2), all[1:3]},
		{"from_mid_slot_skips_that_slot", at(1).Add(us), at(3), all[3:4]},
		{"to_mid_slot_includes_the_slot_starting_before_it", at(5), at(5).Add(us), all[4:5]},
		{"empty_range", at(3), at(5), nil},
		{"reversed_range", at(5), at(0), nil},
	} {
		got, err := s.Slots(sctx, u, "steps", c.from, c.to)
		require.NoError(t, err, c.name)
		assert.Equal(t, len(c.want), len(got), c.name)
		if len(c.want) > 0 {
			assert.Equal(t, c.want, got, c.name)
		}
		for _, sl := range got {
			assert.Equal(t, time.UTC, sl.Start.Location(), c.name)
		}
	}
	got, err := s.Slots(sctx, u, "heart_rate", at(0), at(8))
	require.NoError(t, err)
	assert.Equal(t, []Slot{{Start: at(1), Sum: 99, Count: 1, Min: 99, Max: 99}}, got)
	got, err = s.Slots(sctx, contractUser(t, "bounds-none"), "steps", at(-4), at(8))
	require.NoError(t, err)
	assert.Empty(t, got)
}

func contractLatest(t *testing.T, s Store) {
	u, other := contractUser(t, "latest"), contractUser(t, "latest-other")
	latest, err := s.LatestSamples(sctx, u)
	require.NoError(t, err)
	assert.Empty(t, latest)

	contractAdd(t, s, u, []Sample{
		contractSample("heart_rate", 0, 60, "watch", ""),
		contractSample("heart_rate", 3*time.Hour+7*time.Microsecond, 72, "watch", "hr-3"),
		contractSample("heart_rate", time.Hour, 65, "watch", ""),
		contractSample("steps", 2*time.Hour, 500, "phone", ""),
		contractSample("steps", time.Hour, 700, "phone", ""),
		contractSample("weight_kg", -48*time.Hour, 71.3, "", "w-1"),
	}, 6, 0)
	contractAdd(t, s, other, []Sample{contractSample("heart_rate", 10*time.Hour, 99, "", "")}, 1, 0)
	contractAdd(t, s, u, []Sample{contractSample("steps", 90*time.Minute, 1, "phone", "")}, 1, 0) // older than the latest

	latest, err = s.LatestSamples(sctx, u)
	require.NoError(t, err)
	assert.ElementsMatch(t, []Sample{
		contractSample("heart_rate", 3*time.Hour+7*time.Microsecond, 72, "watch", "hr-3"),
		contractSample("steps", 2*time.Hour, 500, "phone", ""),
		contractSample("weight_kg", -48*time.Hour, 71.3, "", "w-1"),
	}, latest)
	for _, sm := range latest {
		assert.Equal(t, time.UTC, sm.RecordedAt.Location())
	}
}

func contractEachSample(t *testing.T, s Store) {
	u, other := contractUser(t, "export"), contractUser(t, "export-other")
	batch := []Sample{
		contractSample("steps", 2*time.Hour, 3, "phone", ""),
		contractSample("heart_rate", time.Hour, 61, "watch", "h1"),
		contractSample("steps", -time.Microsecond, 1, "phone", ""), // before the range
		contractSample("weight_kg", 0, 70.5, "", ""),               // on its start: inside
		contractSample("steps", time.Hour+time.Microsecond, 2, "phone", ""),
		contractSample("heart_rate", 30*time.Minute, 60, "watch", ""),
		contractSample("heart_rate", 30*time.Minute, 59, "chest", ""), // same time, another source
		contractSample("heart_rate", 4*time.Hour, 62, "watch", ""),    // on the range's end: outside
		contractSample("active_minutes", 3*time.Hour, 5, "", ""),
	}
	contractAdd(t, s, u, batch, len(batch), 0)
	contractAdd(t, s, other, batch[:3], 3, 0)

	from, to := ct0, ct0.Add(4*time.Hour)
	var got []Sample
	require.NoError(t, s.EachSample(sctx, u, from, to, func(sm *Sample) error {
		got = append(got, *sm)
		return nil
	}))
	var want []Sample
	for _, sm := range batch {
		if !sm.RecordedAt.Before(from) && sm.RecordedAt.Before(to) {
			want = append(want, sm)
		}
	}
	assert.ElementsMatch(t, want, got)
	assert.True(t, slices.IsSortedFunc(got, func(a, b Sample) int {
		return cmp.Or(cmp.Compare(a.Metric, b.Metric), a.RecordedAt.Compare(b.RecordedAt))
	}), "ordered by metric then time: %v", got)

	calls := 0
	err := s.EachSample(sctx, u, from, to, func(*Sample) error { calls++; return errContractStop })
	assert.ErrorIs(t, err, errContractStop)
	assert.Equal(t, 1, calls, "an error from fn stops the walk")
}

func contractEraseUser(t *testing.T, s Store) {
	u, other := contractUser(t, "erase"), contractUser(t, "erase-other")
	samples := []Sample{
		contractSample("steps", 0, 10, "phone", "e-1"),
		contractSample("heart_rate", time.Minute, 70, "watch", "e-2"),
	}
	for _, user := range []string{u, other} {
		contractCreate(t, s, contractWorkout(user, "w1", ct0), contractActive(user, "w2", ct0.Add(time.Hour)))
		contractAdd(t, s, user, samples, 2, 0)
	}
	require.NoError(t, s.EraseUser(sctx, u))
	require.NoError(t, s.EraseUser(sctx, u), "erasing twice is fine")
	require.NoError(t, s.EraseUser(sctx, contractUser(t, "erase-nobody")))

	for _, c := range []struct {
		user string
		n    int
	}{{u, 0}, {other, 2}} {
		list, err := s.Workouts(sctx, WorkoutQuery{UserID: c.user, Limit: 10})
		require.NoError(t, err)
		assert.Len(t, list, c.n, c.user)
		_, err = s.Workout(sctx, c.user+"-w1")
		if c.n == 0 {
			assert.ErrorIs(t, err, ErrWorkoutNotFound)
		} else {
			assert.NoError(t, err)
		}
		assert.Len(t, contractStored(t, s, c.user), c.n)
		assert.Len(t, contractSlots(t, s, c.user, "steps"), c.n/2)
		latest, err := s.LatestSamples(sctx, c.user)
		require.NoError(t, err)
		assert.Len(t, latest, c.n)
		calls := 0
		require.NoError(t, s.EachWorkout(sctx, c.user, ct0.Add(-time.Hour), ct0.Add(2*time.Hour),
			func(*Workout) error { calls++; return nil }))
		assert.Equal(t, c.n, calls)
	}
	// Nothing of the erased user lingers: its samples, ids and active workout are free again.
	contractAdd(t, s, u, samples, 2, 0)
	assert.NoError(t, s.CreateWorkout(sctx, contractActive(u, "w3", ct0)))
}
