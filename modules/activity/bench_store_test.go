package activity

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

// Run with
//
//	go test -tags libsqlite3 -run '^$' -bench '^BenchmarkAddSamples$' -benchtime 1000x -count 3 ./modules/activity/
//	go test -tags libsqlite3 -run '^$' -bench '^Benchmark(Buckets|Workouts)$' -benchtime 2s ./modules/activity/
//
// SQLite is a file in the test's temporary directory opened as production
// opens it (database.Open with the defaults: WAL, synchronous=FULL, one
// writer behind the group committer). PostgreSQL is testkit's throwaway
// server, which runs with fsync off.

// benchDialects runs fn as the sub-benchmarks "sqlite" and "postgres", each
// with a freshly migrated database.
func benchDialects(b *testing.B, fn func(b *testing.B, open func(b *testing.B) *database.DB)) {
	b.Run(database.SQLite, func(b *testing.B) {
		fn(b, func(b *testing.B) *database.DB { return dbtest.New(b) })
	})
	b.Run(database.Postgres, func(b *testing.B) {
		fn(b, func(b *testing.B) *database.DB { return dbtest.NewPostgres(b) })
	})
}

const (
	benchCallers   = 8
	benchBatchSize = 1000
)

// benchBatch is batch i of a stream of per-minute heart-rate samples spread
// over benchCallers users: every batch is new data (no duplicates), 1,000
// minutes of one user, so its rollups touch 67 or 68 slots.
func benchBatch(i int64, withIDs bool) (string, []Sample) {
	user := fmt.Sprintf("bench-user-%d", i%benchCallers)
	start := ct0.Add(time.Duration(i/benchCallers*benchBatchSize) * time.Minute)
	out := make([]Sample, benchBatchSize)
	for j := range out {
		out[j] = Sample{Metric: "heart_rate", Value: float64(60 + j%90), RecordedAt: start.Add(time.Duration(j) * time.Minute),
			Source: "watch"}
		if withIDs {
			out[j].SampleID = fmt.Sprintf("%s-%d-%d", user, i, j)
		}
	}
	return user, out
}

// BenchmarkAddSamples measures acknowledged samples per second with
// benchCallers goroutines each adding benchBatchSize-sample batches, one
// AddSamples (one db.Tx) per batch. One op is one batch.
func BenchmarkAddSamples(b *testing.B) {
	benchDialects(b, func(b *testing.B, open func(b *testing.B) *database.DB) {
		for _, withIDs := range []bool{false, true} {
			name := "without_sample_ids"
			if withIDs {
				name = "with_sample_ids"
			}
			b.Run(name, func(b *testing.B) {
				store := NewSQLStore(open(b))
				var next atomic.Int64
				var wg sync.WaitGroup
				errs := make(chan error, benchCallers)
				b.ResetTimer()
				began, cpuBefore := time.Now(), processCPU()
				for range benchCallers {
					wg.Go(func() {
						for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
							user, batch := benchBatch(i, withIDs)
							accepted, _, err := store.AddSamples(context.Background(), user, batch)
							if err == nil && accepted != len(batch) {
								err = fmt.Errorf("batch %d: %d accepted", i, accepted)
							}
							if err != nil {
								errs <- err
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed, cpu := time.Since(began), processCPU()-cpuBefore
				b.StopTimer()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N*benchBatchSize)/elapsed.Seconds(), "samples/s")
				// The process's CPU time per sample (every goroutine, the
				// benchmark's own batch building included): a figure that
				// other load on the machine does not inflate as much.
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*benchBatchSize), "cpu-ns/sample")
			})
		}
	})
}

