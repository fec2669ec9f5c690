package groups

import (
	"context"
	"errors"
	"slices"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/database"
)

// A meeting is an invite-only session whose host is the organizer and whose
// invitees are the attendees: it opens as a live session at its start for
// them only and ends at its end. Its rows and its session's change
// together, in one transaction.

// CreateMeeting implements Service.
func (s *service) CreateMeeting(ctx context.Context, in MeetingInput) (*Meeting, error) {
	p, err := auth.Caller(ctx)
	if err != nil {
		return nil, err
	}
	v := apperr.Validation{}
	v.Check(in.StartTime != nil, "start_time", "is required")
	v.Check(in.EndTime != nil, "end_time", "is required")
	spec := MeetingSpec{OrganizerID: p.UserID, Title: in.Title, WorkoutType: in.WorkoutType, AttendeeIDs: in.AttendeeIDs}
	if in.StartTime != nil && in.EndTime != nil {
		spec.Start, spec.End = *in.StartTime, *in.EndTime
	}
	return s.createMeeting(ctx, v, spec)
}

// ScheduleMeeting implements Meetings.
func (s *service) ScheduleMeeting(ctx context.Context, spec MeetingSpec) (*Meeting, error) {
	if spec.Key == "" {
		return nil, apperr.FieldError("key", "is required")
	}
	if m, err := s.st.meetingByKey(s.st.db.Read(ctx), spec.Key); err == nil {
		return s.meetingDTO(s.st.db.Read(ctx), m)
	} else if !errors.Is(err, ErrMeetingNotFound) {
		return nil, err
	}
	return s.createMeeting(ctx, apperr.Validation{}, spec)
}

func (s *service) createMeeting(ctx context.Context, v apperr.Validation, spec MeetingSpec) (*Meeting, error) {
	now := s.now()
	title := checkTitle(v, "title", spec.Title)
	if spec.WorkoutType == "" {
		spec.WorkoutType = DefaultMeetingType
	}
	v.Check(s.catalog.KnownWorkoutType(spec.WorkoutType), "workout_type", "must be a type from GET /api/v1/workout-types")
	start, end := utc(spec.Start), utc(spec.End)
	if !spec.Start.IsZero() && !spec.End.IsZero() {
		checkSpan(v, "start_time", "end_time", start, &end, now, true)
	}
	ids, err := s.checkUsers(ctx, v, "attendee_ids", spec.AttendeeIDs, spec.OrganizerID)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if start.Before(now) {
		start = now // within PastSlack: now
	}
	m := &meetingRow{ID: newID(), OrganizerID: spec.OrganizerID, Title: title, StartTime: start, EndTime: end,
		SessionID: newID(), CreatedAt: now, UpdatedAt: now}
	if spec.Key != "" {
		m.ExternalKey = &spec.Key
	}
	sess := &sessionRow{ID: m.SessionID, HostID: m.OrganizerID, Title: title, WorkoutType: spec.WorkoutType,
		Capacity: meetingCapacity(len(ids)), Visibility: Invite, StartsAt: start, EndsAt: &end,
		MeetingID: &m.ID, CreatedBy: m.OrganizerID, CreatedAt: now, UpdatedAt: now}
	err = s.st.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(sess).Error; err != nil {
			return err
		}
		if err := tx.Create(m).Error; err != nil {
			return err
		}
		return s.st.setAttendees(tx, m, ids, nil, now)
	})
	if database.IsUniqueViolation(err) && spec.Key != "" { // a concurrent repeat won
		return s.ScheduleMeeting(ctx, spec)
	}
	if err != nil {
		return nil, err
	}
	return s.meetingDTO(s.st.db.Read(ctx), m)
}

// meetingCapacity is the capacity of a meeting's session: its attendees
// and its organizer.
func meetingCapacity(attendees int) int { return min(max(attendees+1, 2), MaxCapacity) }

// meetingDTO reads the attendees and the session's state and type.
func (s *service) meetingDTO(q *gorm.DB, m *meetingRow) (*Meeting, error) {
	att, err := s.st.attendees(q, m.ID)
	if err != nil {
		return nil, err
	}
	r, err := s.st.session(q, m.SessionID)
	if err != nil {
		return nil, err
	}
	return &Meeting{ID: m.ID, Title: m.Title, OrganizerID: m.OrganizerID, WorkoutType: r.WorkoutType,
		StartTime: m.StartTime, EndTime: m.EndTime, AttendeeIDs: att, SessionID: m.SessionID,
		State: r.stateAt(s.now()), CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}, nil
}

// visibleMeeting reads a meeting for its organizer, an attendee or an
// admin; anyone else gets ErrMeetingNotFound. organizer tells whether the
// caller may change it.
func (s *service) visibleMeeting(ctx context.Context, q *gorm.DB, meetingID string, forUpdate bool) (m *meetingRow, organizer bool, err error) {
	p, err := auth.Caller(ctx)
	if err != nil {
		return nil, false, err
	}
	read := s.st.meeting
	if forUpdate {
		read = s.st.meetingForUpdate
	}
	if m, err = read(q, meetingID); err != nil {
		return nil, false, err
	}
	if p.IsAdmin() || m.OrganizerID == p.UserID {
		return m, true, nil
	}
	if ok, err := s.st.isAttendee(q, m.ID, p.UserID); err != nil || !ok {
		return nil, false, orNotFound(err, ErrMeetingNotFound)
	}
	return m, false, nil
}

