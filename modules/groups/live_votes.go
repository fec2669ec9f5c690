package groups

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/realtime"
)

// vote is a poll in a live session's state. While open it holds each
// participant's ballot; once closed only the counts.
type vote struct {
	ID       string         `json:"vote_id"`
	Question string         `json:"question"`
	Options  []string       `json:"options"`
	OpenedBy string         `json:"opened_by"`
	OpenedAt time.Time      `json:"opened_at"`
	ClosesAt time.Time      `json:"closes_at"`
	Ballots  map[string]int `json:"ballots,omitempty"` // user → option index, while open
	Counts   []int          `json:"counts,omitempty"`  // per option, once closed
	Closed   bool           `json:"closed"`
}

// Vote limits.
const (
	MaxQuestion   = 200
	MaxOption     = 100
	MinOptions    = 2
	MaxOptions    = 6
	MaxVoteSecs   = 3600
	maxOpenVotes  = 3   // open at once in a session
	maxVotes      = 100 // in a session's life (the summary keeps them all)
	tallyInterval = 250 * time.Millisecond
	tallyPrefix   = "groups:tally:"
)

// Vote errors.
var (
	ErrVoteNotFound = apperr.E(apperr.NotFound, "vote_not_found", "No such vote in this session.")
	ErrVoteClosed   = apperr.E(apperr.Conflict, "vote_closed", "The vote has closed.")
	ErrTooManyVotes = apperr.E(apperr.Conflict, "too_many_votes",
		fmt.Sprintf("A session may have %d open votes at once and %d in all.", maxOpenVotes, maxVotes))
)

// Vote events.
const (
	MsgVoteStart = "vote_start"
	MsgVoteCast  = "vote_cast"
	EvVoteOpened = "vote_opened"
	EvVoteTally  = "vote_tally"
	EvVoteClosed = "vote_closed"
)

type voteStartMsg struct {
	envelope
	Question  string   `json:"question"`
	Options   []string `json:"options"`
	ClosesInS *int     `json:"closes_in_s"`
}

type voteCastMsg struct {
	envelope
	VoteID string  `json:"vote_id"`
	Option *string `json:"option"`
}

// VoteOpened is the vote_opened event and a snapshot's open vote.
type VoteOpened struct {
	VoteID   string    `json:"vote_id"`
	Question string    `json:"question"`
	Options  []string  `json:"options"`
	OpenedBy string    `json:"opened_by"`
	ClosesAt time.Time `json:"closes_at"`
	Tally    []int     `json:"tally"`
	// MyOption is the receiving participant's ballot, in a snapshot only.
	MyOption *string `json:"my_option,omitempty"`
}

// VoteResult is the vote_closed event's result and a summary's vote.
type VoteResult struct {
	VoteID   string        `json:"vote_id"`
	Question string        `json:"question"`
	Options  []OptionCount `json:"options"`
	Total    int           `json:"total"`
	// Winners are the options with the most votes (several on a tie, none
	// without ballots).
	Winners  []string  `json:"winners"`
	OpenedAt time.Time `json:"opened_at"`
	ClosedAt time.Time `json:"closed_at"`
}

// OptionCount is one option's votes.
type OptionCount struct {
	Option string `json:"option"`
	Votes  int    `json:"votes"`
}

