package groups

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/fitloop/fitloop/platform/cache"
)

// liveState is a live session's shared state, one JSON document in the
// cache under stateKey, changed only through (*live).update so replicas
// never lose each other's changes. It is the state the issue asks to keep
// in platform/cache: who is present, the host, votes and the timer. Beside
// it are the recent chat (recentKey; the whole chat is in groups_chat) and
// each participant's exercise totals (totalsKey), documents of their own
// because they change far more often.
type liveState struct {
	HostID       string               `json:"host_id"`
	Participants map[string]*presence `json:"participants"`
	// Departed are stints that ended, for the session's summary.
	Departed   []stint    `json:"departed,omitempty"`
	EmptySince *time.Time `json:"empty_since,omitempty"`
	Votes      []*vote    `json:"votes,omitempty"` // in opening order; closed ones keep only counts
	Timer      *timer     `json:"timer,omitempty"`
	// Ended is set once when the session ends; every later change is
	// refused with ErrSessionEnded.
	Ended bool `json:"ended,omitempty"`
}

// presence is one participant's current stint.
type presence struct {
	JoinedAt time.Time `json:"joined_at"`
	// Sockets counts their open sockets in the session per replica id, so
	// that the sockets of a replica that stopped can be written off.
	Sockets   map[string]int `json:"sockets"`
	AwaySince *time.Time     `json:"away_since,omitempty"` // all sockets dropped: left after the grace period
	Camera    bool           `json:"camera"`
	Mic       bool           `json:"mic"`
}

// conns counts a participant's open sockets on every replica.
func (p *presence) conns() int {
	n := 0
	for _, c := range p.Sockets {
		n += c
	}
	return n
}

// addSocket counts one more socket on replica.
func (p *presence) addSocket(replica string) {
	if p.Sockets == nil {
		p.Sockets = map[string]int{}
	}
	p.Sockets[replica]++
	p.AwaySince = nil
}

// dropSocket counts one socket less on replica.
func (p *presence) dropSocket(replica string) {
	if p.Sockets[replica] <= 1 {
		delete(p.Sockets, replica)
		return
	}
	p.Sockets[replica]--
}

// stint is a participant's time in the session from joining to leaving.
type stint struct {
	UserID   string    `json:"user_id"`
	JoinedAt time.Time `json:"joined_at"`
	LeftAt   time.Time `json:"left_at"`
}

// ChatMessage is one chat line of a live session.
type ChatMessage struct {
	ID      string    `json:"message_id"`
	UserID  string    `json:"user_id"`
	Message string    `json:"message"`
	SentAt  time.Time `json:"sent_at"`
}

// Live limits and names.
const (
	recentChat = 50               // chat lines a snapshot carries
	stateTTL   = 48 * time.Hour   // a live state outlives its session's longest run
	MaxChat    = 1000             // characters in one chat message
	chatWindow = 10 * time.Second // chat rate: chatBurst messages a window per user
	chatBurst  = 10
	// DefaultGrace is how long a participant whose sockets dropped has to
	// come back before they have left, and an empty session to be rejoined
	// before it ends.
	DefaultGrace = 30 * time.Second
	opTimeout    = 10 * time.Second // one state change, however contended
	maxStints    = 10 * MaxCapacity // departures a summary keeps
	roomPrefix   = "groups:"        // the hub room of a session is roomPrefix + id
	statePrefix  = "groups:live:"   // the cache key of a session's state
	chatPrefix   = "groups:chatrate:"
	recentPrefix = "groups:recent:" // a session's recent chat
	revPrefix    = "groups:rev:"    // a session's state revision
)

// Why a participant left.
const (
	LeftByChoice = "left"            // leave_session
	LeftDropped  = "connection_lost" // no socket came back within the grace period
)

func roomOf(sessionID string) string   { return roomPrefix + sessionID }
func stateKey(sessionID string) string { return statePrefix + sessionID }

// revKey counts a session's state changes (its revision), so a replica
// can tell whether its decoded view is current without reading the state.
func revKey(sessionID string) string { return revPrefix + sessionID }

