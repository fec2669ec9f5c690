package etl

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
)

// sliceFeed is a feed over rows sorted by cursor: a page is a binary
// search and a slice, so that a benchmark measures the loader, not the
// fake.
type sliceFeed[T any] struct {
	rows []T
	at   func(T) Cursor
}

func (f *sliceFeed[T]) changes(_ context.Context, after Cursor, limit int) ([]T, Cursor, error) {
	i, _ := slices.BinarySearchFunc(f.rows, after, func(r T, c Cursor) int {
		a := f.at(r)
		return cmp.Or(a.At.Compare(c.At), cmp.Compare(a.ID, c.ID))
	})
	for i < len(f.rows) && !f.at(f.rows[i]).After(after) {
		i++
	}
	page := f.rows[i:min(len(f.rows), i+limit)]
	if len(page) == 0 {
		return nil, Cursor{}, nil
	}
	return page, f.at(page[len(page)-1]), nil
}

// synthetic is a data set like `fitloop dev seed`'s: per user and day,
// hourly step samples over 16 waking hours (16 rollups), a workout on 6
// days in 10 with per-minute heart rate (3 rollups) and its calories (1).
type synthetic struct {
	users    []UserChange
	goals    []GoalChange
	workouts []WorkoutChange
	metrics  []MetricChange
}

func newSynthetic(users, days int, end time.Time) *synthetic {
	rnd := rand.New(rand.NewPCG(1, 2))
	s := &synthetic{}
	start := end.AddDate(0, 0, -days).Truncate(24 * time.Hour)
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"}
	for u := range users {
		id := fmt.Sprintf("user-%06d", u)
		s.users = append(s.users, UserChange{UserID: id, Role: "customer", Timezone: zones[u%len(zones)],
			SignupAt: start, ChangedAt: start})
		s.goals = append(s.goals, GoalChange{GoalID: "goal-" + id, UserID: id, GoalType: "steps", Period: "weekly",
			TargetValue: 50000, Status: "active", CreatedAt: start, ChangedAt: start})
		for d := range days {
			day := start.AddDate(0, 0, d)
			for h := 7; h < 23; h++ {
				v := float64(200 + rnd.IntN(800))
				s.metrics = append(s.metrics, MetricChange{UserID: id, Metric: "steps", SlotStart: day.Add(time.Duration(h) * time.Hour),
					Sum: v, Count: 1, Min: v, Max: v, ChangedAt: day.Add(time.Duration(h)*time.Hour + time.Minute)})
			}
			if rnd.IntN(10) < 6 {
				ws := day.Add(time.Duration(17+rnd.IntN(3)) * time.Hour)
				we := ws.Add(45 * time.Minute)
				s.workouts = append(s.workouts, WorkoutChange{ID: fmt.Sprintf("w-%s-%03d", id, d), UserID: id, WorkoutType: "running",
					StartTime: ws, EndTime: &we, Duration: 2700, CaloriesBurned: 450, Source: "manual", ChangedAt: we})
				for k := range 3 {
					slot := ws.Add(time.Duration(k) * 15 * time.Minute)
					s.metrics = append(s.metrics, MetricChange{UserID: id, Metric: "heart_rate", SlotStart: slot,
						Sum: 15 * 140, Count: 15, Min: 110, Max: 170, ChangedAt: we})
				}
				s.metrics = append(s.metrics, MetricChange{UserID: id, Metric: "calories_burned", SlotStart: ws,
					Sum: 450, Count: 1, Min: 450, Max: 450, ChangedAt: we})
			}
		}
	}
	slices.SortFunc(s.workouts, func(a, b WorkoutChange) int { return cmp.Or(a.ChangedAt.Compare(b.ChangedAt), cmp.Compare(a.ID, b.ID)) })
	mc := func(m MetricChange) Cursor {
		return Cursor{At: m.ChangedAt, ID: slotID(m.UserID, m.Metric, m.SlotStart)}
	}
	slices.SortFunc(s.metrics, func(a, b MetricChange) int {
		x, y := mc(a), mc(b)
		return cmp.Or(x.At.Compare(y.At), cmp.Compare(x.ID, y.ID))
	})
	return s
}

func (s *synthetic) rows() int { return len(s.users) + len(s.goals) + len(s.workouts) + len(s.metrics) }

