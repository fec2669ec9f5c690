package etl

import (
	"time"

	"gorm.io/gorm"
)

var (
	sessionCols = []string{"session_id", "user_key", "date_key", "workout_type", "joined_at", "left_at", "present_s"}
	sessionKey  = []string{"session_id", "user_key"}
)

// applySessions replaces each changed session's rows in
// fact_group_sessions: one per attendee, dated by their local day of
// joining. A tombstone takes the session's rows out.
func (l *Loader) applySessions(tx *gorm.DB, rows []SessionChange, st *Stats) error {
	c := st.table("fact_group_sessions")
	c.Read += len(rows)
	type attendee struct {
		s *SessionChange
		a Attendance
	}
	var all []attendee
	ids := make([]string, 0, len(rows))
	for i := range rows {
		ids = append(ids, rows[i].SessionID)
		if rows[i].Deleted {
			continue
		}
		for _, a := range rows[i].Attendees {
			all = append(all, attendee{&rows[i], a})
		}
	}
	keys := pseudonyms(l.key, all, func(a attendee) string { return a.a.UserID })
	zones, erased, err := l.batchUsers(tx, keys)
	if err != nil {
		return err
	}
	res := tx.Exec("DELETE FROM fact_group_sessions WHERE session_id IN ?", ids)
	if res.Error != nil {
		return res.Error
	}
	c.Written += int(res.RowsAffected)
	facts := make([][]any, 0, len(all))
	dates := map[int]dimDate{}
	types := map[string]bool{}
	for i, a := range all {
		key := keys[i]
		if erased[key] {
			continue
		}
		d := dateRow(a.a.JoinedAt.In(zones[key]))
		dates[d.DateKey] = d
		types[a.s.WorkoutType] = true
		facts = append(facts, []any{a.s.SessionID, key, d.DateKey, a.s.WorkoutType, a.a.JoinedAt.UTC(), a.a.LeftAt.UTC(), a.a.PresentS})
	}
	if err := upsertDims(tx, dates, types); err != nil {
		return err
	}
	if err := upsert(tx, "fact_group_sessions", sessionCols, sessionKey, facts); err != nil {
		return err
	}
	c.Written += len(facts)
	return nil
}

type factGroupSession struct {
	SessionID string `gorm:"primaryKey"`
	UserKey   string `gorm:"primaryKey"`
	DateKey   int
	JoinedAt  time.Time
}

func (factGroupSession) TableName() string { return "fact_group_sessions" }

// redateSessions dates a user's group sessions again in their new zone.
func redateSessions(tx *gorm.DB, key string, loc *time.Location, st *Stats) (map[int]dimDate, error) {
	var facts []factGroupSession
	if err := tx.Select("session_id", "user_key", "joined_at").Where("user_key = ?", key).Find(&facts).Error; err != nil {
		return nil, err
	}
	dates := map[int]dimDate{}
	for _, f := range facts {
		d := dateRow(f.JoinedAt.In(loc))
		dates[d.DateKey] = d
		err := tx.Model(&factGroupSession{}).Where("session_id = ? AND user_key = ?", f.SessionID, key).
			Update("date_key", d.DateKey).Error
		if err != nil {
			return nil, err
		}
	}
	st.table("fact_group_sessions").Written += len(facts)
	return dates, nil
}
