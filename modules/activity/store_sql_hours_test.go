package activity

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/migrations"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

// sqlHourRow is a row of activity_metric_hours, or the same computed from
// activity_metric_slots.
type sqlHourRow struct {
	Metric     string
	SlotStart  int64
	ValueSum   float64
	ValueCount int64
	ValueMin   float64
	ValueMax   float64
}

// sqlHours reads a user's hourly rollups and the same summed from the
// 15-minute ones.
func sqlHours(tb testing.TB, db *database.DB, user string) (stored, fromSlots []sqlHourRow) {
	tb.Helper()
	const hour = `slot_start - ((slot_start % 3600000000) + 3600000000) % 3600000000`
	q := db.Read(context.Background())
	require.NoError(tb, q.Raw(`SELECT metric, slot_start, value_sum, value_count, value_min, value_max
		FROM activity_metric_hours WHERE user_id = ? ORDER BY metric, slot_start`, user).Scan(&stored).Error)
	require.NoError(tb, q.Raw(`SELECT metric, `+hour+` AS slot_start, SUM(value_sum) AS value_sum,
		CAST(SUM(value_count) AS BIGINT) AS value_count, MIN(value_min) AS value_min, MAX(value_max) AS value_max
		FROM activity_metric_slots WHERE user_id = ? GROUP BY metric, `+hour+` ORDER BY metric, slot_start`,
		user).Scan(&fromSlots).Error)
	return stored, fromSlots
}

// TestSQLHourRollups adds many random batches — new samples, repeats of
// stored ones, repeats within the batch, several metrics and sources, two
// callers at once — and checks after each round that the hourly rollups are
// the 15-minute ones summed per hour, and those the stored samples'.
func TestSQLHourRollups(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		store := NewSQLStore(db)
		for seed := range uint64(4) {
			t.Run(fmt.Sprint("seed_", seed), func(t *testing.T) {
				t.Parallel()
				u := contractUser(t, "hours")
				rng := mrand.New(mrand.NewPCG(seed, 77))
				pool := contractSamplesOver(rng, 3000, ct0.Add(-40*time.Hour), 80*time.Hour)
				for range 10 {
					batches, errs := [2][]Sample{}, [2]error{}
					var wg sync.WaitGroup
					for c := range batches {
						for range 1 + rng.IntN(400) {
							batches[c] = append(batches[c], pool[rng.IntN(len(pool))])
						}
						wg.Go(func() { _, _, errs[c] = store.AddSamples(sctx, u, batches[c]) })
					}
					wg.Wait()
					require.NoError(t, errs[0])
					require.NoError(t, errs[1])
					stored, fromSlots := sqlHours(t, db, u)
					require.NotEmpty(t, stored)
					require.Equal(t, fromSlots, stored, "hourly rollups are the slots summed per hour")
				}
				contractCheckRollups(t, store, u, "heart_rate", "steps")
			})
		}
	})
}

// migrationsBefore is fsys without the migrations from version on.
func migrationsBefore(tb testing.TB, fsys fs.FS, version string) fs.FS {
	tb.Helper()
	names, err := fs.Glob(fsys, "*.sql")
	require.NoError(tb, err)
	out := fstest.MapFS{}
	for _, name := range names {
		if strings.Compare(name, version) < 0 {
			data, err := fs.ReadFile(fsys, name)
			require.NoError(tb, err)
			out[name] = &fstest.MapFile{Data: data}
		}
	}
	return out
}

