package activity

import (
	"context"
	"fmt"
	"math/bits"
	"strings"
	"time"
)

// maxQueryBuckets is the most buckets one Buckets statement carries (a
// month of hours is 745): 3 placeholders each stay far below SQLite's
// 32,766 variables and PostgreSQL's 65,535 parameters.
const maxQueryBuckets = 1024

// foldBelow is how many rollup rows a bucket may span on average for
// Buckets to read them and fold them in Go rather than aggregate in SQL.
// A row crossing cgo costs about 1 µs, a row aggregated in SQLite 0.4 µs
// and a bucket's index seek 2 µs: a day of hour buckets (24 rows) reads in
// 26 µs against 58 through the join, a month of day buckets (720) in 476
// against 319.
const foldBelow = 4

// Buckets aggregates the rollups per bucket. When every bound is a whole
// UTC hour — hours and local days in zones whose offset is whole hours, the
// days of 23 or 25 hours included — it reads activity_metric_hours, a
// quarter of the rows; otherwise (half-hour and 45-minute zones)
// activity_metric_slots. Buckets of a few rows each (hour buckets) are
// read row by row and folded in Go; larger ones are aggregated in SQL, one
// statement for up to maxQueryBuckets buckets: their bounds go in as a
// VALUES list joined on the rollups' key range, which seeks the primary key
// once per bucket. A month of day buckets over per-minute samples costs 30
// result rows instead of 2,880 slot rows crossing cgo one by one
// (BenchmarkBuckets).
func (s *SQLStore) Buckets(ctx context.Context, userID, metric string, starts []time.Time) ([]Slot, error) {
	if len(starts) < 2 {
		return nil, nil
	}
	bounds := make([]int64, len(starts))
	for i, t := range starts {
		bounds[i] = t.UnixMicro()
	}
	table, unit := rollupTable(bounds)
	n := len(starts) - 1
	var out []Slot
	var err error
	if (bounds[n]-bounds[0])/unit <= foldBelow*int64(n) {
		out, err = s.foldBuckets(ctx, table, userID, metric, starts, bounds)
	} else {
		out, err = s.joinBuckets(ctx, table, userID, metric, starts, bounds)
	}
	if err != nil {
		return nil, translate("buckets", err, nil)
	}
	return out, nil
}

// rollupTable is the table that bounds can be read from and the span of
// its rows: hours when every bound is a whole UTC hour, else slots.
func rollupTable(bounds []int64) (table string, unit int64) {
	for _, b := range bounds {
		if hourStart(b) != b {
			return "activity_metric_slots", slotMicros
		}
	}
	return "activity_metric_hours", hourMicros
}

// foldBuckets reads the rollup rows of the whole range and folds them.
func (s *SQLStore) foldBuckets(ctx context.Context, table, userID, metric string, starts []time.Time,
	bounds []int64) ([]Slot, error) {
	rollups, err := s.rollups(ctx, table, userID, metric, bounds[0], bounds[len(bounds)-1])
	if err != nil {
		return nil, err
	}
	return foldSlots(rollups, starts), nil
}

