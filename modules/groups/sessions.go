package groups

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
)

// CreateSession implements Service.
func (s *service) CreateSession(ctx context.Context, in SessionInput) (*Session, error) {
	p, err := auth.Caller(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	v := apperr.Validation{}
	title := checkTitle(v, "title", in.Title)
	v.Check(in.WorkoutType != "", "workout_type", "is required")
	v.Check(in.WorkoutType == "" || s.catalog.KnownWorkoutType(in.WorkoutType), "workout_type",
		"must be a type from GET /api/v1/workout-types")
	capacity := DefaultCapacity
	if in.Capacity != nil {
		capacity = *in.Capacity
		v.Check(capacity >= 2 && capacity <= MaxCapacity, "capacity", "must be from 2 to 1000")
	}
	v.Check(in.Visibility == Public || in.Visibility == Invite, "visibility", "must be public or invite")
	start := now
	if in.StartsAt != nil {
		start = utc(*in.StartsAt)
	}
	checkSpan(v, "starts_at", "ends_at", start, utcPtr(in.EndsAt), now, in.StartsAt != nil)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if start.Before(now) {
		start = now // a start within PastSlack means now
	}
	r := &sessionRow{ID: newID(), HostID: p.UserID, Title: title, WorkoutType: in.WorkoutType,
		Capacity: capacity, Visibility: in.Visibility, StartsAt: start, EndsAt: utcPtr(in.EndsAt),
		CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now}
	if err := s.st.db.Tx(ctx, func(tx *gorm.DB) error { return tx.Create(r).Error }); err != nil {
		return nil, err
	}
	return r.dto(now), nil
}

// mayView reports whether the principal may see the session: admins, the
// host and invitees always; anyone signed in when it is public.
func (s *service) mayView(q *gorm.DB, p *auth.Principal, r *sessionRow) (bool, error) {
	if p.IsAdmin() || r.Visibility == Public || r.HostID == p.UserID {
		return true, nil
	}
	return s.st.invited(q, r.ID, p.UserID)
}

// visibleSession reads a session the caller may see; any other is
// ErrSessionNotFound, whether or not it exists.
func (s *service) visibleSession(ctx context.Context, sessionID string) (*auth.Principal, *sessionRow, error) {
	p, err := auth.Caller(ctx)
	if err != nil {
		return nil, nil, err
	}
	q := s.st.db.Read(ctx)
	r, err := s.st.session(q, sessionID)
	if err != nil {
		return nil, nil, err
	}
	if ok, err := s.mayView(q, p, r); err != nil || !ok {
		return nil, nil, orNotFound(err, ErrSessionNotFound)
	}
	return p, r, nil
}

func orNotFound(err, notFound error) error {
	if err != nil {
		return err
	}
	return notFound
}

// FindSession implements Service.
func (s *service) FindSession(ctx context.Context, sessionID string) (*SessionDetail, error) {
	_, r, err := s.visibleSession(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	out := &SessionDetail{Session: *r.dto(s.now()), Participants: []Participant{}}
	if out.State != StateLive {
		return out, nil
	}
	st, err := s.live.read(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	if st != nil {
		out.Participants = st.participants()
	}
	return out, nil
}

// FindSessions implements Service.
func (s *service) FindSessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	p, err := auth.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if f.State == "" {
		f.State = StateLive
	}
	v := apperr.Validation{}
	v.Check(f.State == StateScheduled || f.State == StateLive || f.State == StateEnded, "state",
		"must be live, scheduled or ended")
	var after *sessionCursor
	if f.Cursor != "" {
		c, ok := decodeSessionCursor(f.Cursor)
		v.Check(ok, "cursor", "is not a cursor this server issued")
		after = &c
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	viewer := p.UserID
	if p.IsAdmin() {
		viewer = ""
	}
	now := s.now()
	rows, err := s.st.sessions(ctx, f.State, viewer, after, f.Limit, now)
	if err != nil {
		return nil, err
	}
	out := make([]Session, len(rows))
	for i := range rows {
		out[i] = *rows[i].dto(now)
	}
	return out, nil
}

// SessionCursorKey is the opaque keyset position of a session in lists.
func SessionCursorKey(x Session) string {
	return x.StartsAt.UTC().Format(time.RFC3339Nano) + "|" + x.ID
}

func decodeSessionCursor(c string) (sessionCursor, bool) {
	ts, id, ok := strings.Cut(c, "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || id == "" {
		return sessionCursor{}, false
	}
	return sessionCursor{StartsAt: t.UTC(), ID: id}, true
}

// hostedSession reads a session for a change only its host or an admin
// may make: anyone else who may see it is refused, anyone who may not
// gets ErrSessionNotFound.
func (s *service) hostedSession(ctx context.Context, tx *gorm.DB, sessionID string) (*auth.Principal, *sessionRow, error) {
	p, err := auth.Caller(ctx)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.st.sessionForUpdate(tx, sessionID)
	if err != nil {
		return nil, nil, err
	}
	if p.IsAdmin() || r.HostID == p.UserID {
		return p, r, nil
	}
	if ok, err := s.mayView(tx, p, r); err != nil || !ok {
		return nil, nil, orNotFound(err, ErrSessionNotFound)
	}
	return nil, nil, ErrNotHost
}

// EndSession implements Service.
func (s *service) EndSession(ctx context.Context, sessionID string) (*Session, error) {
	var r *sessionRow
	now := s.now()
	err := s.st.db.Tx(ctx, func(tx *gorm.DB) error {
		p, row, err := s.hostedSession(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		r = row
		if r.stateAt(now) == StateEnded {
			return ErrSessionEnded
		}
		reason := EndedByHost
		if r.HostID != p.UserID {
			reason = EndedByAdmin
		}
		if _, err := s.st.endSession(tx, r.ID, reason, now); err != nil {
			return err
		}
		r.EndedAt, r.EndReason, r.UpdatedAt = &now, reason, now
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.closeLive(ctx, r.ID, r.EndReason)
	return r.dto(now), nil
}

// Invite implements Service. The users are checked before the
// transaction, so the writer is never held while another module answers.
func (s *service) Invite(ctx context.Context, sessionID string, userIDs []string) (*Invites, error) {
	if _, err := auth.Caller(ctx); err != nil {
		return nil, err
	}
	v := apperr.Validation{}
	v.Check(len(userIDs) > 0, "user_ids", "must name at least one user")
	ids, err := s.checkUsers(ctx, v, "user_ids", userIDs, "")
	if err != nil {
		return nil, err
	}
	var out *Invites
	err = s.st.db.Tx(ctx, func(tx *gorm.DB) error {
		p, r, err := s.hostedSession(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		switch {
		case r.stateAt(s.now()) == StateEnded:
			return ErrSessionEnded
		case r.Visibility != Invite:
			return ErrNotInvite
		case r.MeetingID != nil:
			return ErrMeetingSession
		}
		if err := v.Err(); err != nil {
			return err
		}
		all, err := s.st.addInvites(tx, r.ID, p.UserID, slices.DeleteFunc(ids, func(id string) bool { return id == r.HostID }), s.now())
		out = &Invites{SessionID: r.ID, UserIDs: all}
		return err
	})
	return out, err
}
