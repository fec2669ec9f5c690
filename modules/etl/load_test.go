package etl

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/migrations"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/testkit"
)

var testKey = []byte("0123456789abcdef-test-pseudonyms")

var errCrash = errors.New("crash inside a batch")

// warehouse returns a freshly migrated, empty warehouse of the dialect.
func warehouse(t testing.TB, dialect string) *database.DB {
	t.Helper()
	db := dbtest.Empty(t, dialect)
	fsys, err := Migrations(dialect)
	require.NoError(t, err)
	_, err = db.MigrateTable(context.Background(), fsys, migrationsTable)
	require.NoError(t, err)
	return db
}

func eachWarehouse(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range []string{database.SQLite, database.Postgres} {
		t.Run(d, func(t *testing.T) { t.Parallel(); fn(t, d) })
	}
}

func loader(t *testing.T, wh *database.DB, src *sources, batch int) *Loader {
	t.Helper()
	l, err := NewLoader(LoaderDeps{Warehouse: wh, Feeds: src.feeds(), PseudonymKey: testKey, Batch: batch})
	require.NoError(t, err)
	return l
}

// Users appear by pseudonym only, facts are dated by the user's local
// day, and an erased user takes their facts with them.
func TestLoadTransformsAndErases(t *testing.T) {
	t.Parallel()
	eachWarehouse(t, func(t *testing.T, dialect string) {
		src := newSources()
		users, workouts := src.users, src.workouts
		wh := warehouse(t, dialect)
		// No lag window, so that the counts are exactly this run's changes.
		l, err := NewLoader(LoaderDeps{Warehouse: wh, Feeds: src.feeds(), PseudonymKey: testKey, Batch: 2, Lag: -1})
		require.NoError(t, err)
		at := time.Date(2026, 11, 20, 23, 30, 0, 0, time.UTC) // already the 21st in Berlin
		users.put("alice", UserChange{UserID: "alice", Role: "customer", Timezone: "Europe/Berlin", SignupAt: at, ChangedAt: at})
		users.put("bob", UserChange{UserID: "bob", Role: "instructor", Timezone: "UTC", SignupAt: at, ChangedAt: at})
		end := at.Add(45 * time.Minute)
		for i, u := range []string{"alice", "bob", "alice"} {
			id := "w" + strconv.Itoa(i)
			workouts.put(id, WorkoutChange{ID: id, UserID: u, WorkoutType: "running", StartTime: at, EndTime: &end,
				Duration: 2700, CaloriesBurned: 400, Source: "manual", ChangedAt: at.Add(time.Duration(i) * time.Second)})
		}
		st, err := l.Run(context.Background(), false)
		require.NoError(t, err)
		assert.Equal(t, Counts{Read: 3, Written: 3}, *st.Tables["fact_workouts"])
		assert.Equal(t, Cursor{At: at.Add(2 * time.Second), ID: "w2"}, st.Watermarks[SourceWorkouts])

		var facts []factWorkout
		require.NoError(t, wh.Read(context.Background()).Order("workout_id").Find(&facts).Error)
		require.Len(t, facts, 3)
		alice := pseudonym(testKey, "alice")
		assert.Len(t, alice, 32)
		assert.NotContains(t, alice, "alice")
		assert.Equal(t, alice, facts[0].UserKey)
		assert.Equal(t, 20261121, facts[0].DateKey, "Berlin's day")
		assert.Equal(t, 20261120, facts[1].DateKey, "UTC's day")
		var day dimDate
		require.NoError(t, wh.Read(context.Background()).Where("date_key = ?", 20261121).Take(&day).Error)
		assert.Equal(t, dimDate{DateKey: 20261121, Day: "2026-11-21", Year: 2026, Quarter: 4, Month: 11, IsoYear: 2026,
			IsoWeek: 47, DayOfWeek: 6, IsWeekend: true}, day)

		users.put("alice", UserChange{UserID: "alice", Role: "customer", Timezone: "Europe/Berlin", SignupAt: at,
			ChangedAt: at.Add(time.Minute), Deleted: true})
		st, err = l.Run(context.Background(), false)
		require.NoError(t, err)
		assert.Equal(t, 2, st.Tables["fact_workouts"].Written, "alice's two facts")
		var left []factWorkout
		require.NoError(t, wh.Read(context.Background()).Find(&left).Error)
		require.Len(t, left, 1)
		assert.Equal(t, pseudonym(testKey, "bob"), left[0].UserKey)
		var n int64
		require.NoError(t, wh.Read(context.Background()).Model(&dimUser{}).Count(&n).Error)
		assert.Equal(t, int64(1), n)

		// A change of hers read after the erasure (her workouts' own
		// tombstones are late) stays out.
		workouts.put("w9", WorkoutChange{ID: "w9", UserID: "alice", WorkoutType: "yoga", StartTime: at, EndTime: &end,
			Duration: 2700, Source: "manual", ChangedAt: at.Add(2 * time.Minute)})
		st, err = l.Run(context.Background(), false)
		require.NoError(t, err)
		assert.Equal(t, Counts{Read: 1, Written: 0}, *st.Tables["fact_workouts"])
		require.NoError(t, wh.Read(context.Background()).Model(&factWorkout{}).Count(&n).Error)
		assert.Equal(t, int64(1), n)

		// Her deletion fails and her account is reopened: her facts, all
		// three, come back.
		users.put("alice", UserChange{UserID: "alice", Role: "customer", Timezone: "Europe/Berlin", SignupAt: at,
			ChangedAt: at.Add(3 * time.Minute)})
		st, err = l.Run(context.Background(), false)
		require.NoError(t, err)
		assert.True(t, st.Reread)
		require.NoError(t, wh.Read(context.Background()).Model(&factWorkout{}).Where("user_key = ?", alice).Count(&n).Error)
		assert.Equal(t, int64(3), n)
		st, err = l.Run(context.Background(), false)
		require.NoError(t, err)
		assert.False(t, st.Reread, "once")
	})
}

func TestOpenWarehouseMakesItsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := config.Default().Database
	wh, err := OpenWarehouse(context.Background(), cfg, dir, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = wh.Close() })
	var n int64
	require.NoError(t, wh.Read(context.Background()).Table("fact_workouts").Count(&n).Error)
	assert.FileExists(t, dir+"/warehouse.db")
	again, err := OpenWarehouse(context.Background(), cfg, t.TempDir(), slog.New(slog.DiscardHandler))
	require.NoError(t, err, "a second warehouse elsewhere")
	_ = again.Close()
}

// The warehouse may be given the operational PostgreSQL database: its
// schema keeps its own version table and neither disturbs the other.
func TestTheWarehouseCanShareTheOperationalDatabase(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		fsys, err := Migrations(db.Dialect())
		require.NoError(t, err)
		n, err := db.MigrateTable(ctx, fsys, migrationsTable)
		require.NoError(t, err)
		files, err := fs.Glob(fsys, "*.sql")
		require.NoError(t, err)
		assert.Equal(t, len(files), n)
		n, err = db.MigrateTable(ctx, fsys, migrationsTable)
		require.NoError(t, err)
		assert.Zero(t, n, "applied once")
		ops, err := migrations.FS(db.Dialect())
		require.NoError(t, err)
		pending, err := db.Pending(ctx, ops)
		require.NoError(t, err)
		assert.False(t, pending, "the operational schema is as it was")
	})
}

// The lag window: a change committed late (its changed_at before the
// previous load's read) is read by the next load; after a burst of changes
// long ago, a load reads nothing again.
func TestTheLagWindow(t *testing.T) {
	t.Parallel()
	src := newSources()
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	now := at
	src.users.put("u1", UserChange{UserID: "u1", Role: "customer", Timezone: "UTC", SignupAt: at, ChangedAt: at.Add(-10 * time.Minute)})
	l, err := NewLoader(LoaderDeps{Warehouse: warehouse(t, database.SQLite), Feeds: src.feeds(), PseudonymKey: testKey,
		Lag: 5 * time.Minute, Now: func() time.Time { return now }})
	require.NoError(t, err)
	read := func() int {
		t.Helper()
		st, err := l.Run(context.Background(), false)
		require.NoError(t, err)
		if c := st.Tables["dim_user"]; c != nil {
			return c.Read
		}
		return 0
	}
	assert.Equal(t, 1, read())
	// A change made a minute before that load, committed after it.
	src.users.put("u2", UserChange{UserID: "u2", Role: "customer", Timezone: "UTC", SignupAt: at, ChangedAt: at.Add(-time.Minute)})
	now = at.Add(time.Minute)
	assert.Equal(t, 1, read(), "u2, late; not u1, older than a lag before the last load began")
	now = at.Add(time.Hour)
	assert.Equal(t, 1, read(), "u2 again: within a lag before the last load began")
	now = at.Add(2 * time.Hour)
	assert.Equal(t, 0, read(), "nothing: the changes are long past")
}

