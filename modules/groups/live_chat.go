package groups

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/realtime"
)

type chatMsg struct {
	envelope
	Message *string `json:"message"`
}

// chatRow is one stored chat line (groups_chat).
type chatRow struct {
	ID        string `gorm:"primaryKey"`
	SessionID string
	UserID    string
	Message   string
	SentAt    time.Time
}

func (chatRow) TableName() string { return "groups_chat" }

// onChat stores a chat line (the whole transcript is kept for the
// summary), adds it to the live state's recent chat and sends it to the
// room. Lines are 1 to MaxChat characters of text; each user may send
// chatBurst of them every chatWindow in a session.
func (s *service) onChat(ctx context.Context, c *realtime.Conn, raw json.RawMessage) error {
	var m chatMsg
	if err := decode(c, raw, &m); err != nil {
		return err
	}
	sessionID, ok := s.sockets.get(c)
	if !ok {
		return ErrNotJoined
	}
	if m.Message == nil {
		return invalid("chat_message needs a message.")
	}
	text := strings.TrimSpace(*m.Message)
	switch n := utf8.RuneCountInString(text); {
	case !utf8.ValidString(text) || strings.ContainsRune(text, 0):
		return invalid("message must be text.")
	case n == 0:
		return invalid("message is empty.")
	case n > MaxChat:
		return apperr.E(apperr.Invalid, "message_too_long", "message may be at most 1,000 characters.")
	}
	userID := c.Principal().UserID
	now := s.now()
	window := now.Truncate(chatWindow).Unix()
	n, err := s.live.cache.Incr(ctx, chatPrefix+sessionID+":"+userID+":"+strconv.FormatInt(window, 10), chatWindow+time.Second)
	if err != nil {
		return err
	}
	if n > chatBurst {
		return ErrChatRate
	}
	line := ChatMessage{ID: newID(), UserID: userID, Message: text, SentAt: now}
	err = s.st.db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Create(&chatRow{ID: line.ID, SessionID: sessionID, UserID: userID, Message: text, SentAt: now}).Error
	})
	if err != nil {
		return err
	}
	_, _, err = s.live.update(ctx, sessionID, "", func(st *liveState) error {
		if st.Participants[userID] == nil {
			return ErrNotJoined // left meanwhile on another socket
		}
		st.Chat = append(st.Chat, line)
		if len(st.Chat) > recentChat {
			st.Chat = append([]ChatMessage(nil), st.Chat[len(st.Chat)-recentChat:]...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.publish(ctx, sessionID, EvChat, line)
	return nil
}

// endIfEmpty ends a session whose last participant left at least the
// grace period ago and that nobody rejoined.
func (s *service) endIfEmpty(ctx context.Context, sessionID string) {
	st, err := s.live.read(ctx, sessionID)
	if err != nil || st == nil || st.EmptySince == nil || len(st.Participants) > 0 {
		return
	}
	if s.now().Sub(*st.EmptySince) < s.grace {
		return
	}
	if err := s.endLive(ctx, sessionID, EndedEmpty); err != nil {
		s.log.WarnContext(ctx, "groups: end an empty session", "session_id", sessionID, "err", err)
	}
}

// endLive records the end of a session (once, whoever calls) and tells
// its room; the live state goes with it.
func (s *service) endLive(ctx context.Context, sessionID, reason string) error {
	var ended bool
	err := s.st.db.Tx(ctx, func(tx *gorm.DB) (err error) {
		ended, err = s.st.endSession(tx, sessionID, reason, s.now())
		return err
	})
	if err != nil || !ended {
		return err
	}
	s.closeLive(ctx, sessionID, reason)
	return nil
}

// closeLive tells an ended session's room and drops its live state.
func (s *service) closeLive(ctx context.Context, sessionID, reason string) {
	s.publish(ctx, sessionID, EvEnded, map[string]any{"reason": reason})
	if err := s.live.cache.Delete(ctx, stateKey(sessionID)); err != nil {
		s.log.WarnContext(ctx, "groups: drop live state", "session_id", sessionID, "err", err)
	}
}

// endDue is the groups.end_due job: it ends the sessions past their
// ends_at and sweeps the live ones (dropped participants whose grace
// passed, sessions empty for longer than it).
func (s *service) endDue(ctx context.Context) error {
	const page = 200
	for {
		ids, err := s.st.endDue(ctx, s.now(), page)
		if err != nil {
			return err
		}
		for _, id := range ids {
			s.closeLive(ctx, id, EndedByTime)
		}
		if len(ids) < page {
			break
		}
	}
	for after := ""; ; {
		ids, err := s.st.liveIDs(ctx, s.now(), after, page)
		if err != nil || len(ids) == 0 {
			return err
		}
		for _, id := range ids {
			s.sweep(ctx, id)
		}
		after = ids[len(ids)-1]
	}
}

// sweep applies the grace period to one live session's state.
func (s *service) sweep(ctx context.Context, sessionID string) {
	st, err := s.live.read(ctx, sessionID)
	if err != nil || st == nil {
		return
	}
	for id, p := range st.Participants {
		if p.AwaySince != nil && s.now().Sub(*p.AwaySince) >= s.grace {
			s.expire(ctx, sessionID, id)
		}
	}
	s.endIfEmpty(ctx, sessionID)
}
