package groups_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/groups"
)

func types(fs []frame) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Type
	}
	return out
}

// A whole class on one replica: join, vote, timer, media, signaling,
// exercise updates and the leaderboard, the end, the summary and the
// workouts.
func TestLiveClass(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	s, host, a, b := e.class(t)
	for _, c := range []*client{host, a} { // they all know b is in
		for data[map[string]any](t, c.next(groups.EvJoined))["user_id"] != e.b.ID {
		}
	}

	t.Run("vote", func(t *testing.T) {
		poll := map[string]any{"type": groups.MsgVoteStart, "question": "Next block?", "options": []string{"Legs", "Core"}, "closes_in_s": 1}
		a.refused(poll, "not_host")
		host.send(poll)
		var opened groups.VoteOpened
		for _, c := range []*client{host, a, b} {
			opened = data[groups.VoteOpened](t, c.next(groups.EvVoteOpened))
		}
		assert.Equal(t, []string{"Legs", "Core"}, opened.Options)
		assert.Equal(t, []int{0, 0}, opened.Tally)

		a.send(map[string]any{"type": groups.MsgVoteCast, "vote_id": opened.VoteID, "option": "Legs"})
		b.send(map[string]any{"type": groups.MsgVoteCast, "vote_id": opened.VoteID, "option": "Core"})
		b.send(map[string]any{"type": groups.MsgVoteCast, "vote_id": opened.VoteID, "option": "Legs"}) // replaces it
		b.refused(map[string]any{"type": groups.MsgVoteCast, "vote_id": opened.VoteID, "option": "Arms"}, "validation_failed")
		b.refused(map[string]any{"type": groups.MsgVoteCast, "vote_id": "nope", "option": "Legs"}, "vote_not_found")

		closed := data[struct {
			VoteID string            `json:"vote_id"`
			Result groups.VoteResult `json:"result"`
		}](t, a.next(groups.EvVoteClosed))
		assert.Equal(t, opened.VoteID, closed.VoteID)
		assert.Equal(t, 2, closed.Result.Total, "one ballot each, b's replaced")
		assert.Equal(t, []string{"Legs"}, closed.Result.Winners)
		assert.Equal(t, []groups.OptionCount{{Option: "Legs", Votes: 2}, {Option: "Core", Votes: 0}}, closed.Result.Options)
		b.refused(map[string]any{"type": groups.MsgVoteCast, "vote_id": opened.VoteID, "option": "Core"}, "vote_closed")
	})

	t.Run("timer", func(t *testing.T) {
		a.refused(map[string]any{"type": groups.MsgTimerStart, "duration_s": 30}, "not_host")
		host.refused(map[string]any{"type": groups.MsgTimerPause}, "timer_not_set")
		host.send(map[string]any{"type": groups.MsgTimerStart, "duration_s": 45, "label": "Squats"})
		ts := data[groups.TimerState](t, b.next(groups.EvTimerState))
		assert.True(t, ts.Running)
		assert.Equal(t, "Squats", ts.Label)
		assert.Equal(t, int64(45000), ts.DurationMS)
		assert.InDelta(t, 45000, ts.RemainingMS, 1000)
		require.NotNil(t, ts.EndsAt)
		assert.Equal(t, ts.ServerTime.Add(time.Duration(ts.RemainingMS)*time.Millisecond), *ts.EndsAt)

		host.send(map[string]any{"type": groups.MsgTimerPause})
		paused := data[groups.TimerState](t, b.next(groups.EvTimerState))
		assert.False(t, paused.Running)
		assert.Nil(t, paused.EndsAt)
		assert.LessOrEqual(t, paused.RemainingMS, ts.RemainingMS)
		host.refused(map[string]any{"type": groups.MsgTimerPause}, "timer_not_running")

		late := e.dial(t, e.b) // b's second device
		snap := late.join(s.ID)
		require.NotNil(t, snap.Timer, "a joiner gets the timer")
		assert.Equal(t, paused.RemainingMS, snap.Timer.RemainingMS, "paused: the same time left for everyone")
		late.send(map[string]any{"type": groups.MsgLeave})

		host.send(map[string]any{"type": groups.MsgTimerStart}) // resume
		resumed := data[groups.TimerState](t, b.next(groups.EvTimerState))
		assert.True(t, resumed.Running)
		assert.Equal(t, paused.RemainingMS, resumed.RemainingMS)
		host.send(map[string]any{"type": groups.MsgTimerReset})
		reset := data[groups.TimerState](t, b.next(groups.EvTimerState))
		assert.False(t, reset.Running)
		assert.Equal(t, int64(45000), reset.RemainingMS)

		host.send(map[string]any{"type": groups.MsgTimerStart, "duration_s": 1, "label": "Rest"})
		assert.True(t, data[groups.TimerState](t, b.next(groups.EvTimerState)).Running)
		done := data[groups.TimerState](t, b.next(groups.EvTimerState))
		assert.False(t, done.Running, "the server says when it reaches zero")
		assert.Zero(t, done.RemainingMS)
		_, before := a.until(groups.EvTimerState) // a heard them all too, in order
		for range 5 {
			_, more := a.until(groups.EvTimerState)
			before = append(before, more...)
		}
		assert.NotContains(t, types(before), "error")
	})

	t.Run("media_and_signal", func(t *testing.T) {
		a.send(map[string]any{"type": groups.MsgMedia, "camera": true, "mic": false})
		m := data[map[string]any](t, host.next(groups.EvMedia))
		assert.Equal(t, map[string]any{"user_id": e.a.ID, "camera": true, "mic": false}, m)

		a.send(map[string]any{"type": groups.MsgSignal, "to_user_id": e.b.ID, "kind": "offer", "data": map[string]any{"sdp": "v=0…"}})
		sig := data[map[string]any](t, b.next(groups.EvSignal))
		assert.Equal(t, map[string]any{"from_user_id": e.a.ID, "kind": "offer", "data": map[string]any{"sdp": "v=0…"}}, sig)
		a.refused(map[string]any{"type": groups.MsgSignal, "to_user_id": e.c.ID, "kind": "offer", "data": "x"}, "peer_not_found")
		a.refused(map[string]any{"type": groups.MsgSignal, "to_user_id": e.b.ID, "kind": "hello", "data": "x"}, "validation_failed")

		a.send(map[string]any{"type": groups.MsgChat, "message": "see you"}) // a marker after the signal
		_, before := host.until(groups.EvChat)
		assert.NotContains(t, types(before), groups.EvSignal, "the host does not get a's signal to b")
		b.next(groups.EvChat)
	})

	t.Run("exercise_and_leaderboard", func(t *testing.T) {
		a.send(map[string]any{"type": groups.MsgExercise, "exercise": "Squat", "reps": 10, "weight_kg": 40, "heart_rate": 130})
		a.send(map[string]any{"type": groups.MsgExercise, "exercise": "squat", "reps": 8, "weight_kg": 45})
		b.send(map[string]any{"type": groups.MsgExercise, "exercise": "Plank", "heart_rate": 110})
		got := host.exercises(3)
		var fromA []int
		for _, ev := range got {
			if ev.UserID == e.a.ID {
				fromA = append(fromA, ev.TotalReps)
			}
		}
		assert.Equal(t, []int{10, 18}, fromA, "the host gets everyone's updates, in order")
		assert.Equal(t, 18, data[groups.ExerciseEvent](t, a.next(groups.EvExercise)).TotalReps+
			data[groups.ExerciseEvent](t, a.next(groups.EvExercise)).TotalReps-10, "a sees their own updates")

		// b follows the leaderboard, not a's updates.
		var board struct {
			Entries []groups.LeaderEntry `json:"entries"`
		}
		for {
			f, before := b.until(groups.EvLeaderboard)
			for _, x := range before {
				if x.Type == groups.EvExercise {
					assert.Equal(t, e.b.ID, data[groups.ExerciseEvent](t, x).UserID, "b gets only their own updates")
				}
			}
			board = data[struct {
				Entries []groups.LeaderEntry `json:"entries"`
			}](t, f)
			hr := map[string]int{}
			for _, x := range board.Entries {
				hr[x.UserID] = x.HeartRate
			}
			if len(board.Entries) == 3 && board.Entries[0].Reps == 18 && hr[e.b.ID] == 110 {
				break // every update is in
			}
		}
		assert.Equal(t, groups.LeaderEntry{Rank: 1, UserID: e.a.ID, Reps: 18, HeartRate: 130, Exercise: "Squat"}, board.Entries[0])
		assert.Equal(t, 3, board.Entries[2].Rank)
	})

	t.Run("end_summary_and_workouts", func(t *testing.T) {
		a.refused(map[string]any{"type": groups.MsgExercise, "exercise": "Squat", "reps": -1}, "validation_failed")
		e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+s.ID+"/summary", e.a.Token, nil, http.StatusConflict))
		e.do(t, as("", http.MethodPost, api+"/groups/sessions/"+s.ID+"/end", e.host.Token, nil, http.StatusOK))
		for _, c := range []*client{host, a, b} {
			assert.Equal(t, map[string]any{"reason": groups.EndedByHost}, data[map[string]any](t, c.next(groups.EvEnded)))
		}
		a.refused(map[string]any{"type": groups.MsgChat, "message": "still here?"}, "session_ended")

		sum := decode[groups.Summary](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+s.ID+"/summary", e.a.Token, nil, http.StatusOK)))
		require.Len(t, sum.Participants, 3)
		byUser := map[string]groups.SummaryParticipant{}
		for _, p := range sum.Participants {
			byUser[p.UserID] = p
			require.NotEmpty(t, p.Stints)
			assert.False(t, p.Stints[len(p.Stints)-1].LeftAt.After(sum.EndedAt))
		}
		pa := byUser[e.a.ID]
		assert.Equal(t, []groups.ExerciseTotal{{Exercise: "Squat", Sets: 2, Reps: 18, MaxWeightKG: 45, VolumeKG: 760}}, pa.Exercises)
		assert.Equal(t, &groups.HeartRate{Avg: 130, Max: 130}, pa.HeartRate)
		assert.Equal(t, sum.EndedAt, pa.Stints[0].LeftAt, "still present at the end")
		require.Len(t, sum.Votes, 1)
		assert.Equal(t, []string{"Legs"}, sum.Votes[0].Winners)
		assert.Equal(t, int64(1), sum.ChatTotal)
		assert.Equal(t, "see you", sum.Chat[0].Message)

		e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+s.ID+"/summary", e.c.Token, nil, http.StatusNotFound))
		e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+s.ID+"/summary", e.admin.Token, nil, http.StatusOK))

		require.Eventually(t, func() bool { return len(e.workouts.recorded()) == 3 }, 10*time.Second, 20*time.Millisecond,
			"a workout for each participant, through the job queue")
		w := e.workouts.recorded()[s.ID+":"+e.a.ID]
		assert.Equal(t, s.WorkoutType, w.WorkoutType)
		assert.Equal(t, e.a.ID, w.UserID)
		assert.Equal(t, pa.Stints[0].JoinedAt, w.Start)
		assert.Equal(t, sum.EndedAt, w.End)
		assert.Equal(t, 130, *w.AvgHeartRate)
	})
}

