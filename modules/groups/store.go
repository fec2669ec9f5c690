package groups

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fitloop/fitloop/platform/database"
)

type sessionRow struct {
	ID          string `gorm:"primaryKey"`
	HostID      string
	Title       string
	WorkoutType string
	Capacity    int
	Visibility  string
	StartsAt    time.Time
	EndsAt      *time.Time
	EndedAt     *time.Time
	EndReason   string
	MeetingID   *string
	CreatedBy   string
	CreatedAt   time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt   time.Time `gorm:"autoUpdateTime:false"`
}

func (sessionRow) TableName() string { return "groups_sessions" }

type inviteRow struct {
	SessionID string `gorm:"primaryKey"`
	UserID    string `gorm:"primaryKey"`
	InvitedBy string
	CreatedAt time.Time `gorm:"autoCreateTime:false"`
}

func (inviteRow) TableName() string { return "groups_invites" }

type meetingRow struct {
	ID          string `gorm:"primaryKey"`
	OrganizerID string
	Title       string
	StartTime   time.Time
	EndTime     time.Time
	SessionID   string
	ExternalKey *string
	CreatedAt   time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt   time.Time `gorm:"autoUpdateTime:false"`
}

func (meetingRow) TableName() string { return "groups_meetings" }

type attendeeRow struct {
	MeetingID string `gorm:"primaryKey"`
	UserID    string `gorm:"primaryKey"`
}

func (attendeeRow) TableName() string { return "groups_meeting_attendees" }

// store holds the module's tables. Times go in as UTC microseconds (the
// precision PostgreSQL keeps) and come out as UTC.
type store struct{ db *database.DB }

// utc and utcPtr put times in the form the store keeps.
var utc, utcPtr = database.UTC, database.UTCPtr

func (r *sessionRow) normalize() {
	r.StartsAt, r.EndsAt, r.EndedAt = utc(r.StartsAt), utcPtr(r.EndsAt), utcPtr(r.EndedAt)
	r.CreatedAt, r.UpdatedAt = utc(r.CreatedAt), utc(r.UpdatedAt)
}

func (r *meetingRow) normalize() {
	r.StartTime, r.EndTime = utc(r.StartTime), utc(r.EndTime)
	r.CreatedAt, r.UpdatedAt = utc(r.CreatedAt), utc(r.UpdatedAt)
}

func (st store) session(q *gorm.DB, id string) (*sessionRow, error) {
	if uuid.Validate(id) != nil { // nothing else is stored; PostgreSQL refuses a NUL
		return nil, ErrSessionNotFound
	}
	var r sessionRow
	if err := q.Where("id = ?", id).Take(&r).Error; err != nil {
		if database.IsNotFound(err) {
			return nil, ErrSessionNotFound
		}
		return nil, err
	}
	r.normalize()
	return &r, nil
}

