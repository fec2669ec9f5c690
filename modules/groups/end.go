package groups

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/jobs"
)

// Summary is what an ended session leaves behind (GET
// /groups/sessions/{id}/summary).
type Summary struct {
	SessionID    string               `json:"session_id"`
	Title        string               `json:"title"`
	WorkoutType  string               `json:"workout_type"`
	HostID       string               `json:"host_id"`
	StartsAt     time.Time            `json:"starts_at"`
	EndedAt      time.Time            `json:"ended_at"`
	EndReason    string               `json:"end_reason"`
	Participants []SummaryParticipant `json:"participants"`
	Votes        []VoteResult         `json:"votes"`
	// Chat is the transcript, oldest first (at most MaxTranscript lines;
	// ChatTotal counts them all).
	Chat      []ChatMessage `json:"chat"`
	ChatTotal int64         `json:"chat_total"`
}

// SummaryParticipant is one participant's part in a session.
type SummaryParticipant struct {
	UserID    string          `json:"user_id"`
	Stints    []Stint         `json:"stints"` // join and leave times, oldest first
	PresentS  int64           `json:"present_s"`
	Exercises []ExerciseTotal `json:"exercises"`
	HeartRate *HeartRate      `json:"heart_rate,omitempty"`
	// Workout tells whether a workout is recorded for them (present at
	// least the minimum time, and the activity module wired).
	Workout bool `json:"workout"`
}

// Stint is one time in the session, from joining to leaving.
type Stint struct {
	JoinedAt time.Time `json:"joined_at"`
	LeftAt   time.Time `json:"left_at"`
}

// HeartRate sums up a participant's reported heart rate.
type HeartRate struct {
	Avg int `json:"avg"`
	Max int `json:"max"`
}

// Summary limits and names.
const (
	MaxTranscript = 10000
	// WorkoutJob records one participant's workout after a session ends.
	WorkoutJob = "groups.session_workout"
	// recoverAfter and recoverWithin bound the ended sessions whose
	// missing summary the end_due job writes: not the ones being written
	// now, nor ones whose live state has expired.
	recoverAfter  = time.Minute
	recoverWithin = stateTTL
)

// ErrSummaryNotFound answers for a session that has no summary for the
// caller: they did not take part, or it is being written.
var ErrSummaryNotFound = apperr.E(apperr.NotFound, "summary_not_found", "No summary of this session for you.")

// ErrSessionNotEnded answers a summary asked for before the end.
var ErrSessionNotEnded = apperr.E(apperr.Conflict, "session_not_ended", "The session has not ended; its summary comes at the end.")

type summaryRow struct {
	SessionID string `gorm:"primaryKey"`
	Summary   string
	CreatedAt time.Time `gorm:"autoCreateTime:false"`
}

func (summaryRow) TableName() string { return "groups_summaries" }

type summaryMemberRow struct {
	SessionID string `gorm:"primaryKey"`
	UserID    string `gorm:"primaryKey"`
}

func (summaryMemberRow) TableName() string { return "groups_summary_members" }

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
	t, err := s.readTotals(ctx, sessionID)
	if err != nil {
		return err
	}
	sum := s.buildSummary(r, st, t)
	if err := s.storeSummary(ctx, r, sum); err != nil {
		return err
	}
	return s.live.cache.Delete(ctx, totalsPrefix+sessionID)
}

// buildSummary puts the frozen state and totals together.
func (s *service) buildSummary(r *sessionRow, st *liveState, t totals) *Summary {
	sum := &Summary{SessionID: r.ID, Title: r.Title, WorkoutType: r.WorkoutType, HostID: r.HostID,
		StartsAt: r.StartsAt, EndedAt: *r.EndedAt, EndReason: r.EndReason,
		Participants: []SummaryParticipant{}, Votes: []VoteResult{}}
	byUser := map[string]*SummaryParticipant{}
	present := map[string]time.Duration{}
	for _, d := range st.Departed {
		p := byUser[d.UserID]
		if p == nil {
			sum.Participants = append(sum.Participants, SummaryParticipant{UserID: d.UserID, Exercises: []ExerciseTotal{}})
			p = &sum.Participants[len(sum.Participants)-1]
			byUser[d.UserID] = p
		}
		if d.LeftAt.After(d.JoinedAt) {
			p.Stints = append(p.Stints, Stint{JoinedAt: d.JoinedAt, LeftAt: d.LeftAt})
			present[d.UserID] += d.LeftAt.Sub(d.JoinedAt)
		}
	}
	for i := range sum.Participants {
		p := &sum.Participants[i]
		slices.SortFunc(p.Stints, func(a, b Stint) int { return a.JoinedAt.Compare(b.JoinedAt) })
		if u := t[p.UserID]; u != nil {
			for _, e := range u.Exercises {
				p.Exercises = append(p.Exercises, *e)
			}
			if u.HRCount > 0 {
				p.HeartRate = &HeartRate{Avg: int(math.Round(float64(u.HRSum) / float64(u.HRCount))), Max: u.HRMax}
			}
		}
		p.PresentS = int64(present[p.UserID] / time.Second)
		p.Workout = s.workouts != nil && present[p.UserID] >= s.minWorkout
	}
	// Longest present first, as a results board reads.
	slices.SortStableFunc(sum.Participants, func(a, b SummaryParticipant) int { return cmp.Compare(b.PresentS, a.PresentS) })
	for _, v := range st.Votes {
		sum.Votes = append(sum.Votes, *v.result())
	}
	return sum
}

