package groups

import (
	"context"
	"time"
)

// Replica liveness. Each replica's presence in the shared state counts its
// sockets under its id; a replica that stops without closing them (killed,
// cut off) leaves participants who look present for ever. So every replica
// with a hub writes a heartbeat key, and the groups.end_due sweep writes
// off the sockets of replicas whose heartbeat expired: their participants
// become away and leave after the grace period, as after any drop.
const (
	heartbeatEvery = 10 * time.Second
	heartbeatTTL   = 3 * heartbeatEvery
	replicaPrefix  = "groups:replica:"
)

// startHeartbeat writes this replica's heartbeat now and every
// heartbeatEvery until stopHeartbeat.
func (s *service) startHeartbeat() {
	s.hbStop, s.hbDone = make(chan struct{}), make(chan struct{})
	s.beat()
	go func() {
		defer close(s.hbDone)
		t := time.NewTicker(heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-s.hbStop:
				return
			case <-t.C:
				s.beat()
			}
		}
	}()
}

func (s *service) beat() {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := s.live.cache.Set(ctx, replicaPrefix+s.replica, []byte("1"), heartbeatTTL); err != nil {
		s.log.WarnContext(ctx, "groups: heartbeat", "replica", s.replica, "err", err)
	}
}

func (s *service) stopHeartbeat() {
	if s.hbStop != nil {
		close(s.hbStop)
		<-s.hbDone
		s.hbStop = nil
	}
}

// liveness answers whether replicas are alive, asking the cache once per
// replica; a cache that cannot answer counts as alive.
type liveness struct {
	s     *service
	known map[string]bool
}

func (l *liveness) alive(ctx context.Context, replica string) bool {
	if v, ok := l.known[replica]; ok {
		return v
	}
	_, ok, err := l.s.live.cache.Get(ctx, replicaPrefix+replica)
	l.known[replica] = ok || err != nil
	return l.known[replica]
}

// writeOff forgets a participant's sockets on a stopped replica; without
// others they are away from now, and leave after the grace period.
func (s *service) writeOff(ctx context.Context, sessionID, userID, replica string) {
	now := s.now()
	var away bool
	_, _, err := s.live.update(ctx, sessionID, "", func(st *liveState) error {
		pr := st.Participants[userID]
		if pr == nil || pr.Sockets[replica] == 0 {
			return errNoChange
		}
		delete(pr.Sockets, replica)
		away = pr.conns() == 0 && pr.AwaySince == nil
		if away {
			pr.AwaySince = &now
		}
		return nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "groups: write off a stopped replica's sockets", "session_id", sessionID, "replica", replica, "err", err)
		return
	}
	if away {
		time.AfterFunc(s.grace, func() { s.expire(context.Background(), sessionID, userID) })
	}
}
