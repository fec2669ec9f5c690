package activity

import (
	"context"
	"fmt"
)

// metricChangesSQL is the metric feed: slots in (changed_at, user_id,
// metric, slot_start) order along activity_metric_slots_changed
// (migrations/*/00017; 00020 made it cover the values). %s is the keyset
// condition, written as WorkoutChanges' is — a range on the time plus a
// filter on the rest of the key — so that both planners start the index
// walk at the cursor and stop after limit rows. The filter compares the
// key as a row value; text compares in byte order (SQLite's BINARY, the
// columns' "C" collation on PostgreSQL), the order of the ids.
const metricChangesSQL = `SELECT user_id, metric, slot_start, value_sum, value_count, value_min, value_max, changed_at
FROM activity_metric_slots %s
ORDER BY changed_at, user_id, metric, slot_start LIMIT ?`

// The feed from the beginning, from an instant (a cursor without an id)
// and after a slot's change.
var (
	metricChangesFrom  = fmt.Sprintf(metricChangesSQL, "")
	metricChangesSince = fmt.Sprintf(metricChangesSQL, "WHERE changed_at >= ?")
	metricChangesAfter = fmt.Sprintf(metricChangesSQL,
		"WHERE changed_at >= ? AND (changed_at > ? OR (user_id, metric, slot_start) > (?, ?, ?))")
)

// MetricChanges returns the slots stamped after the cursor, in feed order;
// times compare as they are stored (see database.UTC).
func (s *SQLStore) MetricChanges(ctx context.Context, after ChangeCursor, limit int) ([]MetricSlotChange, error) {
	f, err := checkMetricFeed(after, limit)
	if err != nil {
		return nil, err
	}
	var query string
	var args []any
	switch {
	case f.all:
		query, args = metricChangesFrom, []any{limit}
	case f.fromAt:
		query, args = metricChangesSince, []any{f.at, limit}
	default:
		query, args = metricChangesAfter, []any{f.at, f.at, f.userID, f.metric, f.start, limit}
	}
	rows, err := s.db.Read(ctx).Raw(query, args...).Rows()
	if err != nil {
		return nil, translate("metric changes", err, nil)
	}
	defer rows.Close()
	out := make([]MetricSlotChange, 0, min(limit, 256))
	for rows.Next() {
		var c MetricSlotChange
		var start int64
		if err := rows.Scan(&c.UserID, &c.Metric, &start, &c.Sum, &c.Count, &c.Min, &c.Max, &c.ChangedAt); err != nil {
			return nil, translate("metric changes", err, nil)
		}
		c.SlotStart, c.ChangedAt = fromMicros(start), c.ChangedAt.UTC()
		out = append(out, c)
	}
	return out, translate("metric changes", rows.Err(), nil)
}