// checkVote validates vote_start; it returns the trimmed question and
// options and how long the vote stays open.
func checkVote(m *voteStartMsg) (string, []string, time.Duration, error) {
	q := strings.TrimSpace(m.Question)
	if msg := checkLine(q, MaxQuestion); msg != "" {
		return "", nil, 0, invalid("question " + msg)
	}
	if len(m.Options) < MinOptions || len(m.Options) > MaxOptions {
		return "", nil, 0, invalid(fmt.Sprintf("options must hold %d to %d choices.", MinOptions, MaxOptions))
	}
	opts := make([]string, len(m.Options))
	for i, o := range m.Options {
		o = strings.TrimSpace(o)
		if msg := checkLine(o, MaxOption); msg != "" {
			return "", nil, 0, invalid(fmt.Sprintf("options[%d] %s", i, msg))
		}
		if slices.ContainsFunc(opts[:i], func(p string) bool { return strings.EqualFold(p, o) }) {
			return "", nil, 0, invalid(fmt.Sprintf("options[%d] repeats an option.", i))
		}
		opts[i] = o
	}
	if m.ClosesInS == nil || *m.ClosesInS < 1 || *m.ClosesInS > MaxVoteSecs {
		return "", nil, 0, invalid(fmt.Sprintf("closes_in_s must be 1 to %d seconds.", MaxVoteSecs))
	}
	return q, opts, time.Duration(*m.ClosesInS) * time.Second, nil
}

// checkLine checks one line of text of 1 to limit characters; it answers
// what is wrong, or "".
func checkLine(s string, limit int) string {
	switch n := len([]rune(s)); {
	case n == 0:
		return "is required."
	case n > limit:
		return fmt.Sprintf("must be at most %d characters.", limit)
	case strings.ContainsAny(s, "\x00\r\n"):
		return "must be one line of text."
	}
	return ""
}

// joined is the session a socket has joined, or ErrNotJoined.
func (s *service) joined(c *realtime.Conn) (string, error) {
	if id, ok := s.sockets.get(c); ok {
		return id, nil
	}
	return "", ErrNotJoined
}

// onVoteStart opens a vote (the host only) and schedules its closing.
func (s *service) onVoteStart(ctx context.Context, c *realtime.Conn, raw json.RawMessage) error {
	var m voteStartMsg
	if err := decode(c, raw, &m); err != nil {
		return err
	}
	sessionID, err := s.joined(c)
	if err != nil {
		return err
	}
	q, opts, open, err := checkVote(&m)
	if err != nil {
		return err
	}
	userID := c.Principal().UserID
	now := s.now()
	v := &vote{ID: newID(), Question: q, Options: opts, OpenedBy: userID, OpenedAt: now,
		ClosesAt: now.Add(open), Ballots: map[string]int{}}
	_, _, err = s.live.update(ctx, sessionID, "", func(st *liveState) error {
		if st.Participants[userID] == nil {
			return ErrNotJoined
		}
		if st.HostID != userID {
			return ErrNotHost
		}
		openNow := 0
		for _, o := range st.Votes {
			if !o.Closed {
				openNow++
			}
		}
		if openNow >= maxOpenVotes || len(st.Votes) >= maxVotes {
			return ErrTooManyVotes
		}
		st.Votes = append(st.Votes, v)
		return nil
	})
	if err != nil {
		return err
	}
	s.publish(ctx, sessionID, EvVoteOpened, v.opened(""))
	time.AfterFunc(open, func() { s.closeVote(context.Background(), sessionID, v.ID) })
	return nil
}

// onVoteCast records a participant's ballot, replacing an earlier one,
// and has the tally sent.
func (s *service) onVoteCast(ctx context.Context, c *realtime.Conn, raw json.RawMessage) error {
	var m voteCastMsg
	if err := decode(c, raw, &m); err != nil {
		return err
	}
	sessionID, err := s.joined(c)
	if err != nil {
		return err
	}
	if m.VoteID == "" || m.Option == nil {
		return invalid("vote_cast needs a vote_id and an option.")
	}
	userID := c.Principal().UserID
	now := s.now()
	_, changed, err := s.live.update(ctx, sessionID, "", func(st *liveState) error {
		if st.Participants[userID] == nil {
			return ErrNotJoined
		}
		v := st.vote(m.VoteID)
		switch {
		case v == nil:
			return ErrVoteNotFound
		case v.Closed || !now.Before(v.ClosesAt):
			return ErrVoteClosed
		}
		i := slices.Index(v.Options, strings.TrimSpace(*m.Option))
		if i < 0 {
			return invalid("option must be one of the vote's options: " + strings.Join(v.Options, ", ") + ".")
		}
		if prev, ok := v.Ballots[userID]; ok && prev == i {
			return errNoChange
		}
		if v.Ballots == nil { // none yet: the stored state omits the empty map
			v.Ballots = map[string]int{}
		}
		v.Ballots[userID] = i
		return nil
	})
	if err != nil || !changed {
		return err
	}
	return s.coalesce(ctx, tallyPrefix+m.VoteID, tallyInterval, func(ctx context.Context) {
		s.sendTally(ctx, sessionID, m.VoteID)
	})
}