// storeSummary writes the summary once, with a workout job per
// participant who earned one, in one transaction.
func (s *service) storeSummary(ctx context.Context, r *sessionRow, sum *Summary) error {
	doc, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	return s.st.db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&summaryRow{SessionID: r.ID, Summary: string(doc), CreatedAt: s.now()})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // written already
		}
		members := make([]summaryMemberRow, 0, len(sum.Participants))
		for _, p := range sum.Participants {
			members = append(members, summaryMemberRow{SessionID: r.ID, UserID: p.UserID})
		}
		if len(members) > 0 {
			if err := tx.CreateInBatches(members, 200).Error; err != nil {
				return err
			}
		}
		for _, p := range sum.Participants {
			if !p.Workout {
				continue
			}
			job := workoutJob{Key: r.ID + ":" + p.UserID, UserID: p.UserID, WorkoutType: r.WorkoutType,
				Start: p.Stints[0].JoinedAt, End: p.Stints[len(p.Stints)-1].LeftAt, PresentS: p.PresentS,
				Notes: "Group session: " + r.Title}
			if p.HeartRate != nil {
				job.AvgHeartRate = &p.HeartRate.Avg
			}
			if _, err := s.jobs.Enqueue(ctx, tx, jobs.Job{Kind: WorkoutJob, Payload: job, DedupeKey: job.Key}); err != nil {
				return err
			}
		}
		return nil
	})
}

// workoutJob is a WorkoutJob's payload.
type workoutJob struct {
	Key          string    `json:"key"`
	UserID       string    `json:"user_id"`
	WorkoutType  string    `json:"workout_type"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	PresentS     int64     `json:"present_s"`
	AvgHeartRate *int      `json:"avg_heart_rate,omitempty"`
	Notes        string    `json:"notes"`
}

// recordWorkout is the WorkoutJob handler. An account erased meanwhile
// or a refusal is final; anything else is retried.
func (s *service) recordWorkout(ctx context.Context, j jobs.JobInfo) error {
	var w workoutJob
	if err := j.Decode(&w); err != nil {
		return jobs.Permanent(err)
	}
	err := s.workouts.RecordGroupWorkout(ctx, WorkoutRecord{Key: w.Key, UserID: w.UserID, WorkoutType: w.WorkoutType,
		Start: w.Start, End: w.End, Present: time.Duration(w.PresentS) * time.Second,
		AvgHeartRate: w.AvgHeartRate, Notes: w.Notes})
	switch apperr.KindOf(err) {
	case apperr.NotFound, apperr.Invalid:
		return jobs.Permanent(err)
	}
	return err
}

// FindSummary implements Service: an ended session's summary, for its
// participants, its host and admins.
func (s *service) FindSummary(ctx context.Context, sessionID string) (*Summary, error) {
	p, err := auth.Caller(ctx)
	if err != nil {
		return nil, err
	}
	q := s.st.db.Read(ctx)
	r, err := s.st.session(q, sessionID)
	if err != nil {
		return nil, err
	}
	if ok, err := s.mayView(q, p, r); err != nil || !ok {
		return nil, orNotFound(err, ErrSessionNotFound)
	}
	if r.stateAt(s.now()) != StateEnded {
		return nil, ErrSessionNotEnded
	}
	if !p.IsAdmin() && p.UserID != r.HostID {
		var n int64
		if err := q.Model(&summaryMemberRow{}).Where("session_id = ? AND user_id = ?", r.ID, p.UserID).Count(&n).Error; err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, ErrSummaryNotFound
		}
	}
	var row summaryRow
	if err := q.Where("session_id = ?", r.ID).Limit(1).Find(&row).Error; err != nil {
		return nil, err
	}
	if row.SessionID == "" {
		return nil, ErrSummaryNotFound // being written
	}
	var sum Summary
	if err := json.Unmarshal([]byte(row.Summary), &sum); err != nil {
		return nil, err
	}
	var lines []chatRow
	if err := q.Where("session_id = ?", r.ID).Order("id").Limit(MaxTranscript).Find(&lines).Error; err != nil {
		return nil, err
	}
	if err := q.Model(&chatRow{}).Where("session_id = ?", r.ID).Count(&sum.ChatTotal).Error; err != nil {
		return nil, err
	}
	sum.Chat = make([]ChatMessage, len(lines))
	for i, l := range lines {
		sum.Chat[i] = ChatMessage{ID: l.ID, UserID: l.UserID, Message: l.Message, SentAt: utc(l.SentAt)}
	}
	return &sum, nil
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