// locking makes tx's next read lock the rows it reads: FOR UPDATE on
// PostgreSQL; SQLite's one writer serialises write transactions anyway.
func (st store) locking(tx *gorm.DB) *gorm.DB {
	if st.db.Dialect() == database.Postgres {
		return tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return tx
}

// sessionForUpdate reads a session in a write transaction, locked.
func (st store) sessionForUpdate(tx *gorm.DB, id string) (*sessionRow, error) {
	return st.session(st.locking(tx), id)
}

// invited reports whether userID is invited to the session.
func (st store) invited(q *gorm.DB, sessionID, userID string) (bool, error) {
	var n int64
	err := q.Model(&inviteRow{}).Where("session_id = ? AND user_id = ?", sessionID, userID).Count(&n).Error
	return n > 0, err
}

// addInvites invites users (repeats are no-ops) and returns every invitee.
func (st store) addInvites(tx *gorm.DB, sessionID, by string, userIDs []string, now time.Time) ([]string, error) {
	if len(userIDs) > 0 {
		rows := make([]inviteRow, len(userIDs))
		for i, u := range userIDs {
			rows[i] = inviteRow{SessionID: sessionID, UserID: u, InvitedBy: by, CreatedAt: utc(now)}
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
			return nil, err
		}
	}
	return st.invitees(tx, sessionID)
}

func (st store) invitees(q *gorm.DB, sessionID string) ([]string, error) {
	out := []string{}
	err := q.Model(&inviteRow{}).Where("session_id = ?", sessionID).Order("user_id").Pluck("user_id", &out).Error
	return out, err
}

// visibleTo is the condition for the sessions a user may see: public ones,
// the ones they host and the ones they are invited to.
func visibleTo(q *gorm.DB, userID string) *gorm.DB {
	return q.Where("(visibility = ? OR host_id = ? OR EXISTS (SELECT 1 FROM groups_invites i "+
		"WHERE i.session_id = groups_sessions.id AND i.user_id = ?))", Public, userID, userID)
}

// sessionCursor is a keyset position in a list of sessions.
type sessionCursor struct {
	StartsAt time.Time
	ID       string
}

// sessions lists a page of sessions in a state at now: scheduled soonest
// first, live and ended latest first. viewer "" sees every session.
func (st store) sessions(ctx context.Context, state, viewer string, after *sessionCursor, limit int, now time.Time) ([]sessionRow, error) {
	q := st.db.Read(ctx).Model(&sessionRow{})
	now = utc(now)
	asc := state == StateScheduled
	switch state {
	case StateScheduled:
		q = q.Where("ended_at IS NULL AND starts_at > ?", now)
	case StateLive:
		q = q.Where("ended_at IS NULL AND starts_at <= ? AND (ends_at IS NULL OR ends_at > ?)", now, now)
	default: // ended, or past its ends_at and not yet recorded by groups.end_due
		q = q.Where("(ended_at IS NOT NULL OR ends_at <= ?)", now)
	}
	if viewer != "" {
		q = visibleTo(q, viewer)
	}
	if after != nil {
		at := utc(after.StartsAt)
		if asc {
			q = q.Where("starts_at >= ? AND (starts_at > ? OR id > ?)", at, at, after.ID)
		} else {
			q = q.Where("starts_at <= ? AND (starts_at < ? OR id < ?)", at, at, after.ID)
		}
	}
	order := "starts_at DESC, id DESC"
	if asc {
		order = "starts_at, id"
	}
	var rows []sessionRow
	if err := q.Order(order).Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].normalize()
	}
	return rows, nil
}

// endSession marks a session ended unless it already is; ended tells
// whether this call ended it.
func (st store) endSession(tx *gorm.DB, id, reason string, now time.Time) (ended bool, err error) {
	res := tx.Model(&sessionRow{}).Where("id = ? AND ended_at IS NULL", id).
		Updates(map[string]any{"ended_at": utc(now), "end_reason": reason, "updated_at": utc(now)})
	return res.RowsAffected == 1, res.Error
}

// meetingForUpdate reads a meeting in a write transaction, locked, so
// that an update and a cancellation take turns.
func (st store) meetingForUpdate(tx *gorm.DB, id string) (*meetingRow, error) {
	return st.meeting(st.locking(tx), id)
}

func (st store) meeting(q *gorm.DB, id string) (*meetingRow, error) {
	if uuid.Validate(id) != nil {
		return nil, ErrMeetingNotFound
	}
	var r meetingRow
	if err := q.Where("id = ?", id).Take(&r).Error; err != nil {
		if database.IsNotFound(err) {
			return nil, ErrMeetingNotFound
		}
		return nil, err
	}
	r.normalize()
	return &r, nil
}

// endDue records the end of the sessions past their ends_at (at most
// limit) and returns the ids it ended.
func (st store) endDue(ctx context.Context, now time.Time, limit int) ([]string, error) {
	var ended []string
	err := st.db.Tx(ctx, func(tx *gorm.DB) error {
		ended = ended[:0]
		var due []string
		err := tx.Model(&sessionRow{}).Where("ended_at IS NULL AND ends_at <= ?", utc(now)).
			Order("ends_at").Limit(limit).Pluck("id", &due).Error
		if err != nil || len(due) == 0 {
			return err
		}
		for _, id := range due {
			res := tx.Model(&sessionRow{}).Where("id = ? AND ended_at IS NULL", id).
				Updates(map[string]any{"ended_at": gorm.Expr("ends_at"), "end_reason": EndedByTime, "updated_at": utc(now)})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				ended = append(ended, id)
			}
		}
		return nil
	})
	return ended, err
}

