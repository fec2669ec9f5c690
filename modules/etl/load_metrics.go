package etl

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

var (
	stageCols = []string{"user_key", "metric", "date_key", "slot_start", "sum_value", "count", "min_value", "max_value"}
	stageKey  = []string{"user_key", "metric", "date_key", "slot_start"}
)

// userDay is one user's metric on one of their days.
type userDay struct {
	key, metric string
	date        int
}

// bulkPending marks, in etl_watermarks, a bulk load of the metrics feed
// whose days are not aggregated yet.
const bulkPending = SourceMetrics + ".aggregate"

// loadMetrics moves the metrics feed. Read from its start (a first or full
// load, or a re-read), it is a bulk load: batches are only staged, and
// fact_daily_metrics is built once at the end from the whole stage — a day
// is then aggregated once instead of once for each batch that touches it.
// The first batch marks the bulk load pending, in its transaction, and the
// final aggregation clears the mark in its own: a run cut short in between
// leaves the mark, and the next run aggregates everything too.
func (l *Loader) loadMetrics(ctx context.Context, st *Stats) error {
	if l.feeds.Metrics == nil {
		return nil
	}
	mark, err := l.watermark(ctx, SourceMetrics)
	if err != nil {
		return err
	}
	pending, err := l.watermark(ctx, bulkPending)
	if err != nil {
		return err
	}
	bulk := mark.At.IsZero() || !pending.At.IsZero()
	apply := func(tx *gorm.DB, rows []MetricChange, st *Stats) error { return l.applyMetrics(tx, rows, st, bulk) }
	if err := pump(ctx, l, st, SourceMetrics, l.feeds.Metrics, apply); err != nil || !bulk {
		return err
	}
	return l.aggregateAll(ctx, st)
}

// aggregateChunk is how many users' days one statement of a bulk load's
// aggregation writes: a chunk is a range of the stage's key, and the API
// gets a turn between chunks.
const aggregateChunk = 500

// aggregateAll builds fact_daily_metrics again from the whole stage, a
// chunk of users a transaction, then clears the pending mark: a run cut
// short in between leaves it, and the next does it all again.
func (l *Loader) aggregateAll(ctx context.Context, st *Stats) error {
	var users []string
	err := l.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM fact_daily_metrics").Error; err != nil {
			return err
		}
		return tx.Table("stage_metric_slots").Distinct("user_key").Order("user_key").Pluck("user_key", &users).Error
	})
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(users, aggregateChunk) {
		err := l.paced(ctx, func() error {
			return l.tx(ctx, func(tx *gorm.DB) error {
				res := tx.Exec(aggregateSQL("stage_metric_slots s", "s.user_key >= ? AND s.user_key <= ?"),
					chunk[0], chunk[len(chunk)-1])
				if res.Error != nil {
					return res.Error
				}
				st.table("fact_daily_metrics").Written += int(res.RowsAffected)
				return nil
			})
		})
		if err != nil {
			return err
		}
	}
	return l.tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec("DELETE FROM etl_watermarks WHERE source = ?", bulkPending).Error
	})
}

// applyMetrics stages the changed 15-minute rollups, each with its local
// day, and (unless in a bulk load) aggregates those days again into
// fact_daily_metrics.
func (l *Loader) applyMetrics(tx *gorm.DB, rows []MetricChange, st *Stats, bulk bool) error {
	c := st.table("stage_metric_slots")
	c.Read += len(rows)
	keys := pseudonyms(l.key, rows, func(m MetricChange) string { return m.UserID })
	zones, erased, err := l.batchUsers(tx, keys)
	if err != nil {
		return err
	}
	stage := make([][]any, 0, len(rows))
	touched := map[userDay]bool{}
	dates := map[int]dimDate{}
	for i, m := range rows {
		key := keys[i]
		if erased[key] {
			continue
		}
		local := m.SlotStart.In(zones[key])
		d := dateKey(local)
		if _, ok := dates[d]; !ok {
			dates[d] = dateRow(local)
		}
		stage = append(stage, []any{key, m.Metric, d, m.SlotStart.UnixMicro(), m.Sum, m.Count, m.Min, m.Max})
		touched[userDay{key, m.Metric, d}] = true
	}
	// In key order, a batch's rows go to neighbouring pages of the index,
	// not all over it (the feed's order is by time, users interleaved).
	slices.SortFunc(stage, func(a, b []any) int {
		return cmp.Or(strings.Compare(a[0].(string), b[0].(string)), strings.Compare(a[1].(string), b[1].(string)),
			cmp.Compare(a[3].(int64), b[3].(int64)))
	})
	write := upsert
	if raw := rawOf(tx); raw != nil && !l.noCopy {
		// A bulk load mostly adds slots: COPY straight in (falling back to
		// an upsert when one is there already); otherwise most are
		// there, growing.
		copyFn := copyUpsert
		if bulk {
			copyFn = copyInto
		}
		write = func(tx *gorm.DB, table string, cols, key []string, rows [][]any) error {
			return copyFn(tx, raw, table, cols, key, rows)
		}
	}
	if err := write(tx, "stage_metric_slots", stageCols, stageKey, stage); err != nil {
		return err
	}
	c.Written += len(stage)
	if err := upsertDims(tx, dates, nil); err != nil {
		return err
	}
	if bulk {
		err = upsert(tx, "etl_watermarks", []string{"source", "changed_at", "id", "updated_at"}, []string{"source"},
			[][]any{{bulkPending, time.Unix(0, 0).UTC(), "", l.now().UTC()}})
	} else {
		err = aggregateDays(tx, touched, st)
	}
	if err != nil {
		return err
	}
	dirty := map[string]int{}
	for d := range touched {
		dirtyFrom(dirty, d.key, d.date)
	}
	return markDirty(tx, dirty)
}

