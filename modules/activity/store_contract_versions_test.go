package activity

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contractStaleUpdate: an update names the version it read, so a write
// based on a stale read — an edit racing the end of the workout, or
// another edit — fails with ErrWorkoutChanged instead of undoing the other.
func contractStaleUpdate(t *testing.T, s Store) {
	u := contractUser(t, "stale")
	w := contractActive(u, "s1", ct0)
	contractCreate(t, s, w)
	read, err := s.Workout(sctx, w.ID)
	require.NoError(t, err)

	end := ct0.Add(30 * time.Minute)
	ended := *read
	ended.EndTime, ended.Duration, ended.UpdatedAt = &end, 1800, end
	require.NoError(t, s.EndWorkout(sctx, &ended))

	stale := *read
	stale.Notes, stale.UpdatedAt = "felt strong", end.Add(time.Minute)
	require.ErrorIs(t, s.UpdateWorkout(sctx, &stale), ErrWorkoutChanged, "the edit read the workout before it ended")
	got, err := s.Workout(sctx, w.ID)
	require.NoError(t, err)
	require.NotNil(t, got.EndTime, "the end stays")
	assert.Equal(t, "", got.Notes)

	fresh := *got
	fresh.Notes = "felt strong"
	require.NoError(t, s.UpdateWorkout(sctx, &fresh), "an edit of what is stored goes through")
	assert.Equal(t, got.Version+1, fresh.Version, "the caller holds the new version")
	require.ErrorIs(t, s.UpdateWorkout(sctx, got), ErrWorkoutChanged, "the version before that edit is stale")
	fresh.Notes = "and again"
	require.NoError(t, s.UpdateWorkout(sctx, &fresh), "a caller may edit on from the version it holds")

	missing := contractWorkout(u, "none", ct0)
	assert.ErrorIs(t, s.UpdateWorkout(sctx, missing), ErrWorkoutNotFound)
}

// sqlRacingUpdates: of edits racing from one read, exactly one lands. SQL
// only: MongoDB applies the conditional update atomically too, but FerretDB
// v1 (the test server) may let two through (see store_mongo.go).
func sqlRacingUpdates(t *testing.T, s Store) {
	u := contractUser(t, "race")
	w := contractWorkout(u, "r1", ct0)
	contractCreate(t, s, w)
	base, err := s.Workout(sctx, w.ID)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			mine := *base
			mine.Notes = string(rune('a' + i))
			errs[i] = s.UpdateWorkout(sctx, &mine)
		})
	}
	wg.Wait()
	landed := 0
	for _, err := range errs {
		if err == nil {
			landed++
		} else {
			assert.ErrorIs(t, err, ErrWorkoutChanged)
		}
	}
	assert.Equal(t, 1, landed)
}