// unsummarized lists sessions that ended between from and to and have no
// summary (at most limit).
func (st store) unsummarized(ctx context.Context, from, to time.Time, limit int) ([]string, error) {
	var ids []string
	err := st.db.Read(ctx).Model(&sessionRow{}).
		Where("ended_at > ? AND ended_at <= ? AND NOT EXISTS (SELECT 1 FROM groups_summaries g WHERE g.session_id = groups_sessions.id)",
			utc(from), utc(to)).
		Order("ended_at").Limit(limit).Pluck("id", &ids).Error
	return ids, err
}

// liveIDs lists the sessions live at now, after the id after, at most limit.
func (st store) liveIDs(ctx context.Context, now time.Time, after string, limit int) ([]string, error) {
	var ids []string
	err := st.db.Read(ctx).Model(&sessionRow{}).
		Where("ended_at IS NULL AND starts_at <= ? AND (ends_at IS NULL OR ends_at > ?) AND id > ?", utc(now), utc(now), after).
		Order("id").Limit(limit).Pluck("id", &ids).Error
	return ids, err
}

func (st store) meetingByKey(q *gorm.DB, key string) (*meetingRow, error) {
	var r meetingRow
	if err := q.Where("external_key = ?", key).Take(&r).Error; err != nil {
		if database.IsNotFound(err) {
			return nil, ErrMeetingNotFound
		}
		return nil, err
	}
	r.normalize()
	return &r, nil
}

func (st store) attendees(q *gorm.DB, meetingID string) ([]string, error) {
	out := []string{}
	err := q.Model(&attendeeRow{}).Where("meeting_id = ?", meetingID).Order("user_id").Pluck("user_id", &out).Error
	return out, err
}

func (st store) isAttendee(q *gorm.DB, meetingID, userID string) (bool, error) {
	var n int64
	err := q.Model(&attendeeRow{}).Where("meeting_id = ? AND user_id = ?", meetingID, userID).Count(&n).Error
	return n > 0, err
}

// setAttendees adds and removes attendees of a meeting and mirrors them in
// its session's invites.
func (st store) setAttendees(tx *gorm.DB, m *meetingRow, add, remove []string, now time.Time) error {
	if len(add) > 0 {
		rows := make([]attendeeRow, len(add))
		for i, u := range add {
			rows[i] = attendeeRow{MeetingID: m.ID, UserID: u}
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
			return err
		}
		if _, err := st.addInvites(tx, m.SessionID, m.OrganizerID, add, now); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if err := tx.Where("meeting_id = ? AND user_id IN ?", m.ID, remove).Delete(&attendeeRow{}).Error; err != nil {
			return err
		}
		return tx.Where("session_id = ? AND user_id IN ?", m.SessionID, remove).Delete(&inviteRow{}).Error
	}
	return nil
}

// deleteMeeting removes a meeting, its attendees and, unless it has gone
// live, its session and invites.
func (st store) deleteMeeting(tx *gorm.DB, m *meetingRow, deleteSession bool) error {
	if err := tx.Where("meeting_id = ?", m.ID).Delete(&attendeeRow{}).Error; err != nil {
		return err
	}
	if err := tx.Where("id = ?", m.ID).Delete(&meetingRow{}).Error; err != nil {
		return err
	}
	if !deleteSession {
		return nil
	}
	if err := tx.Where("session_id = ?", m.SessionID).Delete(&inviteRow{}).Error; err != nil {
		return err
	}
	return tx.Where("id = ?", m.SessionID).Delete(&sessionRow{}).Error
}
