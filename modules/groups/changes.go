package groups

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fitloop/fitloop/platform/changefeed"
)

// MaxChanges is the most changes one SessionChanges call answers.
const MaxChanges = changefeed.MaxLimit

// ChangeCursor is a position in the attendance feed: changes are ordered
// by (ChangedAt, SessionID), ids in byte order, and the feed answers those
// strictly after the cursor. The zero cursor is the beginning; a cursor
// with ID "" stands before every change at At. At is kept to the
// microsecond, as every stored time is.
type ChangeCursor = changefeed.Cursor

// SessionChange is an ended session's attendance as its summary holds it
// after its latest write: the summary is written once when the session
// ends and rewritten when a participant's account is erased (without
// them). A consumer replaces everything it holds of the session with it.
type SessionChange struct {
	SessionID   string
	WorkoutType string
	// StartedAt is the session's starts_at, when it went live (nobody can
	// join before). A session ended before it went live has EndedAt there,
	// and no attendees.
	StartedAt time.Time
	EndedAt   time.Time
	// Attendees are everyone the summary names as present, in user id
	// order; it may be empty (nobody came, or all who came were erased).
	Attendees []Attendance
	// ChangedAt is when the summary was written or last rewritten.
	ChangedAt time.Time
	// Deleted marks a tombstone, which carries SessionID and ChangedAt
	// only. The feed has none today: a summary is never deleted (an erased
	// host's ended sessions stay for their participants, and a meeting's
	// cancellation keeps a session that has begun or ended); a consumer
	// should still honour the flag.
	Deleted bool
}

// Attendance is one participant's presence in an ended session, folded
// from their stints in the summary. Its times, as SessionChange's, are UTC
// to the microsecond.
type Attendance struct {
	UserID   string
	JoinedAt time.Time // the first join
	LeftAt   time.Time // the last leave, or the end for one present then
	PresentS int64     // whole seconds present over all stints
}

// Cursor is the feed position of c: the next call starts after it.
func (c SessionChange) Cursor() ChangeCursor { return ChangeCursor{At: c.ChangedAt, ID: c.SessionID} }

// SessionChanges returns the ended sessions whose summary was written or
// rewritten after the cursor, ordered by (ChangedAt, SessionID), at most
// limit (1 to MaxChanges; otherwise an apperr Invalid on "limit"), for the
// module that loads the reporting warehouse (main.go adapts it). ChangedAt
// comes from the writing replica's clock before its commit: a consumer
// re-reads a margin before its cursor (a cursor with ID "") and applies
// changes idempotently.
func (m *Module) SessionChanges(ctx context.Context, after ChangeCursor, limit int) ([]SessionChange, error) {
	if err := changefeed.CheckLimit(limit); err != nil {
		return nil, err
	}
	rows, err := m.svc.st.summaryChanges(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("groups: session changes: %w", err)
	}
	out := make([]SessionChange, 0, len(rows))
	for i := range rows {
		c, err := sessionChange(&rows[i])
		if err != nil {
			return nil, fmt.Errorf("groups: session changes: %s: %w", rows[i].SessionID, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// summaryChanges reads the summaries written after the cursor, in
// (updated_at, session_id) order, along groups_summaries_changes: the
// redundant "updated_at >= ?" makes both planners start the index walk at
// the cursor. session_id is text in the "C" collation on PostgreSQL and
// SQLite's binary one, so the order is Go's byte order on both. The time
// is bound in UTC: SQLite compares TIMESTAMP text, which orders as time
// only when every value has the same zone.
func (st store) summaryChanges(ctx context.Context, after ChangeCursor, limit int) ([]summaryRow, error) {
	q := st.db.Read(ctx).Model(&summaryRow{})
	if after != (ChangeCursor{}) {
		at := utc(after.At)
		q = q.Where("updated_at >= ? AND (updated_at > ? OR session_id > ?)", at, at, after.ID)
	}
	var rows []summaryRow
	err := q.Order("updated_at, session_id").Limit(limit).Find(&rows).Error
	return rows, err
}

// sessionChange folds a stored summary into its change.
func sessionChange(r *summaryRow) (SessionChange, error) {
	var sum Summary
	if err := json.Unmarshal([]byte(r.Summary), &sum); err != nil {
		return SessionChange{}, err
	}
	c := SessionChange{SessionID: r.SessionID, WorkoutType: sum.WorkoutType, StartedAt: utc(sum.StartsAt),
		EndedAt: utc(sum.EndedAt), Attendees: []Attendance{}, ChangedAt: utc(r.UpdatedAt)}
	if c.EndedAt.Before(c.StartedAt) {
		c.StartedAt = c.EndedAt
	}
	for _, p := range sum.Participants {
		if a, ok := attendance(p); ok {
			c.Attendees = append(c.Attendees, a)
		}
	}
	slices.SortFunc(c.Attendees, func(a, b Attendance) int { return strings.Compare(a.UserID, b.UserID) })
	return c, nil
}

// attendance folds a participant's stints; one without any (never present
// for a moment) was not there.
func attendance(p SummaryParticipant) (Attendance, bool) {
	if len(p.Stints) == 0 {
		return Attendance{}, false
	}
	a := Attendance{UserID: p.UserID, JoinedAt: p.Stints[0].JoinedAt, LeftAt: p.Stints[0].LeftAt, PresentS: p.PresentS}
	for _, s := range p.Stints[1:] {
		if s.JoinedAt.Before(a.JoinedAt) {
			a.JoinedAt = s.JoinedAt
		}
		if s.LeftAt.After(a.LeftAt) {
			a.LeftAt = s.LeftAt
		}
	}
	a.JoinedAt, a.LeftAt = utc(a.JoinedAt), utc(a.LeftAt)
	return a, true
}