// joinBuckets aggregates in SQL, maxQueryBuckets buckets a statement.
func (s *SQLStore) joinBuckets(ctx context.Context, table, userID, metric string, starts []time.Time,
	bounds []int64) ([]Slot, error) {
	out := make([]Slot, len(starts)-1)
	for i := range out {
		out[i].Start = starts[i]
	}
	postgres := isPostgres(s.db.Dialect())
	for first := 0; first < len(out); first += maxQueryBuckets {
		last := min(first+maxQueryBuckets, len(out))
		if err := s.bucketRange(ctx, postgres, table, userID, metric, bounds[first:last+1], out[first:last]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rollups returns the rows of a rollup table whose start is in [lo, hi),
// ascending.
func (s *SQLStore) rollups(ctx context.Context, table, userID, metric string, lo, hi int64) ([]Slot, error) {
	if hi <= lo {
		return nil, nil
	}
	rows, err := s.db.Read(ctx).Raw(`SELECT slot_start, value_sum, value_count, value_min, value_max
		FROM `+table+` WHERE user_id = ? AND metric = ? AND slot_start >= ? AND slot_start < ?
		ORDER BY slot_start`, userID, metric, lo, hi).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Slot, 0, min((hi-lo)/slotMicros+1, 4096))
	for rows.Next() {
		var sl Slot
		var start int64
		if err := rows.Scan(&start, &sl.Sum, &sl.Count, &sl.Min, &sl.Max); err != nil {
			return nil, err
		}
		sl.Start = fromMicros(start)
		out = append(out, sl)
	}
	return out, rows.Err()
}

// bucketRange fills out[i] with the aggregates of [bounds[i], bounds[i+1]).
func (s *SQLStore) bucketRange(ctx context.Context, postgres bool, table, userID, metric string,
	bounds []int64, out []Slot) error {
	n := len(out)
	rows := 1 << bits.Len(uint(n-1)) // a power of two: a few statement texts, each prepared once
	args := make([]any, 0, rows*3+2)
	for i := range n {
		args = append(args, i, bounds[i], bounds[i+1])
	}
	for range rows - n { // padding: an empty range joins no rollup
		args = append(args, -1, 0, 0)
	}
	args = append(args, userID, metric)
	res, err := s.db.Read(ctx).Raw(bucketSQL(postgres, table, rows), args...).Rows()
	if err != nil {
		return err
	}
	defer res.Close()
	for res.Next() {
		var i int
		var a Slot
		if err := res.Scan(&i, &a.Sum, &a.Count, &a.Min, &a.Max); err != nil {
			return err
		}
		a.Start = out[i].Start
		out[i] = a
	}
	return res.Err()
}

// The Buckets statements, by dialect: %[1]s is the VALUES rows, %[2]s the
// table. SQLite's planner scans the bounds and seeks the key per bucket
// (EXPLAIN QUERY PLAN: SCAN b, SEARCH r USING PRIMARY KEY). PostgreSQL's
// does that too once it has statistics, but on a table not analysed yet
// (rows=1 guessed) it scanned the user's every rollup per bucket: 58 ms for
// a month. A LATERAL aggregate per bucket leaves it no other plan; an empty
// bucket's is NULL. PostgreSQL also needs the VALUES typed: left unknown
// they would be text.
const (
	sqliteBuckets = `WITH b(i, lo, hi) AS (VALUES %[1]s)
		SELECT b.i, SUM(r.value_sum), SUM(r.value_count), MIN(r.value_min), MAX(r.value_max)
		FROM b JOIN %[2]s r ON r.user_id = ? AND r.metric = ? AND r.slot_start >= b.lo AND r.slot_start < b.hi
		GROUP BY b.i`
	postgresBuckets = `WITH b(i, lo, hi) AS (VALUES %[1]s)
		SELECT b.i, a.s, a.c, a.lo, a.hi FROM b CROSS JOIN LATERAL (
			SELECT SUM(r.value_sum) AS s, CAST(SUM(r.value_count) AS BIGINT) AS c,
				MIN(r.value_min) AS lo, MAX(r.value_max) AS hi
			FROM %[2]s r WHERE r.user_id = ? AND r.metric = ? AND r.slot_start >= b.lo AND r.slot_start < b.hi
		) a WHERE a.c IS NOT NULL`
)

// bucketSQL is the text of a Buckets statement of rows buckets.
func bucketSQL(postgres bool, table string, rows int) string {
	row, text := "(?,?,?)", sqliteBuckets
	if postgres {
		row, text = "(?::int,?::bigint,?::bigint)", postgresBuckets
	}
	values := strings.Repeat(row+",", rows)
	return fmt.Sprintf(text, values[:len(values)-1], table)
}