// errNoChange makes an update store nothing and report no change.
var errNoChange = errors.New("groups: no change")

// live is the module's view of the shared live state.
type live struct {
	cache cache.Cache
}

// update applies fn to a session's state atomically. fn sees the current
// state (a fresh one when absent, with host set) and may return
// errNoChange to store nothing; update then answers the state as read and
// changed false.
func (l *live) update(ctx context.Context, sessionID, host string, fn func(st *liveState) error) (*liveState, bool, error) {
	return l.modify(ctx, sessionID, host, func(st *liveState) error {
		if st.Ended {
			return ErrSessionEnded
		}
		return fn(st)
	})
}

// modify is update without the refusal of an ended session's state.
func (l *live) modify(ctx context.Context, sessionID, host string, fn func(st *liveState) error) (*liveState, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var out liveState
	changed := true
	_, err := l.cache.Update(ctx, stateKey(sessionID), stateTTL, func(cur []byte, ok bool) ([]byte, error) {
		st := liveState{HostID: host, Participants: map[string]*presence{}}
		if ok {
			if err := json.Unmarshal(cur, &st); err != nil {
				return nil, err
			}
			if st.Participants == nil {
				st.Participants = map[string]*presence{}
			}
		}
		err := fn(&st)
		out = st
		if errors.Is(err, errNoChange) {
			changed = false
			if !ok {
				return nil, err // nothing stored, nothing to keep
			}
			return cur, nil
		}
		if err != nil {
			return nil, err
		}
		return json.Marshal(&st)
	})
	if errors.Is(err, errNoChange) {
		return &out, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if changed {
		// After the write, so that whoever reads the new revision then
		// reads the new state. A failure here leaves replicas' views of
		// the state stale until its next change, so it is an error.
		if _, err := l.cache.Incr(ctx, revKey(sessionID), stateTTL); err != nil {
			return nil, false, err
		}
	}
	return &out, changed, nil
}

// read returns a session's state, or nil when there is none.
func (l *live) read(ctx context.Context, sessionID string) (*liveState, error) {
	b, ok, err := l.cache.Get(ctx, stateKey(sessionID))
	if err != nil || !ok {
		return nil, err
	}
	var st liveState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// participants lists who is present, longest present first.
func (st *liveState) participants() []Participant {
	out := make([]Participant, 0, len(st.Participants))
	for _, id := range st.byArrival() {
		p := st.Participants[id]
		out = append(out, Participant{UserID: id, JoinedAt: p.JoinedAt, Host: id == st.HostID,
			Away: p.AwaySince != nil, Camera: p.Camera, Mic: p.Mic})
	}
	return out
}

// byArrival lists participant ids by join time, then id.
func (st *liveState) byArrival() []string {
	ids := slices.Collect(maps.Keys(st.Participants))
	slices.SortFunc(ids, func(a, b string) int {
		if c := st.Participants[a].JoinedAt.Compare(st.Participants[b].JoinedAt); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return ids
}

// everyone lists the participants who ever joined, present or departed.
func (st *liveState) everyone() []string {
	ids := slices.Collect(maps.Keys(st.Participants))
	for _, d := range st.Departed {
		ids = append(ids, d.UserID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// remove ends userID's stint at now. When the host goes, the longest
// present participant becomes host; newHost is "" when the host did not
// change. The session becomes empty with its last participant.
func (st *liveState) remove(userID string, now time.Time) (newHost string) {
	p := st.Participants[userID]
	if p == nil {
		return ""
	}
	delete(st.Participants, userID)
	if len(st.Departed) < maxStints {
		st.Departed = append(st.Departed, stint{UserID: userID, JoinedAt: p.JoinedAt, LeftAt: now})
	}
	if len(st.Participants) == 0 {
		st.EmptySince = &now
	}
	if st.HostID != userID || len(st.Participants) == 0 {
		return ""
	}
	st.HostID = st.byArrival()[0]
	return st.HostID
}