var (
	dailyCols = []string{"user_key", "date_key", "metric", "sum_value", "avg_value", "min_value", "max_value", "count"}
	dailyKey  = []string{"user_key", "date_key", "metric"}
)

// aggregateSQL writes the days of the staged slots (alias s) that from and
// where select into fact_daily_metrics, each from all of its slots,
// replacing the days there.
func aggregateSQL(from, where string) string {
	return "INSERT INTO fact_daily_metrics (" + strings.Join(dailyCols, ", ") + `)
SELECT s.user_key, s.date_key, s.metric, SUM(s.sum_value), COALESCE(SUM(s.sum_value) / NULLIF(SUM(s.count), 0), 0),
	MIN(s.min_value), MAX(s.max_value), SUM(s.count)
FROM ` + from + " WHERE " + where + " GROUP BY s.user_key, s.metric, s.date_key" + conflictClause(dailyCols, dailyKey)
}

// aggregateDays writes the facts of the days again, each from all of its
// staged slots, in statements of many days.
func aggregateDays(tx *gorm.DB, days map[userDay]bool, st *Stats) error {
	rows := make([][]any, 0, len(days))
	for d := range days {
		rows = append(rows, []any{d.key, d.metric, d.date})
	}
	postgres := tx.Dialector.Name() == "postgres"
	err := execChunks(tx, rows, func(n int) string {
		var b strings.Builder
		b.WriteString("(VALUES ")
		placeholders(&b, postgres, n, []string{"%s", "%s", "CAST(%s AS INTEGER)"})
		b.WriteString(") AS d CROSS JOIN stage_metric_slots s")
		return aggregateSQL(b.String(), "s.user_key = d.column1 AND s.metric = d.column2 AND s.date_key = d.column3")
	})
	if err != nil {
		return err
	}
	st.table("fact_daily_metrics").Written += len(rows)
	return nil
}

// redateMetrics dates a user's staged slots again in their (new) zone and
// aggregates their days again.
func redateMetrics(tx *gorm.DB, key string, loc *time.Location, st *Stats) error {
	var slots []struct {
		Metric    string
		SlotStart int64
		SumValue  float64
		Count     int64
		MinValue  float64
		MaxValue  float64
	}
	if err := tx.Table("stage_metric_slots").Where("user_key = ?", key).Find(&slots).Error; err != nil {
		return err
	}
	for _, t := range []string{"stage_metric_slots", "fact_daily_metrics"} {
		res := tx.Exec("DELETE FROM "+t+" WHERE user_key = ?", key)
		if res.Error != nil {
			return res.Error
		}
		if t == "fact_daily_metrics" {
			st.table(t).Written += int(res.RowsAffected)
		}
	}
	stage := make([][]any, len(slots))
	days := map[userDay]bool{}
	dates := map[int]dimDate{}
	for i, s := range slots {
		local := time.UnixMicro(s.SlotStart).In(loc)
		d := dateKey(local)
		dates[d] = dateRow(local)
		days[userDay{key, s.Metric, d}] = true
		stage[i] = []any{key, s.Metric, d, s.SlotStart, s.SumValue, s.Count, s.MinValue, s.MaxValue}
	}
	if err := upsert(tx, "stage_metric_slots", stageCols, stageKey, stage); err != nil {
		return err
	}
	if err := upsertDims(tx, dates, nil); err != nil {
		return err
	}
	return aggregateDays(tx, days, st)
}

// markDirty queues users' goals for new snapshots (snapshotGoals) from the
// day each maps to (0: all days); a user queued already keeps the earlier
// day.
func markDirty(tx *gorm.DB, from map[string]int) error {
	rows := make([][]any, 0, len(from))
	for k, d := range from {
		rows = append(rows, []any{k, d})
	}
	slices.SortFunc(rows, func(a, b []any) int { return strings.Compare(a[0].(string), b[0].(string)) })
	postgres := tx.Dialector.Name() == "postgres"
	return execChunks(tx, rows, func(n int) string {
		var b strings.Builder
		b.WriteString("INSERT INTO etl_dirty_users (user_key, from_date) VALUES ")
		placeholders(&b, postgres, n, []string{"%s", "%s"})
		b.WriteString(` ON CONFLICT (user_key) DO UPDATE SET from_date = CASE
	WHEN excluded.from_date < etl_dirty_users.from_date THEN excluded.from_date ELSE etl_dirty_users.from_date END`)
		return b.String()
	})
}

// dirtyFrom adds day to a user's first changed day in from.
func dirtyFrom(from map[string]int, key string, day int) {
	if d, ok := from[key]; !ok || day < d {
		from[key] = day
	}
}

// mapKeys is the distinct f(k) of m's keys.
func mapKeys[K comparable, V any](m map[K]V, f func(K) string) []string {
	seen := make(map[string]bool, len(m))
	var out []string
	for k := range m {
		if s := f(k); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// pseudonyms are the rows' users' keys, each computed once a batch.
func pseudonyms[T any](key []byte, rows []T, user func(T) string) []string {
	out := make([]string, len(rows))
	known := map[string]string{}
	for i, r := range rows {
		id := user(r)
		k, ok := known[id]
		if !ok {
			k = pseudonym(key, id)
			known[id] = k
		}
		out[i] = k
	}
	return out
}
