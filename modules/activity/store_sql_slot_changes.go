package activity

import (
	"context"
	"fmt"

	"github.com/fitloop/fitloop/platform/database"
)

// metricChangesSQL is the metric feed: slots in (changed_at, user_id,
// metric, slot_start) order along activity_metric_slots_changed
// (migrations/*/00017; 00020 made it cover the values). %s is the keyset
// condition, written as WorkoutChanges' is — a range on the time plus a
// filter on the rest of the key — so that both planners start the index
// walk at the cursor and stop after limit rows. The filter compares the
// key as a row value; text compares in byte order (SQLite's BINARY, the
// columns' "C" collation on PostgreSQL), the order of the ids.
// changed_at is read as text on SQLite, and parsed by StoredTime: the
// driver's own parse of a TIMESTAMP costs a full feed read seconds.
const metricChangesSQL = `SELECT user_id, metric, slot_start, value_sum, value_count, value_min, value_max, %[2]s
FROM activity_metric_slots %[1]s
ORDER BY changed_at, user_id, metric, slot_start LIMIT ?`

// metricFeedSQL is the feed's statements in a dialect: from the beginning,
// from an instant (a cursor without an id) and after a slot's change.
type metricFeedSQL struct{ from, since, after string }

var metricFeeds = map[bool]metricFeedSQL{false: newMetricFeed("CAST(changed_at AS TEXT)"), true: newMetricFeed("changed_at")}

func newMetricFeed(changedAt string) metricFeedSQL {
	return metricFeedSQL{
		from:  fmt.Sprintf(metricChangesSQL, "", changedAt),
		since: fmt.Sprintf(metricChangesSQL, "WHERE changed_at >= ?", changedAt),
		after: fmt.Sprintf(metricChangesSQL,
			"WHERE changed_at >= ? AND (changed_at > ? OR (user_id, metric, slot_start) > (?, ?, ?))", changedAt),
	}
}

// MetricChanges returns the slots stamped after the cursor, in feed order;
// times compare as they are stored (see database.UTC).
func (s *SQLStore) MetricChanges(ctx context.Context, after ChangeCursor, limit int) ([]MetricSlotChange, error) {
	f, err := checkMetricFeed(after, limit)
	if err != nil {
		return nil, err
	}
	var query string
	var args []any
	stmts := metricFeeds[isPostgres(s.db.Dialect())]
	switch {
	case f.all:
		query, args = stmts.from, []any{limit}
	case f.fromAt:
		query, args = stmts.since, []any{f.at, limit}
	default:
		query, args = stmts.after, []any{f.at, f.at, f.userID, f.metric, f.start, limit}
	}
	rows, err := s.db.Read(ctx).Raw(query, args...).Rows()
	if err != nil {
		return nil, translate("metric changes", err, nil)
	}
	defer rows.Close()
	out := make([]MetricSlotChange, 0, limit) // a load reads full pages
	for rows.Next() {
		var c MetricSlotChange
		var start int64
		if err := rows.Scan(&c.UserID, &c.Metric, &start, &c.Sum, &c.Count, &c.Min, &c.Max, database.StoredTime{T: &c.ChangedAt}); err != nil {
			return nil, translate("metric changes", err, nil)
		}
		c.SlotStart = fromMicros(start)
		out = append(out, c)
	}
	return out, translate("metric changes", rows.Err(), nil)
}
