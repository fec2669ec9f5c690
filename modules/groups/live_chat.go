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
// summary), adds it to the session's recent chat and sends it to the
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
	room, err := s.view(ctx, sessionID)
	switch {
	case err != nil:
		return err
	case room.Ended:
		return ErrSessionEnded
	case room.Participants[userID] == nil:
		return ErrNotJoined // left meanwhile on another socket
	}
	line := ChatMessage{ID: newID(), UserID: userID, Message: text, SentAt: now}
	err = s.st.db.Tx(ctx, func(tx *gorm.DB) error {
		// A line sent as the session ends is refused, not kept in its
		// transcript.
		r, err := s.st.session(tx, sessionID)
		if err != nil {
			return err
		}
		if r.stateAt(now) == StateEnded {
			return ErrSessionEnded
		}
		return tx.Create(&chatRow{ID: line.ID, SessionID: sessionID, UserID: userID, Message: text, SentAt: now}).Error
	})
	if err != nil {
		return err
	}
	if err := s.updateRecent(ctx, sessionID, func(lines []ChatMessage) []ChatMessage {
		lines = append(lines, line)
		return lines[max(0, len(lines)-recentChat):]
	}); err != nil {
		return err
	}
	s.publish(ctx, sessionID, EvChat, line)
	return nil
}

// The recent chat a snapshot carries is a cache document of its own
// beside the live state, so that a chat line does not rewrite every
// participant's presence.
func recentKey(sessionID string) string { return recentPrefix + sessionID }

// updateRecent replaces a session's recent chat with what fn makes of it.
func (s *service) updateRecent(ctx context.Context, sessionID string, fn func([]ChatMessage) []ChatMessage) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	_, err := s.live.cache.Update(ctx, recentKey(sessionID), stateTTL, func(cur []byte, ok bool) ([]byte, error) {
		var lines []ChatMessage
		if ok {
			if err := json.Unmarshal(cur, &lines); err != nil {
				return nil, err
			}
		}
		if lines = fn(lines); len(lines) == 0 {
			return nil, nil // nothing left: no document
		}
		return json.Marshal(lines)
	})
	return err
}

// recentLines returns a session's recent chat, oldest first.
func (s *service) recentLines(ctx context.Context, sessionID string) ([]ChatMessage, error) {
	lines := []ChatMessage{}
	b, ok, err := s.live.cache.Get(ctx, recentKey(sessionID))
	if err != nil || !ok {
		return lines, err
	}
	return lines, json.Unmarshal(b, &lines)
}
