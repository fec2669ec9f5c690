package groups

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/httpx"
	"github.com/fitloop/fitloop/platform/realtime"
)

// Client → server message types.
const (
	MsgJoin  = "join_session"
	MsgLeave = "leave_session"
	MsgChat  = "chat_message"
)

// Server → client event types.
const (
	EvState  = "session_state"
	EvJoined = "participant_joined"
	EvLeft   = "participant_left"
	EvChat   = "chat_message"
	EvHost   = "host_changed"
	EvEnded  = "session_ended"
)

// Live errors, sent as {"type":"error","code":..,"message":..} frames.
var (
	ErrUserMismatch = apperr.E(apperr.Forbidden, "user_mismatch", "user_id must be the signed-in user's.")
	ErrNotJoined    = apperr.E(apperr.Conflict, "not_joined", "Join the session first (join_session).")
	ErrSessionFull  = apperr.E(apperr.Conflict, "session_full", "The session is at capacity.")
	ErrNotStarted   = apperr.E(apperr.Conflict, "session_not_started", "The session has not started yet.")
	ErrChatRate     = apperr.E(apperr.RateLimited, "rate_limited", "Too many chat messages; wait a few seconds.")
)

// liveHub is what the live protocol needs from platform/realtime's hub.
type liveHub interface {
	Handle(typ string, fn realtime.HandlerFunc)
	Join(ctx context.Context, c *realtime.Conn, room string, lastSeq uint64) error
	Leave(c *realtime.Conn, room string)
	PublishRoom(ctx context.Context, room, typ string, data any) (uint64, error)
	PublishRoomTo(ctx context.Context, room string, userIDs []string, typ string, data any) (uint64, error)
	PublishUser(ctx context.Context, userID, typ string, data any) error
	OnDisconnect(fn func(*realtime.Conn))
}

// invalid is a message whose fields decode but do not make sense; msg
// names the field.
func invalid(msg string) error { return apperr.E(apperr.Invalid, "validation_failed", msg) }

// decode reads a client message strictly, with the HTTP API's errors
// (invalid_json, unknown_field, invalid_type naming the field); a
// user_id, when given, must be the caller's.
func decode(c *realtime.Conn, raw json.RawMessage, dst interface{ claimedUser() string }) error {
	if err := httpx.DecodeStrict(raw, dst); err != nil {
		return err
	}
	if u := dst.claimedUser(); u != "" && u != c.Principal().UserID {
		return ErrUserMismatch
	}
	return nil
}

// envelope fields every client message may carry besides its own.
type envelope struct {
	Type   string `json:"type"`
	UserID string `json:"user_id"`
}

func (e envelope) claimedUser() string { return e.UserID }

type joinMsg struct {
	envelope
	SessionID string `json:"session_id"`
	LastSeq   uint64 `json:"last_seq"`
}

// snapshot is the session_state a joining socket receives.
type snapshot struct {
	SessionID    string        `json:"session_id"`
	Title        string        `json:"title"`
	WorkoutType  string        `json:"workout_type"`
	HostID       string        `json:"host_id"`
	State        string        `json:"state"`
	Participants []Participant `json:"participants"`
	Chat         []ChatMessage `json:"chat"`
	Votes        []VoteOpened  `json:"votes"` // the open ones
	Timer        *TimerState   `json:"timer"` // null until the host starts one
}

// stateFrame is session_state as sent to one socket.
type stateFrame struct {
	Type string    `json:"type"`
	Room string    `json:"room"`
	Data *snapshot `json:"data"`
}

// joinable reads a session the principal may join now.
func (s *service) joinable(ctx context.Context, p *auth.Principal, sessionID string) (*sessionRow, error) {
	q := s.st.db.Read(ctx)
	r, err := s.st.session(q, sessionID)
	if err != nil {
		return nil, err
	}
	if ok, err := s.mayView(q, p, r); err != nil || !ok {
		return nil, orNotFound(err, ErrSessionNotFound)
	}
	if blocked, err := s.blocks.Blocked(ctx, p.UserID, r.HostID); err != nil {
		return nil, err
	} else if blocked {
		return nil, ErrSessionNotFound // as for a session they may not see
	}
	switch r.stateAt(s.now()) {
	case StateEnded:
		return nil, ErrSessionEnded
	case StateScheduled:
		return nil, ErrNotStarted
	}
	return r, nil
}