// TestSQLHourRollupsMigration checks 00010: its backfill sums the slots
// stored before it per hour (before 1970 too), and its Down drops the table.
func TestSQLHourRollupsMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, dialect := range []string{database.SQLite, database.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := dbtest.Empty(t, dialect)
			fsys, err := migrations.FS(dialect)
			require.NoError(t, err)
			_, err = db.Migrate(ctx, migrationsBefore(t, fsys, "00010"))
			require.NoError(t, err)

			q := 15 * time.Minute
			slots := map[string][]Slot{
				"heart_rate": {
					{Start: ct0, Sum: 120, Count: 2, Min: 50, Max: 70},
					{Start: ct0.Add(q), Sum: 80, Count: 1, Min: 80, Max: 80},
					{Start: ct0.Add(3 * q), Sum: 90, Count: 1, Min: 90, Max: 90},
					{Start: ct0.Add(4 * q), Sum: 10, Count: 1, Min: 10, Max: 10}, // the next hour
				},
				"steps": {
					{Start: time.Unix(-3600, 0).Add(q), Sum: 5, Count: 1, Min: 5, Max: 5}, // 1969-12-31 23:15
					{Start: time.Unix(-3600, 0).Add(3 * q), Sum: 7, Count: 2, Min: 3, Max: 4},
					{Start: time.Unix(0, 0), Sum: 1, Count: 1, Min: 1, Max: 1},
				},
			}
			require.NoError(t, db.Tx(ctx, func(tx *gorm.DB) error {
				for _, user := range []string{"u-migrated", "u-other"} {
					for metric, list := range slots {
						for _, sl := range list {
							err := tx.Exec(`INSERT INTO activity_metric_slots
								(user_id, metric, slot_start, value_sum, value_count, value_min, value_max)
								VALUES (?, ?, ?, ?, ?, ?, ?)`, user, metric, sl.Start.UnixMicro(), sl.Sum, sl.Count,
								sl.Min, sl.Max).Error
							if err != nil {
								return err
							}
						}
					}
				}
				return nil
			}))
			upTo10 := migrationsBefore(t, fsys, "00011") // later migrations stay out of the way
			applied, err := db.Migrate(ctx, upTo10)
			require.NoError(t, err)
			require.Equal(t, 1, applied)

			store := NewSQLStore(db)
			check := func(t *testing.T) {
				t.Helper()
				hr := contractBuckets(t, store, "u-migrated", "heart_rate", []time.Time{ct0, ct0.Add(time.Hour), ct0.Add(2 * time.Hour)})
				assert.Equal(t, []Slot{
					{Start: ct0, Sum: 290, Count: 4, Min: 50, Max: 90},
					{Start: ct0.Add(time.Hour), Sum: 10, Count: 1, Min: 10, Max: 10},
				}, hr)
				epoch := time.Unix(0, 0).UTC()
				steps := contractBuckets(t, store, "u-migrated", "steps", []time.Time{epoch.Add(-time.Hour), epoch, epoch.Add(time.Hour)})
				assert.Equal(t, []Slot{
					{Start: epoch.Add(-time.Hour), Sum: 12, Count: 3, Min: 3, Max: 5},
					{Start: epoch, Sum: 1, Count: 1, Min: 1, Max: 1},
				}, steps)
				stored, fromSlots := sqlHours(t, db, "u-other")
				assert.Equal(t, fromSlots, stored)
				assert.Len(t, stored, 4)
			}
			check(t)

			sqlDB, err := db.SQL()
			require.NoError(t, err)
			gooseDialect := goose.DialectSQLite3
			if dialect == database.Postgres {
				gooseDialect = goose.DialectPostgres
			}
			p, err := goose.NewProvider(gooseDialect, sqlDB, upTo10, goose.WithTableName("schema_migrations"))
			require.NoError(t, err)
			res, err := p.Down(ctx)
			require.NoError(t, err)
			require.Equal(t, "00010_activity_hour_rollups.sql", res.Source.Path)
			_, err = store.Buckets(ctx, "u-migrated", "steps", []time.Time{ct0, ct0.Add(time.Hour)})
			assert.Error(t, err, "the table is gone")
			_, err = store.Buckets(ctx, "u-migrated", "steps", []time.Time{ct0, ct0.Add(q)})
			assert.NoError(t, err, "the slots stay")

			_, err = db.Migrate(ctx, upTo10)
			require.NoError(t, err)
			check(t)
		})
	}
}

