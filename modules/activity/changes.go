package activity

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/changefeed"
)

// MaxChanges is the most changes one WorkoutChanges or MetricChanges call
// answers.
const MaxChanges = changefeed.MaxLimit

// ChangeCursor is a position in a change feed of the module (workouts,
// metric rollups): changes are ordered by (ChangedAt, ID), and the feed
// answers those strictly after the cursor. The zero cursor is the
// beginning. At is kept to the microsecond, as every stored time is.
type ChangeCursor = changefeed.Cursor

// WorkoutChange is a workout as it is after a write: created, changed
// (ended, edited) or deleted. A live workout carries its fields, active
// ones (EndTime nil) included, and ChangedAt is its updated_at. A tombstone
// (Deleted) carries only ID, UserID and ChangedAt, the time of the deletion
// — never earlier than the workout's last change — the other fields zero.
type WorkoutChange struct {
	ID             string
	UserID         string
	WorkoutType    string
	StartTime      time.Time
	EndTime        *time.Time // nil while the workout runs
	Duration       int64      // seconds; 0 while active
	CaloriesBurned float64
	DistanceKM     *float64
	AvgHeartRate   *int
	Source         string
	ChangedAt      time.Time
	Deleted        bool
}

// Cursor is the feed position of c: the next call starts after it.
func (c WorkoutChange) Cursor() ChangeCursor { return ChangeCursor{At: c.ChangedAt, ID: c.ID} }

// liveChange is the change a stored workout shows.
func liveChange(w *Workout) WorkoutChange {
	return WorkoutChange{ID: w.ID, UserID: w.UserID, WorkoutType: w.WorkoutType, StartTime: w.StartTime,
		EndTime: w.EndTime, Duration: w.Duration, CaloriesBurned: w.CaloriesBurned, DistanceKM: w.DistanceKM,
		AvgHeartRate: w.AvgHeartRate, Source: w.Source, ChangedAt: w.UpdatedAt}
}

// checkChangeLimit refuses a page size of the feed out of 1..MaxChanges;
// the stores check it too.
func checkChangeLimit(limit int) error {
	if limit < 1 || limit > MaxChanges {
		return fmt.Errorf("activity: workout changes: limit %d is not between 1 and %d", limit, MaxChanges)
	}
	return nil
}

// WorkoutChanges returns the workouts created, changed or deleted after
// the cursor, ordered by (ChangedAt, ID), at most limit (1 to MaxChanges):
// the feed the ETL module extracts workouts through (issue 6). Fewer than
// limit means the feed is exhausted for now. It trusts its caller: no
// principal is checked. Errors: Invalid for a limit out of range.
//
// ChangedAt is the time of the write as the writing replica's clock saw it,
// taken before its transaction commits. A write may therefore commit after
// another one stamped later, and a consumer whose cursor had passed that
// later stamp would never see it. A consumer should take only the changes
// stamped before the present minus a margin (a few minutes covers commit
// delays and clock skew between replicas), or read again from a little
// before its cursor: applying a change twice is harmless, since each
// carries the workout's whole state.
//
// On MongoDB the feed is as good as the store's writes without
// transactions: a crash between a deletion and its tombstone loses the
// tombstone (see mongoStore.DeleteWorkout).
func (m *Module) WorkoutChanges(ctx context.Context, after ChangeCursor, limit int) ([]WorkoutChange, error) {
	if err := changefeed.CheckLimit(limit); err != nil {
		return nil, err
	}
	return m.svc.store.WorkoutChanges(ctx, after, limit)
}

// MetricSlotChange is one 15-minute rollup of a user's metric as it is
// after its latest write: the totals of every sample stored in the slot so
// far. Rollups only grow (samples are never changed, and deleted only with
// their account, which the warehouse learns from the users feed), so the
// feed has no tombstones. (MetricChange is taken: a report's comparison of
// a metric with the previous period.)
type MetricSlotChange struct {
	UserID    string
	Metric    string
	SlotStart time.Time // UTC, a multiple of 15 minutes
	Sum       float64
	Count     int64
	Min, Max  float64
	ChangedAt time.Time
}

// Cursor is the feed position of c: the next call starts after it. Its ID
// names the slot (see metricChangeID).
func (c MetricSlotChange) Cursor() ChangeCursor {
	return ChangeCursor{At: c.ChangedAt, ID: metricChangeID(c.UserID, c.Metric, c.SlotStart.UnixMicro())}
}

// metricIDSep joins the parts of a metric change's id.
const metricIDSep = "\x1f"

