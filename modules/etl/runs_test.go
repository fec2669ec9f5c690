package etl

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/breaker"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

func TestRunsAreRecordedOneAtATime(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		src := newSources()
		users, workouts := src.users, src.workouts
		at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
		users.put("u1", UserChange{UserID: "u1", Role: "customer", Timezone: "UTC", SignupAt: at, ChangedAt: at})
		end := at.Add(time.Hour)
		workouts.put("w1", WorkoutChange{ID: "w1", UserID: "u1", WorkoutType: "yoga", StartTime: at, EndTime: &end,
			Duration: 3600, Source: "manual", ChangedAt: at})
		r := NewRunner(db, loader(t, warehouse(t, db.Dialect()), src, 10), "replica-a", time.Hour, slog.New(slog.DiscardHandler))
		t.Cleanup(func() { _ = r.Close() })

		first, err := r.Run(ctx, TriggerCLI, false)
		require.NoError(t, err)
		assert.Equal(t, StatusSucceeded, first.Status)
		assert.Equal(t, TriggerCLI, first.Trigger)
		require.NotNil(t, first.FinishedAt)
		assert.Equal(t, Counts{Read: 1, Written: 1}, *first.Stats.Tables["fact_workouts"])
		assert.Equal(t, Cursor{At: at, ID: "w1"}, first.Stats.Watermarks[SourceWorkouts])

		// Another replica's load is running: refused, until it is old
		// enough to be taken for abandoned.
		other := runRow{ID: "01900000-0000-7000-8000-000000000001", Trigger: TriggerCron, Status: StatusRunning,
			StartedAt: time.Now().UTC().Add(-time.Minute), Stats: "{}", Replica: "replica-b"}
		require.NoError(t, db.Tx(ctx, func(tx *gorm.DB) error { return tx.Create(&other).Error }))
		_, err = r.Run(ctx, TriggerAdmin, false)
		require.ErrorIs(t, err, ErrRunning)
		require.NoError(t, db.Tx(ctx, func(tx *gorm.DB) error {
			return tx.Model(&runRow{}).Where("id = ?", other.ID).Update("started_at", time.Now().UTC().Add(-2*time.Hour)).Error
		}))
		second, err := r.Run(ctx, TriggerAdmin, true)
		require.NoError(t, err)
		assert.True(t, second.Full)

		workouts.failAfter = 1
		third, err := r.Run(ctx, TriggerCron, false)
		require.ErrorIs(t, err, errFeedDown)
		assert.Equal(t, StatusFailed, third.Status)
		assert.Contains(t, third.Error, "feed down")

		runs, err := r.Runs(ctx, "", 10)
		require.NoError(t, err)
		require.Len(t, runs, 4)
		assert.Equal(t, []string{third.ID, second.ID, first.ID, other.ID}, []string{runs[0].ID, runs[1].ID, runs[2].ID, runs[3].ID})
		assert.Equal(t, StatusAbandoned, runs[3].Status)
		page, err := r.Runs(ctx, second.ID, 10)
		require.NoError(t, err)
		require.Len(t, page, 2)
		assert.Equal(t, first.ID, page[0].ID)
		_, err = r.Runs(ctx, "01900000-0000-7000-8000-00000000ffff", 10)
		assert.Error(t, err)
	})
}

// A warehouse that is down fails its load, opens the breaker, and further
// loads are refused at once (503 warehouse_unavailable) — the operational
// database, and etl_runs, unaffected.
func TestTheWarehouseBreaker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	src := newSources()
	users := src.users
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	users.put("u1", UserChange{UserID: "u1", Role: "customer", Timezone: "UTC", SignupAt: at, ChangedAt: at})
	wh := warehouse(t, db.Dialect())
	b := breaker.New("warehouse-test", 1, time.Hour, breaker.Options{Backend: "warehouse"})
	l, err := NewLoader(LoaderDeps{Warehouse: wh, Breaker: b, Feeds: src.feeds(), PseudonymKey: testKey})
	require.NoError(t, err)
	r := NewRunner(db, l, "replica-a", time.Hour, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { _ = r.Close() })
	_, err = r.Run(ctx, TriggerCLI, false)
	require.NoError(t, err)

	require.NoError(t, wh.Close()) // the warehouse goes away
	failed, err := r.Run(ctx, TriggerCron, false)
	require.Error(t, err)
	assert.Equal(t, StatusFailed, failed.Status)
	assert.Equal(t, breaker.StateOpen, b.State())

	_, err = r.Start(ctx, TriggerAdmin, false)
	require.ErrorIs(t, err, ErrWarehouseUnavailable)
	again, err := r.Run(ctx, TriggerCron, false)
	require.ErrorIs(t, err, ErrWarehouseUnavailable, "the next slot fails at once")
	assert.Equal(t, StatusFailed, again.Status)
	assert.Contains(t, again.Error, "warehouse_unavailable")
	runs, err := r.Runs(ctx, "", 10)
	require.NoError(t, err)
	assert.Len(t, runs, 3, "every slot is on record")
}

// A load stops after maxRun, recorded as failed; the next run carries on.
func TestALoadStopsAfterMaxRun(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	src := newSources()
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	for i := range 3 {
		id := "u" + strconv.Itoa(i)
		src.users.put(id, UserChange{UserID: id, Role: "customer", Timezone: "UTC", SignupAt: at, ChangedAt: at.Add(time.Duration(i) * time.Second)})
	}
	// Paced without end after its first batch: only maxRun stops it.
	l, err := NewLoader(LoaderDeps{Warehouse: warehouse(t, database.SQLite), Feeds: src.feeds(), PseudonymKey: testKey,
		Batch: 2, Lag: -1, Pace: 1e9})
	require.NoError(t, err)
	r := NewRunner(db, l, "replica-a", 2*time.Second, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { _ = r.Close() })
	run, err := r.Run(context.Background(), TriggerCLI, false)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, StatusFailed, run.Status)
	assert.Contains(t, run.Error, "etl.max_run")
	assert.Equal(t, Counts{Read: 2, Written: 2}, *run.Stats.Tables["dim_user"], "the first batch")
	l.pace = 0
	next, err := r.Run(context.Background(), TriggerCLI, false)
	require.NoError(t, err)
	assert.Equal(t, Counts{Read: 1, Written: 1}, *next.Stats.Tables["dim_user"], "the rest")
}