// A class that finishes a set at once: the host gets every update, in each
// sender's order, in fewer frames than updates, and stays connected.
func TestLiveExerciseBurstReachesTheHostTogether(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	_, host, a, b := e.class(t)
	const each = 20
	var wg sync.WaitGroup
	for _, c := range []*client{a, b} {
		wg.Go(func() {
			for range each {
				require.NoError(t, c.ws.WriteJSON(map[string]any{"type": groups.MsgExercise, "exercise": "squat", "reps": 1}))
			}
		})
	}
	wg.Wait()
	frames := 0
	var got []groups.ExerciseEvent
	for len(got) < 2*each {
		switch f := host.read(); f.Type {
		case groups.EvExercise:
			frames++
			got = append(got, data[groups.ExerciseEvent](t, f))
		case groups.EvExercises:
			frames++
			got = append(got, data[struct {
				Updates []groups.ExerciseEvent `json:"updates"`
			}](t, f).Updates...)
		}
	}
	require.Len(t, got, 2*each)
	next := map[string]int{e.a.ID: 1, e.b.ID: 1}
	for _, ev := range got {
		assert.Equal(t, next[ev.UserID], ev.TotalReps, "each sender's updates in order")
		next[ev.UserID]++
	}
	assert.Less(t, frames, 2*each, "updates held and sent together")
	host.send(map[string]any{"type": "ping"})
	host.next("pong")
}
