package activity

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
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
		{"refuses_an_update_based_on_a_stale_read", contractStaleUpdate},
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
		{"aggregates_buckets_exactly_on_hours_and_quarter_hours", contractBucketsExact},
		{"counts_each_stored_sample_once_in_buckets", contractBucketsDuplicates},
		{"answers_empty_buckets_for_empty_and_reversed_ranges", contractBucketsEmpty},
		{"returns_the_latest_sample_of_each_metric", contractLatest},
		{"streams_samples_by_metric_then_time_within_the_range", contractEachSample},
		{"erases_one_user_only", contractEraseUser},
		{"feeds_every_write_as_the_workout_after_it", contractChangesFollowWrites},
		{"feeds_a_deletion_as_a_tombstone_and_a_workout_created_again_as_live", contractChangesDelete},
		{"pages_every_change_once_in_order_over_ties", contractChangesPages},
		{"feeds_changes_strictly_after_the_cursor", contractChangesCursor},
		{"feeds_a_tombstone_for_each_erased_workout", contractChangesErase},
		{"feeds_from_the_beginning_after_the_zero_cursor", contractChangesFromZero},
		{"refuses_feed_limits_out_of_range", contractChangesLimits},
		{"refuses_workout_writes_without_their_time", contractChangesNeedTheTime},
		{"feeds_every_slot_once_in_order_whatever_the_page_size", contractMetricChangesPages},
		{"moves_a_slot_written_again_to_the_end_with_its_new_totals", contractMetricChangesMove},
		{"feeds_late_samples_of_an_old_day_after_the_cursor", contractMetricChangesLate},
		{"feeds_everything_at_or_after_the_instant_for_a_cursor_without_id", contractMetricChangesInstant},
		{"leaves_an_erased_users_slots_out_of_the_metric_feed", contractMetricChangesErase},
		{"refuses_metric_feed_limits_and_cursors_it_did_not_make", contractMetricChangesRefusals},
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

// contractSpan is a range that holds every sample of the suite.
var contractSpan = [2]time.Time{ct0.Add(-72 * time.Hour), ct0.Add(72 * time.Hour)}

// contractSlots returns a metric's 15-minute rollups in contractSpan: its
// buckets of a quarter hour, without the empty ones.
func contractSlots(tb testing.TB, s Store, user, metric string) []Slot {
	tb.Helper()
	out := []Slot{}
	for _, b := range contractBuckets(tb, s, user, metric, contractSteps(contractSpan[0], contractSpan[1], SlotSize)) {
		if b.Count > 0 {
			out = append(out, b)
		}
	}
	return out
}

// contractBuckets calls Buckets and checks that it answers one bucket per
// pair of starts, each starting where its pair does.
func contractBuckets(tb testing.TB, s Store, user, metric string, starts []time.Time) []Slot {
	tb.Helper()
	got, err := s.Buckets(sctx, user, metric, starts)
	require.NoError(tb, err)
	require.Len(tb, got, max(len(starts)-1, 0))
	for i, b := range got {
		require.Equal(tb, starts[i], b.Start, "bucket %d starts where asked, in the caller's zone", i)
	}
	return got
}

// contractSteps returns from, from+step, … up to and including to.
func contractSteps(from, to time.Time, step time.Duration) []time.Time {
	var out []time.Time
	for t := from; !t.After(to); t = t.Add(step) {
		out = append(out, t)
	}
	return out
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
	require.NoError(t, s.EraseUser(sctx, u, ct0.Add(4*time.Hour)))
	require.NoError(t, s.EraseUser(sctx, u, ct0.Add(4*time.Hour)), "erasing twice is fine")
	require.NoError(t, s.EraseUser(sctx, contractUser(t, "erase-nobody"), ct0.Add(4*time.Hour)))

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
		hours := contractBuckets(t, s, c.user, "heart_rate", []time.Time{ct0, ct0.Add(time.Hour)})
		assert.Equal(t, int64(c.n/2), hours[0].Count, "hourly rollups of %s", c.user)
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
	for _, starts := range [][]time.Time{{ct0, ct0.Add(time.Hour)}, {ct0, ct0.Add(SlotSize)}} {
		got := contractBuckets(t, s, u, "heart_rate", starts)
		assert.Equal(t, Slot{Start: ct0, Sum: 70, Count: 1, Min: 70, Max: 70}, got[0], "rollups start again from nothing")
	}
	assert.NoError(t, s.CreateWorkout(sctx, contractActive(u, "w3", ct0)))
}
