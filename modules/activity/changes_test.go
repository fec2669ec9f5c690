package activity_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/activity"
	"github.com/fitloop/fitloop/platform/apperr"
)

// feedEntry returns the one change of workout id in the module's feed,
// read from the beginning a page of two at a time, and checks the feed's
// order on the way.
func feedEntry(tb testing.TB, e *env, id string) activity.WorkoutChange {
	tb.Helper()
	var after activity.ChangeCursor
	var found []activity.WorkoutChange
	for {
		page, err := e.mod.WorkoutChanges(context.Background(), after, 2)
		require.NoError(tb, err)
		for _, c := range page {
			require.True(tb, c.ChangedAt.After(after.At) || (c.ChangedAt.Equal(after.At) && c.ID > after.ID),
				"%v after %v", c.Cursor(), after)
			after = c.Cursor()
			if c.ID == id {
				found = append(found, c)
			}
		}
		if len(page) < 2 {
			break
		}
	}
	require.Len(tb, found, 1, "workout %s is in the feed once", id)
	return found[0]
}

// TestWorkoutChanges follows every write path of the module into the
// feed: each stamps the workout with the time of the write.
func TestWorkoutChanges(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a, b := e.a, e.b
		step := func() time.Time {
			e.clock.Advance(time.Minute)
			return e.clock.Now()
		}

		for _, limit := range []int{0, -1, activity.MaxChanges + 1} {
			_, err := e.mod.WorkoutChanges(ctx, activity.ChangeCursor{}, limit)
			ae, ok := apperr.As(err)
			require.True(t, ok, "an apperr error for limit %d: %v", limit, err)
			assert.Equal(t, apperr.Invalid, ae.Kind)
			assert.Contains(t, ae.Fields, "limit")
		}

		at := step()
		run := e.start(t, a, "running")
		c := feedEntry(t, e, run.SessionID)
		assert.Equal(t, at, c.ChangedAt, "start")
		assert.Nil(t, c.EndTime, "an active workout is in the feed")
		assert.Equal(t, activity.SourceLive, c.Source)

		at = step()
		e.do(t, as("", http.MethodPost, api+"/workouts/"+run.SessionID+"/end", a.Token, nil, http.StatusOK))
		c = feedEntry(t, e, run.SessionID)
		assert.Equal(t, at, c.ChangedAt, "end")
		require.NotNil(t, c.EndTime)
		assert.Equal(t, at, *c.EndTime)
		assert.EqualValues(t, 60, c.Duration)

		at = step()
		logged := e.logWorkout(t, a, "yoga", t0.Add(-2*time.Hour), 1800)
		theirs := e.logWorkout(t, b, "walking", t0.Add(-3*time.Hour), 600)
		assert.Equal(t, at, feedEntry(t, e, logged.ID).ChangedAt, "log")

		at = step()
		e.do(t, as("", http.MethodPut, api+"/workouts/"+logged.ID, a.Token, map[string]any{"distance_km": 3.5},
			http.StatusOK))
		c = feedEntry(t, e, logged.ID)
		assert.Equal(t, at, c.ChangedAt, "update")
		require.NotNil(t, c.DistanceKM)
		assert.Equal(t, 3.5, *c.DistanceKM)

		at = step()
		e.do(t, as("", http.MethodDelete, api+"/workouts/"+logged.ID, a.Token, nil, http.StatusNoContent))
		assert.Equal(t, activity.WorkoutChange{ID: logged.ID, UserID: a.ID, ChangedAt: at, Deleted: true},
			feedEntry(t, e, logged.ID), "delete")

		at = step()
		group, err := e.mod.RecordGroupWorkout(ctx, activity.GroupWorkout{Key: "session-1|" + a.ID, UserID: a.ID,
			WorkoutType: "running", Start: t0.Add(-time.Hour), End: t0.Add(-30 * time.Minute), Present: 20 * time.Minute})
		require.NoError(t, err)
		c = feedEntry(t, e, group.ID)
		assert.Equal(t, at, c.ChangedAt, "group workout")
		assert.Equal(t, activity.SourceGroup, c.Source)

		at = step()
		require.NoError(t, e.mod.EraseAccount(ctx, b.ID))
		assert.Equal(t, activity.WorkoutChange{ID: theirs.ID, UserID: b.ID, ChangedAt: at, Deleted: true},
			feedEntry(t, e, theirs.ID), "erasure")
	})
}

// metricEntries pages through the module's metric feed after after, two
// changes a call, and returns u's changes.
func metricEntries(tb testing.TB, e *env, after activity.ChangeCursor, u *user) []activity.MetricSlotChange {
	tb.Helper()
	var out []activity.MetricSlotChange
	for {
		page, err := e.mod.MetricChanges(context.Background(), after, 2)
		require.NoError(tb, err)
		for _, c := range page {
			require.True(tb, c.Cursor().After(after), "%q after %q", c.Cursor(), after)
			after = c.Cursor()
			if c.UserID == u.ID {
				out = append(out, c)
			}
		}
		if len(page) < 2 {
			return out
		}
	}
}

// TestMetricChanges follows metric batches into the module's metric feed:
// each slot they add to, with its totals, stamped by the store's clock.
func TestMetricChanges(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		for _, limit := range []int{0, activity.MaxChanges + 1} {
			_, err := e.mod.MetricChanges(context.Background(), activity.ChangeCursor{}, limit)
			ae, ok := apperr.As(err)
			require.True(t, ok, "an apperr error for limit %d: %v", limit, err)
			assert.Equal(t, apperr.Invalid, ae.Kind)
			assert.Contains(t, ae.Fields, "limit")
		}

		before := time.Now().Truncate(time.Microsecond)
		hour := t0.Add(-time.Hour)
		e.post(t, e.a, sample("steps", 120, hour), sample("steps", 80, hour.Add(10*time.Minute)),
			sample("heart_rate", 70, hour))
		e.post(t, e.b, sample("steps", 1, hour))
		got := metricEntries(t, e, activity.ChangeCursor{}, e.a)
		require.Len(t, got, 2)
		for _, c := range got {
			assert.False(t, c.ChangedAt.Before(before), "stamped when stored: %v", c.ChangedAt)
			assert.Equal(t, time.UTC, c.ChangedAt.Location())
		}
		assert.Equal(t, activity.MetricSlotChange{UserID: e.a.ID, Metric: "heart_rate", SlotStart: hour, Sum: 70, Count: 1,
			Min: 70, Max: 70, ChangedAt: got[0].ChangedAt}, got[0])
		assert.Equal(t, activity.MetricSlotChange{UserID: e.a.ID, Metric: "steps", SlotStart: hour, Sum: 200, Count: 2,
			Min: 80, Max: 120, ChangedAt: got[1].ChangedAt}, got[1])

		old := t0.AddDate(0, 0, -30)
		e.post(t, e.a, sample("steps", 500, old))
		late := metricEntries(t, e, got[1].Cursor(), e.a)
		require.Len(t, late, 1, "a late sample of an old day")
		assert.Equal(t, old, late[0].SlotStart)
		assert.EqualValues(t, 500, late[0].Sum)
	})
}
