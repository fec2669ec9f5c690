package etl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/migrations"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

var testKey = []byte("0123456789abcdef-test-pseudonyms")

var errCrash = errors.New("crash inside a batch")

// warehouse returns a freshly migrated, empty warehouse of the dialect.
func warehouse(t *testing.T, dialect string) *database.DB {
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

func loader(t *testing.T, wh *database.DB, u fakeUsers, w fakeWorkouts, batch int) *Loader {
	t.Helper()
	l, err := NewLoader(LoaderDeps{Warehouse: wh, Users: u, Workouts: w, PseudonymKey: testKey, Batch: batch})
	require.NoError(t, err)
	return l
}

// contents is every warehouse row, for comparing two warehouses.
func contents(t *testing.T, wh *database.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	var users []dimUser
	require.NoError(t, wh.Read(context.Background()).Order("user_key").Find(&users).Error)
	for _, u := range users {
		out["dim_user"] = append(out["dim_user"], fmt.Sprint(u.UserKey, u.Role, u.SignupDate, u.Timezone, u.ChangedAt.UTC()))
	}
	var facts []factWorkout
	require.NoError(t, wh.Read(context.Background()).Order("workout_id").Find(&facts).Error)
	for _, f := range facts {
		end := "-"
		if f.EndTime != nil {
			end = f.EndTime.UTC().String()
		}
		out["fact_workouts"] = append(out["fact_workouts"], fmt.Sprint(f.WorkoutID, f.UserKey, f.DateKey, f.WorkoutType,
			f.StartTime.UTC(), end, f.DurationS, f.CaloriesBurned, f.Source, f.ChangedAt.UTC()))
	}
	return out
}

// Random inserts, updates and deletes in the sources, loaded by any
// sequence of incremental runs — some of them failing midway — leave the
// warehouse equal to a full load of the sources into a fresh one.
func TestIncrementalRunsEqualAFullLoad(t *testing.T) {
	t.Parallel()
	eachWarehouse(t, func(t *testing.T, dialect string) {
		for seed := range uint64(4) {
			t.Run("seed_"+strconv.FormatUint(seed, 10), func(t *testing.T) {
				rnd := rand.New(rand.NewPCG(seed, 42))
				users, workouts := newSources()
				clk := &clock{t: time.Date(2026, 11, 1, 22, 0, 0, 0, time.UTC)}
				wh := warehouse(t, dialect)
				// No lag window, or one of a millisecond (the fake clock ticks
				// 0–2 ms a change): the default one would re-read everything.
				inc, err := NewLoader(LoaderDeps{Warehouse: wh, Users: users, Workouts: workouts, PseudonymKey: testKey,
					Batch: 1 + rnd.IntN(7), Lag: []time.Duration{-1, time.Millisecond}[seed%2]})
				require.NoError(t, err)
				zones := []string{"UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo"}
				var ids []string
				for step := range 300 {
					switch r := rnd.IntN(100); {
					case r < 10: // a new user, or a changed one
						id := "u" + strconv.Itoa(rnd.IntN(12))
						at := clk.tick(rnd.IntN(3))
						users.put(id, UserChange{UserID: id, Role: []string{"customer", "instructor"}[rnd.IntN(2)],
							Timezone: zones[rnd.IntN(len(zones))], SignupAt: at.Add(-time.Hour), ChangedAt: at})
					case r < 13: // an erasure: the user and their workouts
						id := "u" + strconv.Itoa(rnd.IntN(12))
						u, ok := users.get(id)
						if !ok || u.Deleted {
							continue
						}
						at := clk.tick(rnd.IntN(3))
						u.Deleted, u.ChangedAt = true, at
						users.put(id, u)
						for _, wid := range ids {
							if w, ok := workouts.get(wid); ok && w.UserID == id && !w.Deleted {
								workouts.put(wid, WorkoutChange{ID: wid, UserID: id, ChangedAt: clk.tick(rnd.IntN(2)), Deleted: true})
							}
						}
					case r < 20: // an account closed, or reopened (a deletion that failed)
						id := "u" + strconv.Itoa(rnd.IntN(12))
						if u, ok := users.get(id); ok {
							u.Deleted, u.ChangedAt = !u.Deleted, clk.tick(rnd.IntN(3))
							users.put(id, u)
						}
					case r < 60: // a new workout
						id := "w" + strconv.Itoa(step)
						ids = append(ids, id)
						at := clk.tick(rnd.IntN(3))
						start := at.Add(-time.Duration(rnd.IntN(72)) * time.Hour)
						end := start.Add(time.Duration(10+rnd.IntN(80)) * time.Minute)
						workouts.put(id, WorkoutChange{ID: id, UserID: "u" + strconv.Itoa(rnd.IntN(12)),
							WorkoutType: []string{"running", "yoga", "hiit"}[rnd.IntN(3)], StartTime: start, EndTime: &end,
							Duration: int64(end.Sub(start) / time.Second), CaloriesBurned: float64(rnd.IntN(900)),
							Source: "manual", ChangedAt: at})
					case r < 80 && len(ids) > 0: // an edit
						id := ids[rnd.IntN(len(ids))]
						if w, ok := workouts.get(id); ok && !w.Deleted {
							w.CaloriesBurned, w.ChangedAt = float64(rnd.IntN(900)), clk.tick(rnd.IntN(3))
							workouts.put(id, w)
						}
					case r < 88 && len(ids) > 0: // a deletion
						id := ids[rnd.IntN(len(ids))]
						if w, ok := workouts.get(id); ok && !w.Deleted {
							workouts.put(id, WorkoutChange{ID: id, UserID: w.UserID, ChangedAt: clk.tick(rnd.IntN(3)), Deleted: true})
						}
					default: // a run, which fails midway now and then: a feed
						// goes away, or the loader dies inside a batch's
						// transaction after writing its rows
						switch rnd.IntN(6) {
						case 0:
							workouts.failAfter = 1 + rnd.IntN(3)
						case 1:
							n := rnd.IntN(4)
							inc.crash = func(string) error {
								if n--; n < 0 {
									return errCrash
								}
								return nil
							}
						}
						_, err := inc.Run(context.Background(), false)
						workouts.failAfter, inc.crash = 0, nil
						if err != nil {
							require.True(t, errors.Is(err, errFeedDown) || errors.Is(err, errCrash), "%v", err)
						}
					}
				}
				_, err = inc.Run(context.Background(), false)
				require.NoError(t, err)
				fresh := warehouse(t, dialect)
				_, err = loader(t, fresh, users, workouts, DefaultBatch).Run(context.Background(), true)
				require.NoError(t, err)
				want := contents(t, fresh)
				require.NotEmpty(t, want["fact_workouts"])
				assert.Equal(t, want, contents(t, wh))

				_, err = inc.Run(context.Background(), false)
				require.NoError(t, err)
				assert.Equal(t, want, contents(t, wh), "another run changes nothing")
				_, err = inc.Run(context.Background(), true)
				require.NoError(t, err)
				assert.Equal(t, want, contents(t, wh), "a full run over an incremental one")
			})
		}
	})
}

// Users appear by pseudonym only, facts are dated by the user's local
// day, and an erased user takes their facts with them.
func TestLoadTransformsAndErases(t *testing.T) {
	t.Parallel()
	eachWarehouse(t, func(t *testing.T, dialect string) {
		users, workouts := newSources()
		wh := warehouse(t, dialect)
		// No lag window, so that the counts are exactly this run's changes.
		l, err := NewLoader(LoaderDeps{Warehouse: wh, Users: users, Workouts: workouts, PseudonymKey: testKey, Batch: 2, Lag: -1})
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
		assert.Equal(t, 1, n)
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