// processCPU is the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBuckets reads the series of one user holding a year of
// per-minute heart-rate samples (525,600, added through AddSamples) over a
// day of hour buckets, a week and a month of day buckets:
//
//   - slots_then_fold: the path before Buckets, kept here to compare: the
//     range's 15-minute rollups (96, 672, 2,880 rows) folded in Go;
//   - utc: Buckets on whole-hour bounds, aggregated in SQL from the hourly
//     rollups;
//   - kolkata: Buckets on bounds at half past (UTC+05:30), aggregated in SQL
//     from the 15-minute rollups.
func BenchmarkBuckets(b *testing.B) {
	benchDialects(b, func(b *testing.B, open func(b *testing.B) *database.DB) {
		store := NewSQLStore(open(b))
		user := "bench-buckets-user"
		benchYear(b, store, user)
		kolkata, err := time.LoadLocation("Asia/Kolkata")
		require.NoError(b, err)
		for _, c := range []struct {
			name   string
			bucket string
			days   int
		}{{"day", "hour", 1}, {"week", "day", 7}, {"month", "day", 30}} {
			for _, loc := range []*time.Location{time.UTC, kolkata} {
				from := time.Date(2025, 6, 1, 0, 0, 0, 0, loc)
				starts := bucketStarts(c.bucket, from, from.AddDate(0, 0, c.days))
				name := "utc"
				if loc != time.UTC {
					name = "kolkata"
				}
				b.Run(c.name+"/"+name, func(b *testing.B) {
					for b.Loop() {
						aggs, err := store.Buckets(context.Background(), user, "heart_rate", starts)
						if err != nil || len(aggs) != len(starts)-1 || aggs[0].Count != 60*24/int64(len(aggs)/c.days) {
							b.Fatalf("%v, %v", aggs, err)
						}
					}
				})
			}
			b.Run(c.name+"/slots_then_fold", func(b *testing.B) {
				from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
				starts := bucketStarts(c.bucket, from, from.AddDate(0, 0, c.days))
				for b.Loop() {
					slots, err := benchSlots(store, user, "heart_rate", from, starts[len(starts)-1])
					if err != nil || len(slots) != c.days*96 {
						b.Fatalf("%d slots, %v", len(slots), err)
					}
					_ = foldSlots(slots, starts)
				}
			})
		}
	})
}

// benchYear adds a year of per-minute heart-rate samples of user from 2025.
func benchYear(b *testing.B, store *SQLStore, user string) {
	b.Helper()
	year := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const minutes = 365 * 24 * 60
	var next atomic.Int64
	var wg sync.WaitGroup
	for range benchCallers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i*benchBatchSize < minutes; i = next.Add(1) - 1 {
				batch := make([]Sample, 0, benchBatchSize)
				for m := i * benchBatchSize; m < min((i+1)*benchBatchSize, minutes); m++ {
					batch = append(batch, Sample{Metric: "heart_rate", Value: float64(50 + m%120),
						RecordedAt: year.Add(time.Duration(m) * time.Minute), Source: "watch"})
				}
				_, _, err := store.AddSamples(context.Background(), user, batch)
				require.NoError(b, err)
			}
		})
	}
	wg.Wait()
}

// benchSlots is how series read the rollups before Buckets: every
// 15-minute slot of [from, to), ascending.
func benchSlots(s *SQLStore, userID, metric string, from, to time.Time) ([]Slot, error) {
	return s.rollups(context.Background(), "activity_metric_slots", userID, metric, from.UnixMicro(), to.UnixMicro())
}

// BenchmarkWorkouts lists pages of 20 of a user with 50,000 workouts: the
// first page, a page deep in the keyset, and a page filtered by type.
func BenchmarkWorkouts(b *testing.B) {
	benchDialects(b, func(b *testing.B, open func(b *testing.B) *database.DB) {
		db := open(b)
		store := NewSQLStore(db)
		user := "bench-workouts-user"
		rows := make([]workoutRow, 50_000)
		for i := range rows {
			start := ct0.Add(-time.Duration(i) * 3 * time.Hour)
			end := start.Add(time.Hour)
			rows[i] = *toRow(&Workout{ID: fmt.Sprintf("%s-%06d", user, i), UserID: user,
				WorkoutType: WorkoutTypes[i%len(WorkoutTypes)].Type, StartTime: start, EndTime: &end,
				Duration: 3600, Source: SourceManual, CreatedAt: end, UpdatedAt: end})
		}
		require.NoError(b, db.Tx(context.Background(), func(tx *gorm.DB) error {
			return tx.CreateInBatches(rows, 500).Error
		}))
		// Another user's workouts, so the index holds more than one user.
		for i := range rows {
			rows[i].ID, rows[i].UserID = fmt.Sprintf("other-%06d", i), "bench-workouts-other"
		}
		require.NoError(b, db.Tx(context.Background(), func(tx *gorm.DB) error {
			return tx.CreateInBatches(rows, 500).Error
		}))

		deep, err := store.Workout(context.Background(), fmt.Sprintf("%s-%06d", user, 30_000))
		require.NoError(b, err)
		for _, c := range []struct {
			name string
			q    WorkoutQuery
		}{
			{"first_page", WorkoutQuery{UserID: user, Limit: 20}},
			{"deep_page", WorkoutQuery{UserID: user, Limit: 20, After: &WorkoutCursor{StartTime: deep.StartTime, ID: deep.ID}}},
			{"by_type", WorkoutQuery{UserID: user, Type: "yoga", Limit: 20,
				After: &WorkoutCursor{StartTime: deep.StartTime, ID: deep.ID}}},
		} {
			b.Run(c.name, func(b *testing.B) {
				for b.Loop() {
					list, err := store.Workouts(context.Background(), c.q)
					if err != nil || len(list) != 20 {
						b.Fatalf("%d workouts, %v", len(list), err)
					}
				}
			})
		}
	})
}