func (s *synthetic) feeds() Feeds {
	return Feeds{
		Users:    (&sliceFeed[UserChange]{s.users, func(u UserChange) Cursor { return Cursor{At: u.ChangedAt, ID: u.UserID} }}).changes,
		Goals:    (&sliceFeed[GoalChange]{s.goals, func(g GoalChange) Cursor { return Cursor{At: g.ChangedAt, ID: g.GoalID} }}).changes,
		Workouts: (&sliceFeed[WorkoutChange]{s.workouts, func(w WorkoutChange) Cursor { return Cursor{At: w.ChangedAt, ID: w.ID} }}).changes,
		Metrics: (&sliceFeed[MetricChange]{s.metrics, func(m MetricChange) Cursor {
			return Cursor{At: m.ChangedAt, ID: slotID(m.UserID, m.Metric, m.SlotStart)}
		}}).changes,
	}
}

// BenchmarkFullLoad loads a synthetic data set (200 users × 90 days, about
// 400,000 source rows) into an empty warehouse; rows/s counts source rows.
// go test -tags libsqlite3 -run '^$' -bench FullLoad -benchtime 3x ./modules/etl
func BenchmarkFullLoad(b *testing.B) {
	end := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	data := newSynthetic(200, 90, end)
	for _, c := range []struct {
		name, dialect string
		noCopy        bool
	}{{"sqlite", database.SQLite, false}, {"postgres/copy", database.Postgres, false}, {"postgres/insert", database.Postgres, true}} {
		dialect := c.dialect
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				wh := benchWarehouse(b, dialect)
				l, err := NewLoader(LoaderDeps{Warehouse: wh, Feeds: data.feeds(), PseudonymKey: testKey,
					Now: func() time.Time { return end }})
				if err != nil {
					b.Fatal(err)
				}
				l.noCopy = c.noCopy
				b.StartTimer()
				if _, err := l.Run(context.Background(), true); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(data.rows())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// benchWarehouse is a warehouse as the program opens it.
func benchWarehouse(b *testing.B, dialect string) *database.DB {
	if dialect != database.SQLite {
		return warehouse(b, dialect)
	}
	wh, err := OpenWarehouse(context.Background(), config.Default().Database, b.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = wh.Close() })
	return wh
}

// BenchmarkStageWrite writes the same staged days (200 users × 90 days ×
// 3 metrics, 6 rollups a day) into an empty stage, 1,000 days a
// transaction (about what a feed batch of 5,000 rollups touches): the
// loader's ways — batched multi-row INSERTs (64 rows a statement,
// prepared once a transaction) and, on PostgreSQL, COPY straight into the
// table (rows known to be new) or into a temporary table moved with one
// INSERT … SELECT … ON CONFLICT a batch (the others) — against a pgx
// batch of one INSERT a row and gorm's CreateInBatches.
// CI=true go test -tags libsqlite3 -run '^$' -bench StageWrite -benchtime 3x ./modules/etl
func BenchmarkStageWrite(b *testing.B) {
	var rows [][]any
	for u := range 200 {
		key := pseudonym(testKey, fmt.Sprint("user-", u))
		for _, metric := range []string{"calories_burned", "heart_rate", "steps"} {
			for d := range 90 {
				day := int64(1_780_000_000_000_000 + d*86_400_000_000)
				slots := make([]slot, 6)
				for k := range slots {
					v := float64(100 + (u+d+k)%700)
					slots[k] = slot{start: day + int64(k)*3_600_000_000, sum: v, count: 1, min: v, max: v}
				}
				rows = append(rows, []any{key, metric, 20260801 + d, encodeSlots(slots)})
			}
		}
	}
	type writer func(*gorm.DB, database.Raw, string, []string, []string, [][]any) error
	for _, c := range []struct {
		name, dialect string
		write         writer
	}{{"sqlite/insert", database.SQLite, nil}, {"postgres/insert", database.Postgres, nil},
		{"postgres/insert_pgx_batch", database.Postgres, batchInsert}, {"postgres/insert_gorm", database.Postgres, gormInsert},
		{"postgres/copy_upsert", database.Postgres, copyUpsert}, {"postgres/copy", database.Postgres, copyInto}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				wh := benchWarehouse(b, c.dialect)
				l, err := NewLoader(LoaderDeps{Warehouse: wh, Feeds: Feeds{Users: (&sliceFeed[UserChange]{}).changes}, PseudonymKey: testKey})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for batch := range slices.Chunk(rows, 1000) {
					err := l.tx(context.Background(), func(tx *gorm.DB) error {
						if raw := rawOf(tx); c.write != nil && raw != nil {
							return c.write(tx, raw, "stage_metric_days", stageCols, stageKey, batch)
						}
						return upsert(tx, "stage_metric_days", stageCols, stageKey, batch)
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// stagedDay is a stage_metric_days row for gormInsert.
type stagedDay struct {
	UserKey string `gorm:"primaryKey"`
	Metric  string `gorm:"primaryKey"`
	DateKey int    `gorm:"primaryKey"`
	Slots   []byte
}

func (stagedDay) TableName() string { return "stage_metric_days" }

// gormInsert is the usual batched INSERT in Go, for comparison (the
// loader's first version wrote so): gorm's CreateInBatches with an ON
// CONFLICT clause, statements of 100 rows built by reflection.
func gormInsert(tx *gorm.DB, _ database.Raw, _ string, _, _ []string, rows [][]any) error {
	days := make([]stagedDay, len(rows))
	for i, r := range rows {
		days[i] = stagedDay{r[0].(string), r[1].(string), r[2].(int), r[3].([]byte)}
	}
	return tx.Clauses(clause.OnConflict{UpdateAll: true}).CreateInBatches(days, 100).Error
}

// batchInsert is the other usual way into PostgreSQL, for comparison: one
// INSERT … ON CONFLICT a row, the statements sent together as a pgx batch
// (one round trip; pgx prepares the statement once).
func batchInsert(tx *gorm.DB, raw database.Raw, table string, cols, key []string, rows [][]any) error {
	query := insertSQL(true, table, cols, 1, conflictClause(cols, key))
	return raw(func(dc any) error {
		var batch pgx.Batch
		for _, r := range rows {
			batch.Queue(query, r...)
		}
		return dc.(*stdlib.Conn).Conn().SendBatch(tx.Statement.Context, &batch).Close()
	})
}

// BenchmarkIncrementalLoad is an hourly load after a full one of 1,000
// users × 90 days: a tenth of the users synced 35 hours of steps (35 new
// rollups each) and 5 users arrived with their history — about 1 % of the
// rows.
// go test -tags libsqlite3 -run '^$' -bench IncrementalLoad -benchtime 3x ./modules/etl
func BenchmarkIncrementalLoad(b *testing.B) {
	end := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	data := newSynthetic(1000, 90, end)
	later := newSynthetic(1005, 90, end)
	changed := &synthetic{users: later.users, goals: later.goals}
	for _, w := range later.workouts {
		if w.UserID >= "user-001000" {
			changed.workouts = append(changed.workouts, w)
		}
	}
	for _, m := range later.metrics {
		if m.UserID >= "user-001000" {
			m.ChangedAt = end.Add(2 * time.Hour)
			changed.metrics = append(changed.metrics, m)
		}
	}
	for u := 0; u < 1000; u += 10 {
		for h := range 35 {
			at := end.Add(-time.Duration(h)*time.Hour + 30*time.Minute)
			changed.metrics = append(changed.metrics, MetricChange{UserID: fmt.Sprintf("user-%06d", u), Metric: "steps",
				SlotStart: at, Sum: 500, Count: 1, Min: 500, Max: 500, ChangedAt: end.Add(2 * time.Hour)})
		}
	}
	changed.metrics = append(slices.Clone(data.metrics), changed.metrics...)
	changed.workouts = append(slices.Clone(data.workouts), changed.workouts...)
	mc := func(m MetricChange) Cursor {
		return Cursor{At: m.ChangedAt, ID: slotID(m.UserID, m.Metric, m.SlotStart)}
	}
	slices.SortFunc(changed.metrics, func(a, b MetricChange) int {
		x, y := mc(a), mc(b)
		return cmp.Or(x.At.Compare(y.At), cmp.Compare(x.ID, y.ID))
	})
	slices.SortFunc(changed.workouts, func(a, b WorkoutChange) int { return cmp.Or(a.ChangedAt.Compare(b.ChangedAt), cmp.Compare(a.ID, b.ID)) })
	now := func() time.Time { return end.Add(3 * time.Hour) }
	for b.Loop() {
		b.StopTimer()
		wh := benchWarehouse(b, database.SQLite)
		l, err := NewLoader(LoaderDeps{Warehouse: wh, Feeds: data.feeds(), PseudonymKey: testKey, Lag: -1, Now: now})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Run(context.Background(), true); err != nil {
			b.Fatal(err)
		}
		l.feeds = changed.feeds()
		b.StartTimer()
		st, err := l.Run(context.Background(), false)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Tables["stage_metric_days"].Read+st.Tables["fact_workouts"].Read), "rows")
	}
}
