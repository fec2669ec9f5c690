package groups

import (
	"cmp"
	"context"
	"encoding/json"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fitloop/fitloop/platform/realtime"
)

// Exercise messages and limits.
const (
	MsgExercise     = "exercise_update"
	EvExercise      = "exercise_update"
	EvExercises     = "exercise_updates" // several, to the host: {updates: [exercise_update data]}
	EvLeaderboard   = "leaderboard"
	MaxExerciseName = 64
	MaxReps         = 1000
	MaxWeightKG     = 1000
	MinHeartRate    = 25
	MaxHeartRate    = 250
	// leaderboardEvery is the leaderboard's pace: at most one a second
	// per session, whichever replica and however many updates.
	leaderboardEvery = time.Second
	maxLeaderboard   = 100 // entries in one leaderboard
	// hostBatchWindow is how long after sending the host an update a
	// replica holds the session's next ones, to send them together.
	hostBatchWindow = 10 * time.Millisecond
	totalsPrefix    = "groups:totals:"
	boardPrefix     = "groups:board:"
)

type exerciseMsg struct {
	envelope
	Exercise  string   `json:"exercise"`
	Reps      *int     `json:"reps"`
	WeightKG  *float64 `json:"weight_kg"`
	HeartRate *int     `json:"heart_rate"`
}

// totals are a session's exercise totals by participant, read for the
// leaderboard and the summary. Each participant's are a cache document of
// their own (totalsKey), beside the live state, so that an update touches
// one participant's few hundred bytes and never races a classmate's or a
// join.
type totals map[string]*userTotals

// userTotals are one participant's totals. An exercise_update with reps
// reports one set.
type userTotals struct {
	Exercises []*ExerciseTotal `json:"exercises"` // in the order first done
	Current   string           `json:"current"`
	HRLast    int              `json:"hr_last,omitempty"`
	HRSum     int64            `json:"hr_sum,omitempty"`
	HRCount   int64            `json:"hr_count,omitempty"`
	HRMax     int              `json:"hr_max,omitempty"`
}

// ExerciseTotal is one exercise's sets, reps and load for a participant.
type ExerciseTotal struct {
	Exercise    string  `json:"exercise"`
	Sets        int     `json:"sets"`
	Reps        int     `json:"reps"`
	MaxWeightKG float64 `json:"max_weight_kg"`
	VolumeKG    float64 `json:"volume_kg"` // sum of reps × weight
}

// ExerciseEvent is the exercise_update event, sent to the host and the
// participant's own sockets; everyone else follows the leaderboard.
type ExerciseEvent struct {
	UserID    string    `json:"user_id"`
	Exercise  string    `json:"exercise"`
	Reps      *int      `json:"reps,omitempty"`
	WeightKG  *float64  `json:"weight_kg,omitempty"`
	HeartRate *int      `json:"heart_rate,omitempty"`
	TotalReps int       `json:"total_reps"` // of this exercise in the session
	At        time.Time `json:"at"`
}

// LeaderEntry is one line of the leaderboard.
type LeaderEntry struct {
	Rank      int    `json:"rank"`
	UserID    string `json:"user_id"`
	Reps      int    `json:"reps"` // every exercise's reps in the session
	HeartRate int    `json:"heart_rate,omitempty"`
	Exercise  string `json:"exercise,omitempty"` // the latest one
}

func (m *exerciseMsg) check() (string, error) {
	name := strings.TrimSpace(m.Exercise)
	if msg := checkLine(name, MaxExerciseName); msg != "" {
		return "", invalid("exercise " + msg)
	}
	switch {
	case m.Reps != nil && (*m.Reps < 0 || *m.Reps > MaxReps):
		return "", invalid("reps must be 0 to 1000.")
	case m.WeightKG != nil && (math.IsNaN(*m.WeightKG) || *m.WeightKG < 0 || *m.WeightKG > MaxWeightKG):
		return "", invalid("weight_kg must be 0 to 1000.")
	case m.HeartRate != nil && (*m.HeartRate < MinHeartRate || *m.HeartRate > MaxHeartRate):
		return "", invalid("heart_rate must be 25 to 250.")
	}
	return name, nil
}