// A paced load (as in the server) pauses after each batch; cancelled
// during a pause, it stops at once, the batches before kept.
func TestAPacedLoadStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	src := newSources()
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		id := "u" + strconv.Itoa(i)
		src.users.put(id, UserChange{UserID: id, Role: "customer", Timezone: "UTC", SignupAt: at, ChangedAt: at.Add(time.Duration(i) * time.Second)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	wh := warehouse(t, database.SQLite)
	l, err := NewLoader(LoaderDeps{Warehouse: wh, Feeds: src.feeds(), PseudonymKey: testKey, Batch: 2, Lag: -1, Pace: 1e9})
	require.NoError(t, err)
	go func() { // once the first batch is in, the load is in its pause: cancel it
		defer cancel()
		for {
			var n int64
			if wh.Read(ctx).Model(&dimUser{}).Count(&n).Error != nil || n > 0 {
				return
			}
			runtime.Gosched()
		}
	}()
	_, err = l.Run(ctx, false)
	require.ErrorIs(t, err, context.Canceled)
	var n int64
	require.NoError(t, wh.Read(context.Background()).Model(&dimUser{}).Count(&n).Error)
	assert.Equal(t, int64(2), n, "the first batch")
}

// A load into empty fact tables builds their secondary indexes after the
// feeds. Cut short before, it leaves them missing: the next run creates
// them at its start (its tables are not empty any more).
func TestAFirstLoadBuildsTheFactIndexesAfterTheFeeds(t *testing.T) {
	t.Parallel()
	eachWarehouse(t, func(t *testing.T, dialect string) {
		wh := warehouse(t, dialect)
		migrated := indexDefs(t, wh)
		for _, ix := range deferredIndexes {
			require.Contains(t, migrated, ix.name)
		}
		src := newSources()
		at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
		src.users.put("u1", UserChange{UserID: "u1", Role: "customer", Timezone: "UTC", SignupAt: at, ChangedAt: at})
		for i := range 2 {
			start := at.Add(time.Duration(i) * time.Hour)
			src.metrics.put(slotID("u1", "steps", start), MetricChange{UserID: "u1", Metric: "steps", SlotStart: start,
				Sum: 100, Count: 1, Min: 100, Max: 100, ChangedAt: start})
		}
		l := loader(t, wh, src, 1)
		crashAt := func(source string, batch int) {
			n := 0
			l.crash = func(s string) error {
				if n += map[bool]int{true: 1}[s == source]; n == batch {
					return errCrash
				}
				return nil
			}
		}
		crashAt(SourceMetrics, 2) // the first day's batch is in
		_, err := l.Run(context.Background(), false)
		require.ErrorIs(t, err, errCrash)
		assert.NotContains(t, indexDefs(t, wh), "fact_daily_metrics_metric_date", "dropped while the feeds load")
		src.users.put("u1", UserChange{UserID: "u1", Role: "admin", Timezone: "UTC", SignupAt: at, ChangedAt: at.Add(time.Minute)})
		crashAt(SourceUsers, 1)
		_, err = l.Run(context.Background(), false)
		require.ErrorIs(t, err, errCrash)
		name := "fact_daily_metrics_metric_date"
		assert.Equal(t, migrated[name], indexDefs(t, wh)[name], "created at the start of the next run: its table has rows")
		l.crash = nil
		_, err = l.Run(context.Background(), false)
		require.NoError(t, err)
		assert.Equal(t, migrated, indexDefs(t, wh))
	})
}

// indexDefs are the warehouse's secondary indexes' definitions by name.
func indexDefs(t *testing.T, wh *database.DB) map[string]string {
	t.Helper()
	query := "SELECT name, sql AS def FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
	if wh.Dialect() == database.Postgres {
		query = "SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() AND indexname NOT LIKE '%_pkey'"
	}
	var rows []struct{ Name, Def string }
	require.NoError(t, wh.Read(context.Background()).Raw(query).Scan(&rows).Error)
	out := map[string]string{}
	for _, r := range rows {
		out[r.Name] = r.Def
	}
	return out
}

// Facts loaded before their user (the users feed behind the others) were
// dated in UTC: when the user comes, in another zone, they are dated
// again; a user who comes first has nothing to redate.
func TestFactsLoadedBeforeTheirUserAreDatedInTheirZone(t *testing.T) {
	t.Parallel()
	eachWarehouse(t, func(t *testing.T, dialect string) {
		src := newSources()
		at := time.Date(2026, 11, 20, 21, 0, 0, 0, time.UTC) // the next day in Kolkata
		end := at.Add(time.Hour)
		src.workouts.put("w1", WorkoutChange{ID: "w1", UserID: "u1", WorkoutType: "yoga", StartTime: at, EndTime: &end,
			Duration: 3600, Source: "manual", ChangedAt: at})
		src.metrics.put(slotID("u1", "steps", at), MetricChange{UserID: "u1", Metric: "steps", SlotStart: at,
			Sum: 100, Count: 1, Min: 100, Max: 100, ChangedAt: at})
		now := func() time.Time { return at.Add(48 * time.Hour) }
		wh := warehouse(t, dialect)
		l, err := NewLoader(LoaderDeps{Warehouse: wh, Feeds: src.feeds(), PseudonymKey: testKey, Lag: -1, Now: now})
		require.NoError(t, err)
		_, err = l.Run(context.Background(), false)
		require.NoError(t, err)
		src.users.put("u1", UserChange{UserID: "u1", Role: "customer", Timezone: "Asia/Kolkata", SignupAt: at, ChangedAt: end})
		_, err = l.Run(context.Background(), false)
		require.NoError(t, err)
		want := fullLoad(t, dialect, src.feeds(), now)
		assert.Contains(t, want["fact_daily_metrics"][0], "20261121")
		sameWarehouse(t, want, wh, "after the user came")
	})
}

// Rows written as new that are there after all are upserted (on
// PostgreSQL the COPY straight into the table fails on the key and is
// taken back).
func TestRowsThoughtNewThatAreThereAreUpserted(t *testing.T) {
	t.Parallel()
	eachWarehouse(t, func(t *testing.T, dialect string) {
		wh := warehouse(t, dialect)
		l := loader(t, wh, newSources(), 0)
		write := func(rows ...[]any) {
			require.NoError(t, l.tx(context.Background(), func(tx *gorm.DB) error {
				return l.write(tx, "stage_metric_days", stageCols, stageKey, rows, nil)
			}))
		}
		write([]any{"k1", "steps", 20261120, []byte{1}})
		write([]any{"k1", "steps", 20261120, []byte{2}}, []any{"k1", "steps", 20261121, []byte{3}})
		var got []struct {
			DateKey int
			Slots   []byte
		}
		require.NoError(t, wh.Read(context.Background()).Table("stage_metric_days").Order("date_key").Find(&got).Error)
		require.Len(t, got, 2)
		assert.Equal(t, []byte{2}, got[0].Slots)
		assert.Equal(t, []byte{3}, got[1].Slots)
	})
}

// A load's transactions on PostgreSQL do not wait for the WAL flush, even
// where the server's default is to wait.
func TestLoadsOnPostgreSQLCommitWithoutWaitingForTheDisk(t *testing.T) {
	t.Parallel()
	dsn := testkit.Postgres(t)
	cfg := config.Default().Database
	cfg.Driver, cfg.DSN = database.Postgres, dsn
	open := func() *database.DB {
		db, err := database.Open(cfg, t.TempDir(), slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	admin := open()
	require.NoError(t, admin.Tx(context.Background(), func(tx *gorm.DB) error {
		return tx.Exec(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = on', current_database()); END $$`).Error
	}))
	wh := open() // its connections start with the database's setting
	fsys, err := Migrations(database.Postgres)
	require.NoError(t, err)
	_, err = wh.MigrateTable(context.Background(), fsys, migrationsTable)
	require.NoError(t, err)
	setting := func(db *gorm.DB) string {
		var v string
		require.NoError(t, db.Raw("SHOW synchronous_commit").Scan(&v).Error)
		return v
	}
	assert.Equal(t, "on", setting(wh.Read(context.Background())), "the server's default here")
	l := loader(t, wh, newSources(), 0)
	require.NoError(t, l.tx(context.Background(), func(tx *gorm.DB) error {
		assert.Equal(t, "off", setting(tx))
		return nil
	}))
}