func (s *service) onJoin(ctx context.Context, c *realtime.Conn, raw json.RawMessage) error {
	var m joinMsg
	if err := decode(c, raw, &m); err != nil {
		return err
	}
	if m.SessionID == "" {
		return invalid("join_session needs a session_id.")
	}
	p := c.Principal()
	r, err := s.joinable(ctx, p, m.SessionID)
	if err != nil {
		return err
	}
	if prev, ok := s.sockets.get(c); ok && prev != r.ID {
		s.leave(ctx, c, LeftByChoice)
	}
	again := false
	newcomer := false
	now := s.now()
	st, _, err := s.live.update(ctx, r.ID, r.HostID, func(st *liveState) error {
		again, newcomer = false, false
		pr := st.Participants[p.UserID]
		if cur, ok := s.sockets.get(c); ok && cur == r.ID && pr != nil {
			again = true // this socket is in already: answer the snapshot again
			return errNoChange
		}
		if pr != nil { // another socket, or back within the grace period
			pr.addSocket(s.replica)
			return nil
		}
		if len(st.Participants) >= r.Capacity {
			return ErrSessionFull
		}
		pr = &presence{JoinedAt: now}
		pr.addSocket(s.replica)
		st.Participants[p.UserID] = pr
		st.EmptySince = nil
		newcomer = true
		return nil
	})
	if err != nil {
		return err
	}
	if !again {
		s.sockets.set(c, r.ID)
		if err := s.hub.Join(ctx, c, roomOf(r.ID), m.LastSeq); err != nil {
			s.leave(context.WithoutCancel(ctx), c, LeftByChoice)
			return err
		}
	}
	chat, err := s.recentLines(ctx, r.ID)
	if err != nil { // joined all the same: the recent chat is only a courtesy
		s.log.WarnContext(ctx, "groups: recent chat", "session_id", r.ID, "err", err)
	}
	snap := &snapshot{SessionID: r.ID, Title: r.Title, WorkoutType: r.WorkoutType, HostID: st.HostID,
		State: StateLive, Participants: st.participants(), Chat: chat, Votes: []VoteOpened{}}
	for _, v := range st.Votes {
		if !v.Closed {
			snap.Votes = append(snap.Votes, v.opened(p.UserID))
		}
	}
	if st.Timer != nil {
		snap.Timer = st.Timer.state(now)
	}
	if err := c.SendJSON(stateFrame{Type: EvState, Room: roomOf(r.ID), Data: snap}); err != nil {
		return err
	}
	if newcomer {
		s.publish(ctx, r.ID, EvJoined, map[string]any{"user_id": p.UserID, "joined_at": now})
	}
	return nil
}

func (s *service) onLeave(ctx context.Context, c *realtime.Conn, raw json.RawMessage) error {
	var m envelope
	if err := decode(c, raw, &m); err != nil {
		return err
	}
	if _, ok := s.sockets.get(c); !ok {
		return ErrNotJoined
	}
	s.leave(ctx, c, LeftByChoice)
	return nil
}

// leave takes c out of its session. The participant leaves once their
// last socket has; a reason of LeftDropped only marks them away, and they
// leave if no socket is back within the grace period.
func (s *service) leave(ctx context.Context, c *realtime.Conn, reason string) {
	sessionID, ok := s.sockets.take(c)
	if !ok {
		return
	}
	if reason != LeftDropped {
		s.hub.Leave(c, roomOf(sessionID))
	}
	userID := c.Principal().UserID
	now := s.now()
	var gone bool
	var newHost string
	st, changed, err := s.live.update(ctx, sessionID, "", func(st *liveState) error {
		gone, newHost = false, ""
		pr := st.Participants[userID]
		if pr == nil {
			return errNoChange
		}
		pr.dropSocket(s.replica)
		if pr.conns() > 0 {
			return nil
		}
		if reason == LeftDropped {
			pr.AwaySince = &now
			return nil
		}
		gone = true
		newHost = st.remove(userID, now)
		return nil
	})
	if err != nil {
		if !errors.Is(err, ErrSessionEnded) {
			s.log.WarnContext(ctx, "groups: leave", "session_id", sessionID, "user_id", userID, "err", err)
		}
		return
	}
	if !changed {
		return
	}
	switch {
	case gone:
		s.departed(ctx, sessionID, userID, reason, newHost, st)
	case reason == LeftDropped && st.Participants[userID] != nil && st.Participants[userID].AwaySince != nil:
		time.AfterFunc(s.grace, func() { s.expire(context.Background(), sessionID, userID) })
	}
}

// departed announces a participant's leaving and what follows from it.
func (s *service) departed(ctx context.Context, sessionID, userID, reason, newHost string, st *liveState) {
	s.publish(ctx, sessionID, EvLeft, map[string]any{"user_id": userID, "reason": reason})
	if newHost != "" {
		s.publish(ctx, sessionID, EvHost, map[string]any{"host_id": newHost})
	}
	if len(st.Participants) == 0 {
		time.AfterFunc(s.grace, func() { s.endIfEmpty(context.Background(), sessionID) })
	}
}

// expire makes a participant who dropped and did not come back within the
// grace period leave. Any replica may run it: the state decides once.
func (s *service) expire(ctx context.Context, sessionID, userID string) {
	now := s.now()
	var newHost string
	st, changed, err := s.live.update(ctx, sessionID, "", func(st *liveState) error {
		pr := st.Participants[userID]
		if pr == nil || pr.AwaySince == nil || now.Sub(*pr.AwaySince) < s.grace {
			return errNoChange
		}
		newHost = st.remove(userID, now)
		return nil
	})
	if err != nil {
		if !errors.Is(err, ErrSessionEnded) {
			s.log.WarnContext(ctx, "groups: expire a dropped participant", "session_id", sessionID, "err", err)
		}
		return
	}
	if changed {
		s.departed(ctx, sessionID, userID, LeftDropped, newHost, st)
	}
}

// onDisconnect runs when one of this replica's sockets closes.
func (s *service) onDisconnect(c *realtime.Conn) {
	s.leave(context.Background(), c, LeftDropped)
}

// publish sends an event to a session's room, logging a failure: the
// state change it reports has happened either way, and the next snapshot
// carries it.
func (s *service) publish(ctx context.Context, sessionID, typ string, data any) {
	if s.hub == nil {
		return
	}
	if _, err := s.hub.PublishRoom(ctx, roomOf(sessionID), typ, data); err != nil {
		s.log.WarnContext(ctx, "groups: publish", "session_id", sessionID, "type", typ, "err", err)
	}
}
