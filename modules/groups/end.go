package groups

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
)

// endIfEmpty ends a session whose last participant left at least the
// grace period ago and that nobody rejoined.
func (s *service) endIfEmpty(ctx context.Context, sessionID string) {
	st, err := s.live.read(ctx, sessionID)
	if err != nil || st == nil || st.Ended || st.EmptySince == nil || len(st.Participants) > 0 {
		return
	}
	if s.now().Sub(*st.EmptySince) < s.grace {
		return
	}
	if err := s.endLive(ctx, sessionID, EndedEmpty); err != nil {
		s.log.WarnContext(ctx, "groups: end an empty session", "session_id", sessionID, "err", err)
	}
}

// endLive records the end of a session (once, whoever calls) and closes
// it.
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

// closeLive runs after a session's end is committed, on whichever replica
// ended it: it freezes the live state, writes the summary with the
// workout jobs in one transaction, tells the room and drops the exercise
// totals. Running it again (the end_due job recovering a summary a
// stopped replica did not write) changes nothing.
func (s *service) closeLive(ctx context.Context, sessionID, reason string) {
	ctx = context.WithoutCancel(ctx)
	if err := s.summarize(ctx, sessionID); err != nil {
		// The end_due job retries it while the live state is kept.
		s.log.ErrorContext(ctx, "groups: write a session's summary", "session_id", sessionID, "err", err)
	}
	s.publish(ctx, sessionID, EvEnded, map[string]any{"reason": reason})
}

func (s *service) summarize(ctx context.Context, sessionID string) error {
	r, err := s.st.session(s.st.db.Read(ctx), sessionID)
	if err != nil {
		return err
	}
	if r.EndedAt == nil {
		return fmt.Errorf("groups: summarize session %s: not ended", sessionID)
	}
	end := *r.EndedAt
	st, _, err := s.live.modify(ctx, sessionID, "", func(st *liveState) error {
		if st.Ended {
			return errNoChange // frozen already: summarize it again
		}
		st.Ended = true
		for _, id := range st.byArrival() {
			left := end
			if a := st.Participants[id].AwaySince; a != nil && a.Before(end) {
				left = *a
			}
			st.Departed = append(st.Departed, stint{UserID: id, JoinedAt: st.Participants[id].JoinedAt, LeftAt: left})
		}
		st.Participants = map[string]*presence{}
		for _, v := range st.Votes {
			if !v.Closed {
				v.close()
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	ids := st.everyone()
	if err := s.forgetErased(ctx, st, ids); err != nil {
		return err
	}
	t, err := s.readTotals(ctx, sessionID, ids)
	if err != nil {
		return err
	}
	sum := s.buildSummary(r, st, t)
	if err := s.storeSummary(ctx, r, sum); err != nil {
		return err
	}
	if err := s.forgetLateErased(ctx, sum); err != nil {
		// Nothing retries it (the summary is written), but an erasure
		// racing the end is rare and the users module's silence rarer.
		s.log.WarnContext(ctx, "groups: recheck a summary's participants", "session_id", sessionID, "err", err)
	}
	if err := s.live.cache.Delete(ctx, recentKey(sessionID)); err != nil {
		return err
	}
	return s.dropTotals(ctx, sessionID, ids)
}

// forgetErased drops from a frozen state the participants whose account
// was erased while the session ran (the erasure cannot find live sessions:
// they are in the cache), so the summary names no one who is gone and no
// workout is recorded for them.
func (s *service) forgetErased(ctx context.Context, st *liveState, ids []string) error {
	gone := map[string]bool{}
	for _, id := range ids {
		switch err := s.users.Exists(ctx, id); {
		case apperr.KindOf(err) == apperr.NotFound:
			gone[id] = true
		case err != nil:
			return err
		}
	}
	if len(gone) > 0 {
		st.Departed = slices.DeleteFunc(st.Departed, func(d stint) bool { return gone[d.UserID] })
	}
	return nil
}

// endDue is the groups.end_due job: it ends the sessions past their
// ends_at, sweeps the live ones (dropped participants whose grace passed,
// votes and timers past due, sessions empty for longer than the grace
// period) and writes the summaries a stopped replica left unwritten.
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
	live := &liveness{s: s, known: map[string]bool{}}
	for after := ""; ; {
		ids, err := s.st.liveIDs(ctx, s.now(), after, page)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			s.sweep(ctx, id, live)
		}
		after = ids[len(ids)-1]
	}
	now := s.now()
	ids, err := s.st.unsummarized(ctx, now.Add(-recoverWithin), now.Add(-recoverAfter), page)
	for _, id := range ids {
		if err := s.summarize(ctx, id); err != nil {
			s.log.WarnContext(ctx, "groups: recover a session's summary", "session_id", id, "err", err)
		}
	}
	return err
}

// sweep applies the grace period to one live session's state, writes off
// the sockets of stopped replicas and closes what is past due.
func (s *service) sweep(ctx context.Context, sessionID string, live *liveness) {
	st, err := s.live.read(ctx, sessionID)
	if err != nil || st == nil || st.Ended {
		return
	}
	now := s.now()
	for id, p := range st.Participants {
		if p.AwaySince != nil && now.Sub(*p.AwaySince) >= s.grace {
			s.expire(ctx, sessionID, id)
			continue
		}
		for replica := range p.Sockets {
			if !live.alive(ctx, replica) {
				s.writeOff(ctx, sessionID, id, replica)
			}
		}
	}
	s.closeDueVotes(ctx, sessionID, st)
	if t := st.Timer; t != nil && t.Running && t.left(now) == 0 {
		s.timerDone(ctx, sessionID, t.Gen)
	}
	s.endIfEmpty(ctx, sessionID)
}
