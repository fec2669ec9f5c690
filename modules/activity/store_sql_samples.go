package activity

import (
	"context"
	"database/sql"
	"time"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database"
)

// slotMicros is SlotSize in the unit of recorded_at and slot_start.
const slotMicros = int64(SlotSize / time.Microsecond)

// hourMicros is an hour in the unit of slot_start.
const hourMicros = int64(time.Hour / time.Microsecond)

// slotStart is the start of the slot holding us (floored, also before 1970).
func slotStart(us int64) int64 { return floorTo(us, slotMicros) }

// hourStart is the start of the UTC hour holding us.
func hourStart(us int64) int64 { return floorTo(us, hourMicros) }

// floorTo rounds us down to a multiple of unit.
func floorTo(us, unit int64) int64 {
	r := us % unit
	if r < 0 {
		r += unit
	}
	return us - r
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// AddSamples stores samples all or nothing in one transaction. Each chunk
// is one multi-row INSERT … ON CONFLICT DO NOTHING, which skips samples
// repeating stored ones (the primary key or the sample-id index); the
// batch's own repeats are dropped beforehand. The rollups of the inserted
// samples are added to activity_metric_slots and activity_metric_hours in
// the same transaction, so a rollup counts exactly the samples stored. See
// samplePlan.run.
func (s *SQLStore) AddSamples(ctx context.Context, userID string, samples []Sample) (accepted, duplicates int, err error) {
	if len(samples) == 0 {
		return 0, 0, nil
	}
	postgres := isPostgres(s.db.Dialect())
	var prepared *preparedStmts
	if !postgres {
		writer, err := s.db.SQL()
		if err == nil {
			prepared, err = s.stmts.prepare(ctx, writer)
		}
		if err != nil {
			return 0, 0, translate("add samples", err, nil)
		}
	}
	plan := newSamplePlan(postgres, userID, samples)
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		n, err := plan.run(newSampleTx(tx, postgres, prepared))
		accepted = n
		return err
	})
	if err != nil {
		return 0, 0, translate("add samples", err, nil)
	}
	return accepted, len(samples) - accepted, nil
}

// userMetrics lists the metrics a user has samples of: a recursive CTE that
// seeks the primary key once per metric (a loose index scan), never reading
// the samples in between.
const userMetrics = `WITH RECURSIVE m(metric) AS (
		SELECT MIN(metric) FROM activity_samples WHERE user_id = ?
		UNION ALL
		SELECT (SELECT MIN(s.metric) FROM activity_samples s WHERE s.user_id = ? AND s.metric > m.metric)
		FROM m WHERE m.metric IS NOT NULL
	)`

// LatestSamples returns each metric's most recent sample of a user, ordered
// by metric. Of samples sharing the latest time, the greatest source wins.
func (s *SQLStore) LatestSamples(ctx context.Context, userID string) ([]Sample, error) {
	rows, err := s.db.Read(ctx).Raw(userMetrics+`
		SELECT s.metric, s.recorded_at, s.source, s.value, s.sample_id
		FROM m JOIN activity_samples s ON s.user_id = ? AND s.metric = m.metric
		WHERE s.recorded_at = (SELECT MAX(x.recorded_at) FROM activity_samples x
			WHERE x.user_id = ? AND x.metric = m.metric)
		ORDER BY s.metric, s.source DESC`, userID, userID, userID, userID).Rows()
	if err != nil {
		return nil, translate("latest samples", err, nil)
	}
	defer rows.Close()
	var out []Sample
	for rows.Next() {
		var sm Sample
		if err := scanSample(rows, &sm, true); err != nil {
			return nil, translate("latest samples", err, nil)
		}
		if len(out) == 0 || out[len(out)-1].Metric != sm.Metric {
			out = append(out, sm)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, translate("latest samples", err, nil)
	}
	return out, nil
}

// scanSample reads (metric?, recorded_at, source, value, sample_id).
func scanSample(rows *sql.Rows, sm *Sample, withMetric bool) error {
	var at int64
	var sampleID sql.NullString
	dest := []any{&at, &sm.Source, &sm.Value, &sampleID}
	if withMetric {
		dest = append([]any{&sm.Metric}, dest...)
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	sm.RecordedAt, sm.SampleID = fromMicros(at), sampleID.String
	return nil
}

// EachSample calls fn for each of a user's samples recorded in [from, to),
// ordered by metric then time (then source), one metric at a time: each
// query is a range of the primary key, streamed row by row.
func (s *SQLStore) EachSample(ctx context.Context, userID string, from, to time.Time, fn func(*Sample) error) error {
	var metrics []string
	err := s.db.Read(ctx).Raw(userMetrics+` SELECT metric FROM m WHERE metric IS NOT NULL ORDER BY metric`,
		userID, userID).Scan(&metrics).Error
	if err != nil {
		return translate("each sample", err, nil)
	}
	for _, metric := range metrics {
		if err := s.eachSampleOf(ctx, userID, metric, from.UnixMicro(), to.UnixMicro(), fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *SQLStore) eachSampleOf(ctx context.Context, userID, metric string, lo, hi int64, fn func(*Sample) error) error {
	rows, err := s.db.Read(ctx).Raw(`SELECT recorded_at, source, value, sample_id FROM activity_samples
		WHERE user_id = ? AND metric = ? AND recorded_at >= ? AND recorded_at < ?
		ORDER BY recorded_at, source`, userID, metric, lo, hi).Rows()
	if err != nil {
		return translate("each sample", err, nil)
	}
	defer rows.Close()
	for rows.Next() {
		sm := Sample{Metric: metric}
		if err := scanSample(rows, &sm, false); err != nil {
			return translate("each sample", err, nil)
		}
		if err := fn(&sm); err != nil {
			return err
		}
	}
	return translate("each sample", rows.Err(), nil)
}

// isPostgres reports whether db speaks PostgreSQL ($n placeholders, LEAST).
func isPostgres(dialect string) bool { return dialect == database.Postgres }
