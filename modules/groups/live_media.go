package groups

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/realtime"
)

// Media and signaling messages.
const (
	MsgMedia  = "media_state"
	MsgSignal = "signal"
	EvMedia   = "media_state"
	EvSignal  = "signal"
	// MaxSignalBytes bounds a signal's data (an SDP offer with its
	// candidates is a few KiB).
	MaxSignalBytes = 32 << 10
)

// ErrPeerNotFound answers a signal to someone not in the session.
var ErrPeerNotFound = apperr.E(apperr.NotFound, "peer_not_found", "to_user_id is not in this session.")

type mediaMsg struct {
	envelope
	Camera *bool `json:"camera"`
	Mic    *bool `json:"mic"`
}

type signalMsg struct {
	envelope
	ToUserID string          `json:"to_user_id"`
	Kind     string          `json:"kind"`
	Data     json.RawMessage `json:"data"`
}

// onMedia records whether a participant's camera and microphone are on
// (their client decides; the server only tells the room).
func (s *service) onMedia(ctx context.Context, c *realtime.Conn, raw json.RawMessage) error {
	var m mediaMsg
	if err := decode(c, raw, &m); err != nil {
		return err
	}
	sessionID, err := s.joined(c)
	if err != nil {
		return err
	}
	if m.Camera == nil || m.Mic == nil {
		return invalid("media_state needs camera and mic (true or false).")
	}
	userID := c.Principal().UserID
	_, changed, err := s.live.update(ctx, sessionID, "", func(st *liveState) error {
		p := st.Participants[userID]
		switch {
		case p == nil:
			return ErrNotJoined
		case p.Camera == *m.Camera && p.Mic == *m.Mic:
			return errNoChange
		}
		p.Camera, p.Mic = *m.Camera, *m.Mic
		return nil
	})
	if err != nil || !changed {
		return err
	}
	s.publish(ctx, sessionID, EvMedia, map[string]any{"user_id": userID, "camera": *m.Camera, "mic": *m.Mic})
	return nil
}

// onSignal relays a WebRTC offer, answer or ICE candidate to another
// participant of the same session, in the room's order. data is passed on
// as it came, never read.
func (s *service) onSignal(ctx context.Context, c *realtime.Conn, raw json.RawMessage) error {
	var m signalMsg
	if err := decode(c, raw, &m); err != nil {
		return err
	}
	sessionID, err := s.joined(c)
	if err != nil {
		return err
	}
	userID := c.Principal().UserID
	switch {
	case m.Kind != "offer" && m.Kind != "answer" && m.Kind != "candidate":
		return invalid("kind must be offer, answer or candidate.")
	case len(m.Data) == 0 || string(m.Data) == "null":
		return invalid("signal needs data.")
	case !utf8.Valid(m.Data): // passed on as it came: a peer's browser would drop the socket
		return invalid("data must be UTF-8 JSON.")
	case len(m.Data) > MaxSignalBytes:
		return apperr.E(apperr.Invalid, "signal_too_large", fmt.Sprintf("data may be at most %d bytes.", MaxSignalBytes))
	case m.ToUserID == "" || m.ToUserID == userID:
		return invalid("to_user_id must be another participant.")
	}
	st, err := s.live.read(ctx, sessionID)
	if err != nil {
		return err
	}
	if st == nil || st.Ended || st.Participants[userID] == nil {
		return ErrNotJoined
	}
	if st.Participants[m.ToUserID] == nil {
		return ErrPeerNotFound
	}
	_, err = s.hub.PublishRoomTo(ctx, roomOf(sessionID), []string{m.ToUserID}, EvSignal,
		map[string]any{"from_user_id": userID, "kind": m.Kind, "data": m.Data})
	return err
}