// metricChangeID is the id of a slot in the metric feed: user id, metric
// and the slot's start in unix microseconds, joined by metricIDSep; the
// start is 19 digits, or before 1970 "-" and the 19 digits of start+2^63.
// Byte order on such ids is the order of (user_id, metric, slot_start),
// the order the stores page in, as long as user ids and metric names hold
// no byte below 0x20 — they are UUIDs and catalog names. (0x1f, not NUL:
// a PostgreSQL text column refuses NUL, and consumers store the cursor.)
func metricChangeID(userID, metric string, start int64) string {
	digits := strconv.FormatUint(uint64(start), 10)
	prefix := ""
	if start < 0 {
		digits, prefix = strconv.FormatUint(uint64(start-math.MinInt64), 10), "-"
	}
	return userID + metricIDSep + metric + metricIDSep + prefix + strings.Repeat("0", 19-len(digits)) + digits
}

// parseMetricChangeID is the inverse of metricChangeID; ok is false for
// any string it does not make.
func parseMetricChangeID(id string) (userID, metric string, start int64, ok bool) {
	rest, digits, found := cutLast(id, metricIDSep)
	if !found {
		return "", "", 0, false
	}
	userID, metric, found = cutLast(rest, metricIDSep)
	if !found {
		return "", "", 0, false
	}
	neg := strings.HasPrefix(digits, "-")
	n, err := strconv.ParseUint(strings.TrimPrefix(digits, "-"), 10, 64)
	if err != nil || n > math.MaxInt64 {
		return "", "", 0, false
	}
	start = int64(n)
	if neg {
		start += math.MinInt64
	}
	return userID, metric, start, metricChangeID(userID, metric, start) == id
}

// cutLast slices s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// metricFeedStart is where a metric feed page starts.
type metricFeedStart struct {
	at     time.Time // UTC, to the microsecond
	all    bool      // the zero cursor: every change
	fromAt bool      // an empty ID: every change at or after at
	userID string    // else the slot the ID names
	metric string
	start  int64
}

// checkMetricFeed checks a page request of the metric feed, as both stores
// answer it: Invalid for a limit out of range (field "limit") or an ID
// that names no slot (field "after").
func checkMetricFeed(after ChangeCursor, limit int) (metricFeedStart, error) {
	if err := changefeed.CheckLimit(limit); err != nil {
		return metricFeedStart{}, err
	}
	f := metricFeedStart{at: utc(after.At), all: after == (ChangeCursor{}), fromAt: after.ID == ""}
	if f.all || f.fromAt {
		return f, nil
	}
	var ok bool
	if f.userID, f.metric, f.start, ok = parseMetricChangeID(after.ID); !ok {
		return metricFeedStart{}, apperr.FieldError("after", "must be the cursor of a metric change")
	}
	return f, nil
}

// lastStamp is the latest rollup change stamp handed out, in unix µs.
var lastStamp atomic.Int64

// changeStamp is the time a write stamps the rollups it changes with: the
// writing replica's clock in UTC to the microsecond, and strictly later than every
// stamp handed out before in this process — so a slot written twice always
// moves on in the feed, and on SQLite, whose one writer takes the stamp
// inside its transaction, stamps follow commit order even across a step
// back of the clock.
func changeStamp() time.Time {
	now := time.Now().UnixMicro()
	for {
		last := lastStamp.Load()
		next := max(now, last+1)
		if lastStamp.CompareAndSwap(last, next) {
			return time.UnixMicro(next).UTC()
		}
	}
}

// MetricChanges returns the 15-minute rollups written after the cursor,
// each with its totals as they are now, ordered by (ChangedAt, ID) where ID
// is the change's Cursor().ID (user, metric, slot start), at most limit (1
// to MaxChanges): the feed the ETL module loads fact_daily_metrics through.
// Samples recorded long ago but stored now (a late import) change old slots
// and come with the present's stamp. Fewer than limit means the feed is
// exhausted for now. It trusts its caller: no principal is checked.
// Errors: Invalid for a limit out of range (field "limit") or a cursor ID
// not made by MetricSlotChange.Cursor (field "after").
//
// A cursor with an empty ID stands before its instant: the feed answers
// every change at or after At (a consumer re-reading its lag window).
// ChangedAt is the writing replica's clock when its write ran, taken before
// the commit (on MongoDB before the samples are inserted), so, as for
// WorkoutChanges, a consumer re-reads a margin behind its cursor; each
// change carries the slot's whole totals, so applying one twice is
// harmless.
func (m *Module) MetricChanges(ctx context.Context, after ChangeCursor, limit int) ([]MetricSlotChange, error) {
	if err := changefeed.CheckLimit(limit); err != nil {
		return nil, err
	}
	return m.svc.store.MetricChanges(ctx, after, limit)
}
