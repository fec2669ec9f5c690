package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
)

// PublishUser sends {"type":typ,"data":data} to every socket of userID on
// every replica. Delivery is at most once and unsequenced.
func (h *Hub) PublishUser(ctx context.Context, userID, typ string, data any) error {
	frame, err := json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{typ, data})
	if err != nil {
		return fmt.Errorf("realtime: encode event: %w", err)
	}
	msg := append(append([]byte(userID), '\n'), frame...)
	return h.opt.Bus.Publish(ctx, topicUsers, msg)
}

func (h *Hub) onUserEvent(msg []byte) {
	i := bytes.IndexByte(msg, '\n')
	if i < 0 {
		return
	}
	frame := msg[i+1:]
	h.mu.Lock()
	set := h.byUser[string(msg[:i])] // indexing with string(bytes) does not allocate
	conns := make([]*Conn, 0, len(set))
	for c := range set {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		_ = c.Send(frame)
	}
}

type control struct {
	Sessions []string `json:"sessions,omitempty"`
	User     string   `json:"user,omitempty"`
}

// CloseSessions closes, on every replica, the sockets opened with any of the
// given session IDs (code 4001). Call it after logout or session revocation.
func (h *Hub) CloseSessions(ctx context.Context, sessionIDs ...string) error {
	if len(sessionIDs) == 0 {
		return nil
	}
	return h.publishControl(ctx, control{Sessions: sessionIDs})
}

// CloseUser closes every socket of userID on every replica (code 4001). Call
// it after a password change or when the account is disabled.
func (h *Hub) CloseUser(ctx context.Context, userID string) error {
	return h.publishControl(ctx, control{User: userID})
}

func (h *Hub) publishControl(ctx context.Context, m control) error {
	b, _ := json.Marshal(m)
	if err := h.opt.Bus.Publish(ctx, topicControl, b); err != nil {
		return fmt.Errorf("realtime: close sockets: %w", err)
	}
	return nil
}

func (h *Hub) onControl(msg []byte) {
	var m control
	if err := json.Unmarshal(msg, &m); err != nil {
		return
	}
	for _, c := range h.snapshot(func(c *Conn) bool {
		p := c.principal
		return (m.User != "" && p.UserID == m.User) || (p.SessionID != "" && slices.Contains(m.Sessions, p.SessionID))
	}) {
		c.Close(CloseRevoked, "session revoked")
	}
}

// recheckLoop re-authenticates every connection's credential each
// RecheckInterval, so a revocation whose bus message was lost still closes
// the socket. A round's checks are paced over the interval in slices, not
// made in one burst: with thousands of users online a burst would read
// thousands of sessions from the database at once and stall the live
// traffic for that moment. A socket that connects during a round (it has
// just been authenticated) is checked in the next one.
func (h *Hub) recheckLoop(ctx context.Context) {
	defer close(h.done)
	parts := max(1, min(recheckSlices, int(h.opt.RecheckInterval/(10*time.Millisecond))))
	t := time.NewTicker(h.opt.RecheckInterval / time.Duration(parts))
	defer t.Stop()
	var round [][]*Conn // the current round's credentials not checked yet
	per := 0            // credentials a slice checks in this round
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if len(round) == 0 {
				round = h.byCredential()
				per = (len(round) + parts - 1) / parts
			}
			n := min(per, len(round))
			h.recheck(ctx, round[:n])
			round = round[n:]
		}
	}
}

// recheckSlices is how many slices a re-check round is paced over.
const recheckSlices = 30

// byCredential groups the open connections by credential: one check per
// credential, not per socket, since a user's tabs and devices usually
// share one and idle sockets should cost next to nothing.
func (h *Hub) byCredential() [][]*Conn {
	by := map[string][]*Conn{}
	for _, c := range h.snapshot(func(*Conn) bool { return true }) {
		by[c.credential] = append(by[c.credential], c)
	}
	// In credential order, so a credential's place in each round, and the
	// time between two of its checks, stays about the same: a revocation
	// is caught within about one interval.
	out := make([][]*Conn, 0, len(by))
	for _, cred := range slices.Sorted(maps.Keys(by)) {
		out = append(out, by[cred])
	}
	return out
}

// recheck authenticates each group's credential and closes the sockets of
// those revoked.
func (h *Hub) recheck(ctx context.Context, groups [][]*Conn) {
	work := make(chan []*Conn)
	var wg sync.WaitGroup
	for range min(8, len(groups)) {
		wg.Go(func() {
			for cs := range work {
				_, err := h.opt.Auth.Authenticate(ctx, cs[0].credential)
				if k := apperr.KindOf(err); err != nil && (k == apperr.Unauthenticated || k == apperr.Forbidden) {
					for _, c := range cs {
						c.Close(CloseRevoked, "session revoked")
					}
				}
			}
		})
	}
	for _, cs := range groups {
		select {
		case work <- cs:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
}
