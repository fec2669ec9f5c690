package activity

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

func TestSQLStore(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		store := NewSQLStore(db)
		runStoreContract(t, func(*testing.T) Store { return store })

		t.Run("undoes_every_chunk_when_a_later_one_fails", func(t *testing.T) {
			t.Parallel()
			sqlAllOrNothingMidBatch(t, db, store)
		})
		t.Run("lets_one_of_racing_updates_from_one_version_land", func(t *testing.T) {
			t.Parallel()
			sqlRacingUpdates(t, store)
		})
		t.Run("refuses_reopening_a_workout_while_another_is_active", func(t *testing.T) {
			t.Parallel()
			u := contractUser(t, "reopen")
			ended, active := contractWorkout(u, "w1", ct0), contractActive(u, "w2", ct0.Add(time.Hour))
			contractCreate(t, store, ended, active)
			reopened := *ended
			reopened.EndTime = nil
			var conflict *ActiveWorkoutError
			require.ErrorAs(t, store.UpdateWorkout(sctx, &reopened), &conflict)
			assert.Equal(t, active.ID, conflict.SessionID)
		})
	})
}

// sqlAllOrNothingMidBatch sends a batch of several INSERT chunks whose last
// sample the database refuses (SQLite stores a NaN as NULL, which NOT NULL
// refuses; PostgreSQL refuses a NUL byte in text): the chunks before it must
// be undone with their rollups.
func sqlAllOrNothingMidBatch(t *testing.T, db *database.DB, store *SQLStore) {
	u := contractUser(t, "midbatch")
	batch := make([]Sample, 0, 3*maxChunkRows+7)
	for i := range cap(batch) {
		batch = append(batch, contractSample("steps", time.Duration(i)*time.Second, 1, "phone", ""))
	}
	bad := &batch[len(batch)-1]
	if db.Dialect() == database.Postgres {
		bad.Source = "ph\x00ne"
	} else {
		bad.Value = math.NaN()
	}
	_, _, err := store.AddSamples(context.Background(), u, batch)
	require.Error(t, err)
	assert.Empty(t, contractStored(t, store, u))
	assert.Empty(t, contractSlots(t, store, u, "steps"))
	contractCheckHours(t, store, u, nil, "steps")

	batch[len(batch)-1] = contractSample("steps", -time.Second, 1, "phone", "")
	contractAdd(t, store, u, batch, len(batch), 0)
}