// sendTally publishes a vote's current counts while it is open.
func (s *service) sendTally(ctx context.Context, sessionID, voteID string) {
	st, err := s.live.read(ctx, sessionID)
	if err != nil || st == nil || st.Ended {
		return
	}
	if v := st.vote(voteID); v != nil && !v.Closed {
		s.publish(ctx, sessionID, EvVoteTally, map[string]any{"vote_id": v.ID, "tally": v.counts(), "total": len(v.Ballots)})
	}
}

// closeVote closes a vote whose time is up, once whichever replica asks,
// and publishes its result.
func (s *service) closeVote(ctx context.Context, sessionID, voteID string) {
	now := s.now()
	var res *VoteResult
	_, changed, err := s.live.update(ctx, sessionID, "", func(st *liveState) error {
		v := st.vote(voteID)
		if v == nil || v.Closed || now.Before(v.ClosesAt) {
			return errNoChange
		}
		res = v.close()
		return nil
	})
	switch {
	case err != nil && apperr.KindOf(err) != apperr.Conflict: // ended: the summary has it
		s.log.WarnContext(ctx, "groups: close a vote", "session_id", sessionID, "vote_id", voteID, "err", err)
	case err == nil && changed:
		s.publish(ctx, sessionID, EvVoteClosed, map[string]any{"vote_id": voteID, "result": res})
	}
}

// closeDueVotes closes the votes of st that are past their time (a
// replica that scheduled the closing may be gone).
func (s *service) closeDueVotes(ctx context.Context, sessionID string, st *liveState) {
	for _, v := range st.Votes {
		if !v.Closed && !s.now().Before(v.ClosesAt) {
			s.closeVote(ctx, sessionID, v.ID)
		}
	}
}

func (st *liveState) vote(id string) *vote {
	for _, v := range st.Votes {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// counts are the votes per option.
func (v *vote) counts() []int {
	if v.Closed {
		return v.Counts
	}
	out := make([]int, len(v.Options))
	for _, i := range v.Ballots {
		out[i]++
	}
	return out
}

// close turns the ballots into counts and returns the result; the closing
// time is ClosesAt (the vote may close a little later than due).
func (v *vote) close() *VoteResult {
	v.Counts = v.counts()
	v.Ballots = nil
	v.Closed = true
	return v.result()
}

func (v *vote) result() *VoteResult {
	counts := v.counts()
	r := &VoteResult{VoteID: v.ID, Question: v.Question, Options: make([]OptionCount, len(v.Options)),
		Winners: []string{}, OpenedAt: v.OpenedAt, ClosedAt: v.ClosesAt}
	best := 1
	for i, o := range v.Options {
		r.Options[i] = OptionCount{Option: o, Votes: counts[i]}
		r.Total += counts[i]
		best = max(best, counts[i])
	}
	for i, o := range v.Options {
		if counts[i] == best {
			r.Winners = append(r.Winners, o)
		}
	}
	return r
}

// opened is the vote as vote_opened and snapshots show it; for is the
// participant whose ballot to include ("" for none).
func (v *vote) opened(forUser string) VoteOpened {
	out := VoteOpened{VoteID: v.ID, Question: v.Question, Options: v.Options, OpenedBy: v.OpenedBy,
		ClosesAt: v.ClosesAt, Tally: v.counts()}
	if i, ok := v.Ballots[forUser]; ok && forUser != "" {
		out.MyOption = &v.Options[i]
	}
	return out
}