// TestSQLBucketsAnswerAsFoldedSlots checks that series from Buckets are
// byte for byte what folding the 15-minute rollups in Go gave before it,
// for hour and day buckets in zones of whole, half and three-quarter hours,
// across clock changes (New York and Berlin by an hour, Lord Howe by half
// an hour). Values are whole numbers (heart rate) or halves (weight): sums
// of such values are exact, so their order does not matter.
func TestSQLBucketsAnswerAsFoldedSlots(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		store := NewSQLStore(db)
		u := contractUser(t, "same-series")
		first := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		var samples []Sample
		for at, i := first, 0; at.Before(first.AddDate(0, 0, 40)); at, i = at.Add(7*time.Minute), i+1 {
			samples = append(samples,
				Sample{Metric: "heart_rate", Value: float64(50 + i%97), RecordedAt: at, Source: "watch"},
				Sample{Metric: "weight_kg", Value: 60 + float64(i%41)/2, RecordedAt: at.Add(3 * time.Minute)})
		}
		for i := 0; i < len(samples); i += 1000 {
			_, _, err := store.AddSamples(sctx, u, samples[i:min(i+1000, len(samples))])
			require.NoError(t, err)
		}
		for _, zone := range []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu",
			"Australia/Lord_Howe"} {
			loc, err := time.LoadLocation(zone)
			require.NoError(t, err)
			for d := 0; d < 40; d += 3 {
				from := time.Date(2026, 3, 1+d, 0, 0, 0, 0, loc)
				for _, p := range []struct {
					bucket string
					days   int
				}{{"hour", 1}, {"day", 7}, {"day", 30}} {
					starts := bucketStarts(p.bucket, from, from.AddDate(0, 0, p.days))
					for _, m := range []string{"heart_rate", "weight_kg"} {
						metric, _ := metricByName(m)
						slots, err := benchSlots(store, u, m, starts[0], starts[len(starts)-1])
						require.NoError(t, err)
						aggs, err := store.Buckets(sctx, u, m, starts)
						require.NoError(t, err)
						want, err := json.Marshal(toBuckets(metric, foldSlots(slots, starts)))
						require.NoError(t, err)
						got, err := json.Marshal(toBuckets(metric, aggs))
						require.NoError(t, err)
						require.Equal(t, string(want), string(got), "%s from %s, %d days of %s buckets",
							m, from.Format(time.DateOnly), p.days, p.bucket)
					}
				}
			}
		}
	})
}

// TestSQLBucketsFoldAndJoin runs both ways Buckets has of answering — the
// rows folded in Go, the aggregation in SQL — on every case of the contract,
// whichever Buckets would pick, and more buckets than a statement holds.
func TestSQLBucketsFoldAndJoin(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		store := NewSQLStore(db)
		u := contractUser(t, "fold-join")
		from, pool := contractBucketPool(t, store, u)
		cases := append(contractBucketCases(t, from), contractBucketCase{"more_than_one_statement",
			contractSteps(from.Add(-5*time.Hour), from.Add(-5*time.Hour+(maxQueryBuckets+77)*SlotSize), SlotSize)})
		for _, c := range cases {
			bounds := make([]int64, len(c.starts))
			for i, st := range c.starts {
				bounds[i] = st.UnixMicro()
			}
			table, _ := rollupTable(bounds)
			for _, m := range []string{"heart_rate", "steps"} {
				want := contractExpectBuckets(pool, m, c.starts)
				folded, err := store.foldBuckets(sctx, table, u, m, c.starts, bounds)
				require.NoError(t, err)
				assert.Equal(t, want, folded, "%s of %s, folded", c.name, m)
				joined, err := store.joinBuckets(sctx, table, u, m, c.starts, bounds)
				require.NoError(t, err)
				assert.Equal(t, want, joined, "%s of %s, joined", c.name, m)
			}
		}
	})
}

// TestSQLBucketsSeekTheKeyPerBucket checks the plans of the Buckets
// statement on an empty table (no statistics): one primary-key range per
// bucket, never a scan of the user's rollups per bucket.
func TestSQLBucketsSeekTheKeyPerBucket(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		postgres := isPostgres(db.Dialect())
		for _, table := range rollupTables {
			args := []any{0, int64(0), hourMicros, 1, hourMicros, 2 * hourMicros, "u", "heart_rate"}
			explain, want := "EXPLAIN QUERY PLAN ", "SEARCH r USING PRIMARY KEY (user_id=? AND metric=? AND slot_start>? AND slot_start<?)"
			if postgres {
				explain, want = "EXPLAIN ", `Index Cond: ((user_id = 'u'::text) AND (metric = 'heart_rate'::text) AND `+
					`(slot_start >= "*VALUES*".column2) AND (slot_start < "*VALUES*".column3))`
			}
			rows, err := db.Read(sctx).Raw(explain+bucketSQL(postgres, table, 2), args...).Rows()
			require.NoError(t, err)
			cols, err := rows.Columns()
			require.NoError(t, err)
			vals, dest := make([]sql.NullString, len(cols)), make([]any, len(cols))
			for i := range dest {
				dest[i] = &vals[i]
			}
			var plan []string
			for rows.Next() {
				require.NoError(t, rows.Scan(dest...))
				plan = append(plan, vals[len(vals)-1].String) // SQLite: id, parent, notused, detail
			}
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())
			assert.Contains(t, strings.Join(plan, "\n"), want, "the plan on %s", table)
		}
	})
}