// add records one update; it returns the exercise's reps so far.
func (u *userTotals) add(name string, m *exerciseMsg) int {
	i := slices.IndexFunc(u.Exercises, func(e *ExerciseTotal) bool { return strings.EqualFold(e.Exercise, name) })
	if i < 0 {
		u.Exercises = append(u.Exercises, &ExerciseTotal{Exercise: name})
		i = len(u.Exercises) - 1
	}
	e := u.Exercises[i]
	u.Current = e.Exercise
	if m.Reps != nil {
		e.Sets++
		e.Reps += *m.Reps
		if m.WeightKG != nil {
			e.MaxWeightKG = max(e.MaxWeightKG, *m.WeightKG)
			e.VolumeKG = math.Round((e.VolumeKG+float64(*m.Reps)**m.WeightKG)*1000) / 1000
		}
	}
	if m.HeartRate != nil {
		u.HRLast = *m.HeartRate
		u.HRSum += int64(*m.HeartRate)
		u.HRCount++
		u.HRMax = max(u.HRMax, *m.HeartRate)
	}
	return e.Reps
}

func (u *userTotals) reps() int {
	n := 0
	for _, e := range u.Exercises {
		n += e.Reps
	}
	return n
}

// onExercise adds a participant's set or heart rate to their totals,
// sends it to the host (and the participant's other sockets) and has the
// leaderboard sent within a second.
func (s *service) onExercise(ctx context.Context, c *realtime.Conn, raw json.RawMessage) error {
	var m exerciseMsg
	if err := decode(c, raw, &m); err != nil {
		return err
	}
	sessionID, err := s.joined(c)
	if err != nil {
		return err
	}
	name, err := m.check()
	if err != nil {
		return err
	}
	userID := c.Principal().UserID
	room, err := s.view(ctx, sessionID)
	if err != nil {
		return err
	}
	switch {
	case room.Ended:
		return ErrSessionEnded
	case room.Participants[userID] == nil:
		return ErrNotJoined
	}
	var total int
	err = s.updateTotals(ctx, sessionID, userID, func(u *userTotals) { total = u.add(name, &m) })
	if err != nil {
		return err
	}
	ev := ExerciseEvent{UserID: userID, Exercise: name, Reps: m.Reps, WeightKG: m.WeightKG,
		HeartRate: m.HeartRate, TotalReps: total, At: s.now()}
	if err := s.deliverExercise(ctx, sessionID, room.HostID, ev); err != nil {
		return err
	}
	return s.coalesce(ctx, boardPrefix+sessionID, leaderboardEvery, func(ctx context.Context) {
		s.sendLeaderboard(ctx, sessionID)
	})
}

// deliverExercise sends an update to its sender's sockets and to the host.
// A host receives every participant's updates, and a class that finishes
// a set on the instructor's count sends them all at once: fifty frames in
// a few milliseconds would overflow the host's send queue and cut them
// off. So after an update goes to the host, this replica holds the
// session's next ones for hostBatchWindow and sends them to the host
// together, as one exercise_updates; a quiet class's updates go at once.
func (s *service) deliverExercise(ctx context.Context, sessionID, host string, ev ExerciseEvent) error {
	room := roomOf(sessionID)
	b := s.sockets.batch(sessionID)
	if host == "" || host == ev.UserID || b == nil {
		_, err := s.hub.PublishRoomTo(ctx, room, []string{ev.UserID}, EvExercise, ev)
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock() // held while publishing, so the host gets the updates in order
	if b.holding {
		b.pending, b.host = append(b.pending, ev), host
		_, err := s.hub.PublishRoomTo(ctx, room, []string{ev.UserID}, EvExercise, ev)
		return err
	}
	b.holding = true
	time.AfterFunc(hostBatchWindow, func() { s.flushHost(sessionID, b) })
	_, err := s.hub.PublishRoomTo(ctx, room, []string{ev.UserID, host}, EvExercise, ev)
	return err
}

// flushHost sends the host the updates held since the last send, and holds
// the next ones for another window; with none held, updates go at once
// again.
func (s *service) flushHost(sessionID string, b *hostBatch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) == 0 {
		b.holding = false
		return
	}
	evs := b.pending
	b.pending = nil
	time.AfterFunc(hostBatchWindow, func() { s.flushHost(sessionID, b) })
	ctx := context.Background()
	if _, err := s.hub.PublishRoomTo(ctx, roomOf(sessionID), []string{b.host}, EvExercises, map[string]any{"updates": evs}); err != nil {
		s.log.WarnContext(ctx, "groups: exercise updates to the host", "session_id", sessionID, "err", err)
	}
}