// FindMeeting implements Service.
func (s *service) FindMeeting(ctx context.Context, meetingID string) (*Meeting, error) {
	q := s.st.db.Read(ctx)
	m, _, err := s.visibleMeeting(ctx, q, meetingID, false)
	if err != nil {
		return nil, err
	}
	return s.meetingDTO(q, m)
}

// UpdateMeeting implements Service. The start may move until the meeting
// has begun; the end may move (within MaxDuration of the start) until it
// has ended.
func (s *service) UpdateMeeting(ctx context.Context, meetingID string, upd MeetingUpdate) (*Meeting, error) {
	if _, err := auth.Caller(ctx); err != nil {
		return nil, err
	}
	v := apperr.Validation{}
	add, err := s.checkUsers(ctx, v, "add_attendee_ids", upd.AddAttendeeIDs, "")
	if err != nil {
		return nil, err
	}
	var m *meetingRow
	err = s.st.db.Tx(ctx, func(tx *gorm.DB) error {
		var organizer bool
		if m, organizer, err = s.visibleMeeting(ctx, tx, meetingID, true); err != nil {
			return err
		}
		if !organizer {
			return ErrNotOrganizer
		}
		sess, err := s.st.sessionForUpdate(tx, m.SessionID)
		if errors.Is(err, ErrSessionNotFound) { // cancelled meanwhile
			return ErrMeetingNotFound
		} else if err != nil {
			return err
		}
		now := s.now()
		if sess.stateAt(now) == StateEnded {
			return ErrSessionEnded
		}
		if upd.Title != nil {
			m.Title = checkTitle(v, "title", *upd.Title)
		}
		start, end := m.StartTime, m.EndTime
		if upd.StartTime != nil {
			if !now.Before(m.StartTime) && !utc(*upd.StartTime).Equal(m.StartTime) {
				return ErrMeetingStarted
			}
			start = utc(*upd.StartTime)
		}
		if upd.EndTime != nil {
			end = utc(*upd.EndTime)
		}
		checkSpan(v, "start_time", "end_time", start, &end, now, upd.StartTime != nil && !start.Equal(m.StartTime))
		remove := slices.DeleteFunc(slices.Clone(upd.RemoveAttendeeIDs), func(id string) bool { return id == m.OrganizerID })
		if len(upd.RemoveAttendeeIDs) > MaxInvites {
			v.Add("remove_attendee_ids", "must hold at most 200 user ids")
		}
		if err := v.Err(); err != nil {
			return err
		}
		add = slices.DeleteFunc(add, func(id string) bool { return id == m.OrganizerID })
		m.StartTime, m.EndTime, m.UpdatedAt = start, end, now
		if err := tx.Model(m).Select("title", "start_time", "end_time", "updated_at").Updates(m).Error; err != nil {
			return err
		}
		if err := s.st.setAttendees(tx, m, add, remove, now); err != nil {
			return err
		}
		att, err := s.st.attendees(tx, m.ID)
		if err != nil {
			return err
		}
		return tx.Model(sess).Select("title", "starts_at", "ends_at", "capacity", "updated_at").
			Updates(&sessionRow{Title: m.Title, StartsAt: start, EndsAt: &end, UpdatedAt: now,
				Capacity: max(sess.Capacity, meetingCapacity(len(att)))}).Error
	})
	if err != nil {
		return nil, err
	}
	return s.meetingDTO(s.st.db.Read(ctx), m)
}

// DeleteMeeting implements Service.
func (s *service) DeleteMeeting(ctx context.Context, meetingID string) error {
	var ended string
	err := s.st.db.Tx(ctx, func(tx *gorm.DB) (err error) {
		m, organizer, err := s.visibleMeeting(ctx, tx, meetingID, true)
		if err != nil {
			return err
		}
		if !organizer {
			return ErrNotOrganizer
		}
		ended, err = s.cancel(tx, m)
		return err
	})
	if err == nil && ended != "" {
		s.closeLive(ctx, ended, EndedMeeting)
	}
	return err
}

// CancelMeeting implements Meetings.
func (s *service) CancelMeeting(ctx context.Context, meetingID string) error {
	var ended string
	err := s.st.db.Tx(ctx, func(tx *gorm.DB) error {
		m, err := s.st.meetingForUpdate(tx, meetingID)
		if errors.Is(err, ErrMeetingNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ended, err = s.cancel(tx, m)
		return err
	})
	if err == nil && ended != "" {
		s.closeLive(ctx, ended, EndedMeeting)
	}
	return err
}

// cancel deletes a meeting. Its session goes too unless it has begun: a
// live one ends (its summary is kept), an ended one stays. ended is the id
// of a live session it ended, whose room must be told.
func (s *service) cancel(tx *gorm.DB, m *meetingRow) (ended string, err error) {
	sess, err := s.st.sessionForUpdate(tx, m.SessionID)
	if err != nil && !errors.Is(err, ErrSessionNotFound) {
		return "", err
	}
	now := s.now()
	begun := sess != nil && sess.stateAt(now) != StateScheduled
	if begun { // it stays as a record, ended, without its meeting
		ok, err := s.st.endSession(tx, sess.ID, EndedMeeting, now)
		if err != nil {
			return "", err
		}
		if ok {
			ended = sess.ID
		}
		if err := tx.Model(sess).Update("meeting_id", nil).Error; err != nil {
			return "", err
		}
	}
	return ended, s.st.deleteMeeting(tx, m, !begun)
}
