package groups

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/fitloop/fitloop/platform/realtime"
)

// sockets remembers which session each of this replica's sockets joined,
// and for each such session the view it last decoded from the live state.
type sockets struct {
	mu       sync.Mutex
	m        map[*realtime.Conn]string
	sessions map[string]*localSession
}

// localSession is a session with sockets on this replica.
type localSession struct {
	n     int    // this replica's sockets in it
	rev   string // the state revision view was decoded at
	view  roomView
	batch hostBatch
}

// hostBatch holds a session's exercise updates for its host on this
// replica (deliverExercise).
type hostBatch struct {
	mu      sync.Mutex
	holding bool // an update went to the host less than a window ago
	pending []ExerciseEvent
	host    string
}

func newSockets() *sockets {
	return &sockets{m: map[*realtime.Conn]string{}, sessions: map[string]*localSession{}}
}

func (s *sockets) get(c *realtime.Conn) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.m[c]
	return id, ok
}

func (s *sockets) set(c *realtime.Conn, sessionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.m[c]; ok {
		if prev == sessionID {
			return
		}
		s.forget(prev)
	}
	s.m[c] = sessionID
	ls := s.sessions[sessionID]
	if ls == nil {
		ls = &localSession{}
		s.sessions[sessionID] = ls
	}
	ls.n++
}

// take forgets c and returns the session it had joined.
func (s *sockets) take(c *realtime.Conn) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.m[c]
	if ok {
		delete(s.m, c)
		s.forget(id)
	}
	return id, ok
}

// forget counts one socket less in sessionID; s.mu is held.
func (s *sockets) forget(sessionID string) {
	if ls := s.sessions[sessionID]; ls != nil {
		if ls.n--; ls.n <= 0 {
			delete(s.sessions, sessionID)
		}
	}
}

// batch returns the session's host batch, nil when it has no socket here.
func (s *sockets) batch(sessionID string) *hostBatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ls := s.sessions[sessionID]; ls != nil {
		return &ls.batch
	}
	return nil
}

// cached returns the session's view if it was decoded at revision rev.
func (s *sockets) cached(sessionID, rev string) (roomView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := s.sessions[sessionID]
	if ls == nil || ls.rev == "" || ls.rev != rev {
		return roomView{}, false
	}
	return ls.view, true
}

// keep remembers view as decoded at revision rev while the session has
// sockets here.
func (s *sockets) keep(sessionID, rev string, view roomView) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ls := s.sessions[sessionID]; ls != nil {
		ls.rev, ls.view = rev, view
	}
}

// roomView is the part of the live state frequent messages need: who is
// host, who is present, whether it ended.
type roomView struct {
	HostID       string                     `json:"host_id"`
	Participants map[string]json.RawMessage `json:"participants"`
	Ended        bool                       `json:"ended"`
}

// view reads a session's live state as a roomView. It reads the state's
// revision every time, so no replica's change is missed, but reads and
// decodes the state only when the revision moved since this replica last
// did: a class's exercise updates and chat leave the state alone, so most
// of them read a counter instead of every participant's presence. The
// view is shared: callers only read it.
func (s *service) view(ctx context.Context, sessionID string) (roomView, error) {
	rev, known, err := s.live.cache.Get(ctx, revKey(sessionID))
	if err != nil {
		return roomView{}, err
	}
	if known {
		if v, ok := s.sockets.cached(sessionID, string(rev)); ok {
			return v, nil
		}
	}
	raw, ok, err := s.live.cache.Get(ctx, stateKey(sessionID))
	if err != nil || !ok {
		return roomView{}, err
	}
	var v roomView
	if err := json.Unmarshal(raw, &v); err != nil {
		return roomView{}, err
	}
	if known { // the state read is at rev or later: a later one only costs a decode
		s.sockets.keep(sessionID, string(rev), v)
	}
	return v, nil
}