func totalsKey(sessionID, userID string) string { return totalsPrefix + sessionID + ":" + userID }

// updateTotals applies fn to one participant's totals.
func (s *service) updateTotals(ctx context.Context, sessionID, userID string, fn func(*userTotals)) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	_, err := s.live.cache.Update(ctx, totalsKey(sessionID, userID), stateTTL, func(cur []byte, ok bool) ([]byte, error) {
		var u userTotals
		if ok {
			if err := json.Unmarshal(cur, &u); err != nil {
				return nil, err
			}
		}
		fn(&u)
		return json.Marshal(&u)
	})
	return err
}

// readTotals returns the totals of userIDs in a session (those with none
// are left out), in one cache round trip.
func (s *service) readTotals(ctx context.Context, sessionID string, userIDs []string) (totals, error) {
	keys := make([]string, len(userIDs))
	for i, id := range userIDs {
		keys[i] = totalsKey(sessionID, id)
	}
	vals, err := s.live.cache.GetMany(ctx, keys...)
	if err != nil {
		return nil, err
	}
	t := totals{}
	for i, b := range vals {
		if b == nil {
			continue
		}
		u := &userTotals{}
		if err := json.Unmarshal(b, u); err != nil {
			return nil, err
		}
		t[userIDs[i]] = u
	}
	return t, nil
}

// dropTotals deletes the totals of userIDs in a session.
func (s *service) dropTotals(ctx context.Context, sessionID string, userIDs []string) error {
	keys := make([]string, len(userIDs))
	for i, id := range userIDs {
		keys[i] = totalsKey(sessionID, id)
	}
	return s.live.cache.Delete(ctx, keys...)
}

// sendLeaderboard publishes the present participants ranked by reps.
func (s *service) sendLeaderboard(ctx context.Context, sessionID string) {
	st, err := s.view(ctx, sessionID)
	if err != nil || st.Ended || len(st.Participants) == 0 {
		return
	}
	t, err := s.readTotals(ctx, sessionID, slices.Collect(maps.Keys(st.Participants)))
	if err != nil {
		s.log.WarnContext(ctx, "groups: leaderboard", "session_id", sessionID, "err", err)
		return
	}
	entries := make([]LeaderEntry, 0, len(st.Participants))
	for id := range st.Participants {
		e := LeaderEntry{UserID: id}
		if u := t[id]; u != nil {
			e.Reps, e.HeartRate, e.Exercise = u.reps(), u.HRLast, u.Current
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b LeaderEntry) int {
		return cmp.Or(cmp.Compare(b.Reps, a.Reps), strings.Compare(a.UserID, b.UserID))
	})
	entries = entries[:min(len(entries), maxLeaderboard)]
	for i := range entries {
		entries[i].Rank = i + 1
	}
	s.publish(ctx, sessionID, EvLeaderboard, map[string]any{"entries": entries, "at": s.now()})
}

// coalesce runs fn once at the end of the current window of length w for
// key, however many callers on however many replicas ask within it: the
// first to count the window's key schedules it. Windows follow the wall
// clock, so fn runs at most once per window; each key's windows are offset
// by a hash of it, so that many sessions' leaderboards do not all go out
// at the same instant of every second.
func (s *service) coalesce(ctx context.Context, key string, w time.Duration, fn func(context.Context)) error {
	h := fnv.New64a()
	h.Write([]byte(key))
	off := time.Duration(h.Sum64() % uint64(w))
	now := time.Now()
	start := now.Add(-off).Truncate(w).Add(off)
	n, err := s.live.cache.Incr(ctx, key+":"+strconv.FormatInt(start.UnixMilli(), 10), w+time.Second)
	if err != nil {
		return err
	}
	if n == 1 {
		time.AfterFunc(start.Add(w).Sub(now), func() { fn(context.Background()) })
	}
	return nil
}
