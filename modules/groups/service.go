package groups

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/cache"
	"github.com/fitloop/fitloop/platform/realtime"
)

type service struct {
	st      store
	users   Users
	catalog Catalog
	log     *slog.Logger
	clock   Clock
	hub     liveHub
	live    *live
	blocks  Blocks
	grace   time.Duration
	sockets *sockets
	// workouts and jobs record the participants' workouts (both or none).
	workouts   Workouts
	jobs       Jobs
	minWorkout time.Duration
	// replica names this process in the live state; its heartbeat runs
	// while the module serves a hub.
	replica        string
	hbStop, hbDone chan struct{}
}

var _ Service = (*service)(nil)

func newService(d Deps) *service {
	s := &service{st: store{db: d.DB}, users: d.Users, catalog: d.Catalog, log: d.Log, clock: d.Clock,
		hub: d.Hub, live: &live{cache: d.Cache}, blocks: d.Blocks, grace: d.Grace,
		sockets: newSockets(), minWorkout: d.MinWorkout, replica: d.Replica}
	if s.replica == "" {
		s.replica = uuid.NewString()
	}
	if d.Workouts != nil && d.Jobs != nil {
		s.workouts, s.jobs = d.Workouts, d.Jobs
	}
	s.minWorkout = max(s.minWorkout, time.Second) // activity needs a second at least
	if s.live.cache == nil {
		s.live.cache = cache.NewMemory()
	}
	if s.blocks == nil {
		s.blocks = NopBlocks{}
	}
	if s.grace <= 0 {
		s.grace = DefaultGrace
	}
	if s.hub != nil {
		s.hub.Handle(MsgJoin, s.onJoin)
		s.hub.Handle(MsgLeave, s.onLeave)
		for typ, fn := range map[string]realtime.HandlerFunc{
			MsgChat: s.onChat, MsgExercise: s.onExercise, MsgVoteStart: s.onVoteStart, MsgVoteCast: s.onVoteCast,
			MsgTimerStart: s.onTimerStart, MsgTimerPause: s.onTimerPause, MsgTimerReset: s.onTimerReset,
			MsgMedia: s.onMedia, MsgSignal: s.onSignal,
		} {
			s.hub.Handle(typ, fn)
		}
		s.hub.OnDisconnect(s.onDisconnect)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.hub != nil {
		s.startHeartbeat()
	}
	return s
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// now is the clock's time in UTC, to the microsecond the stores keep.
func (s *service) now() time.Time { return utc(s.clock()) }

// checkTitle validates a title: 1 to MaxTitle characters once trimmed.
func checkTitle(v apperr.Validation, field, title string) string {
	t := strings.TrimSpace(title)
	v.Check(t != "", field, "is required")
	v.Check(utf8.RuneCountInString(t) <= MaxTitle, field, fmt.Sprintf("must be at most %d characters", MaxTitle))
	v.Check(utf8.ValidString(t) && !strings.ContainsAny(t, "\x00\r\n"), field, "must be one line of text")
	return t
}

// checkSpan validates a start and an optional end: the start not in the
// past, the end after it by at most MaxDuration.
func checkSpan(v apperr.Validation, startField, endField string, start time.Time, end *time.Time, now time.Time, startMoved bool) {
	if startMoved {
		v.Check(!start.Before(now.Add(-PastSlack)), startField, "must not be in the past")
	}
	if end == nil {
		return
	}
	switch {
	case !end.After(start):
		v.Add(endField, "must be after "+startField)
	case end.Sub(start) > MaxDuration:
		v.Add(endField, fmt.Sprintf("must be at most %s after %s", MaxDuration, startField))
	case !end.After(now):
		v.Add(endField, "must be in the future")
	}
}

// checkUsers validates a list of user ids: at most MaxInvites, each a live
// account; repeats and self (the host or organizer already) are dropped.
// It returns the ids in order; the error is the users module failing.
func (s *service) checkUsers(ctx context.Context, v apperr.Validation, field string, ids []string, self string) ([]string, error) {
	if len(ids) > MaxInvites {
		v.Add(field, fmt.Sprintf("must hold at most %d user ids", MaxInvites))
		return nil, nil
	}
	var out []string
	for i, id := range ids {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, err := uuid.Parse(id); err != nil {
			v.Add(f, "must be a user id")
			continue
		}
		if id == self || slices.Contains(out, id) {
			continue
		}
		switch err := s.users.Exists(ctx, id); {
		case apperr.KindOf(err) == apperr.NotFound:
			v.Add(f, "no such user")
		case err != nil:
			return nil, err
		default:
			out = append(out, id)
		}
	}
	return out, nil
}

// stateAt is a session's state at now. A session past its ends_at is
// ended even before the groups.end_due job has recorded it.
func (r *sessionRow) stateAt(now time.Time) string {
	switch {
	case r.EndedAt != nil, r.EndsAt != nil && !now.Before(*r.EndsAt):
		return StateEnded
	case r.StartsAt.After(now):
		return StateScheduled
	default:
		return StateLive
	}
}

func (r *sessionRow) dto(now time.Time) *Session {
	out := &Session{ID: r.ID, Title: r.Title, WorkoutType: r.WorkoutType, HostID: r.HostID,
		Capacity: r.Capacity, Visibility: r.Visibility, State: r.stateAt(now), StartsAt: r.StartsAt,
		EndsAt: r.EndsAt, EndedAt: r.EndedAt, EndReason: r.EndReason, CreatedAt: r.CreatedAt}
	if r.MeetingID != nil {
		out.MeetingID = *r.MeetingID
	}
	return out
}
