package groups

import (
	"cmp"
	"context"
	"encoding/json"
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
	// UpdatedAt is when the summary was written or last rewritten (an
	// erasure): the attendance feed's change time (changes.go).
	UpdatedAt time.Time `gorm:"autoUpdateTime:false"`
}

func (summaryRow) TableName() string { return "groups_summaries" }

type summaryMemberRow struct {
	SessionID string `gorm:"primaryKey"`
	UserID    string `gorm:"primaryKey"`
}

func (summaryMemberRow) TableName() string { return "groups_summary_members" }

// buildSummary puts the frozen state and totals together.
func (s *service) buildSummary(r *sessionRow, st *liveState, t totals) *Summary {
	sum := &Summary{SessionID: r.ID, Title: r.Title, WorkoutType: r.WorkoutType, HostID: r.HostID,
		StartsAt: r.StartsAt, EndedAt: *r.EndedAt, EndReason: r.EndReason,
		Participants: []SummaryParticipant{}, Votes: []VoteResult{}}
	// An index, not a pointer: appending a participant may move the others.
	byUser := map[string]int{}
	present := map[string]time.Duration{}
	for _, d := range st.Departed {
		i, ok := byUser[d.UserID]
		if !ok {
			i = len(sum.Participants)
			sum.Participants = append(sum.Participants, SummaryParticipant{UserID: d.UserID, Exercises: []ExerciseTotal{}})
			byUser[d.UserID] = i
		}
		if d.LeftAt.After(d.JoinedAt) {
			p := &sum.Participants[i]
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
	now := utc(s.now())
	return s.st.db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&summaryRow{SessionID: r.ID, Summary: string(doc), CreatedAt: now, UpdatedAt: now})
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
