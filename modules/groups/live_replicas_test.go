package groups_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/groups"
	"github.com/fitloop/fitloop/platform/bus"
	"github.com/fitloop/fitloop/platform/cache"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/testkit"
)

// twoReplicas starts two servers on one database and one real Redis, each
// with its own Redis clients, bus and cache, as two fitloop processes.
func twoReplicas(t *testing.T) (*liveEnv, *replica, *replica) {
	t.Helper()
	db := dbtest.New(t)
	addr := testkit.Redis(t)
	le := &liveEnv{env: newEnvOn(t, db), blocks: &fakeBlocks{blocked: map[[2]string]bool{}},
		workouts: &fakeWorkouts{got: map[string]groups.WorkoutRecord{}}, redisAddr: addr}
	start := func() *replica {
		client := goredis.NewClient(&goredis.Options{Addr: addr})
		b := bus.NewRedis(client, nil)
		t.Cleanup(func() { _ = b.Close(); _ = client.Close() })
		return le.replica(t, db, b, client, cache.NewRedis(client, nil))
	}
	a, b := start(), start()
	le.mod, le.h, le.clock, le.ws = a.mod, a.engine, nil, a.ws
	return le, a, b
}

// A class with its participants on two replicas: every event reaches
// everyone in one order, whichever replica its sender is on.
func TestLiveAcrossTwoReplicas(t *testing.T) {
	t.Parallel()
	e, ra, rb := twoReplicas(t)
	outer := t // sockets that outlive a subtest
	s := e.session(t, e.host, nil)
	host, a, b := dialURL(t, ra.ws, e.host), dialURL(t, rb.ws, e.a), dialURL(t, ra.ws, e.b)
	host.join(s.ID)
	snap := a.join(s.ID)
	assert.Len(t, snap.Participants, 2, "B sees who joined on A")
	snap = b.join(s.ID)
	assert.Len(t, snap.Participants, 3)

	t.Run("same_events_same_order", func(t *testing.T) {
		const each = 5
		done := make(chan struct{})
		go func() { // a on B and b on A talk at once
			defer close(done)
			for range each {
				a.send(map[string]any{"type": groups.MsgChat, "message": "from B"})
			}
		}()
		for range each {
			b.send(map[string]any{"type": groups.MsgChat, "message": "from A"})
		}
		<-done
		order := func(c *client) (ids []string, seqs []uint64) {
			for len(ids) < 2*each {
				f := c.next(groups.EvChat)
				ids, seqs = append(ids, data[groups.ChatMessage](t, f).ID), append(seqs, f.Seq)
			}
			return ids, seqs
		}
		hostIDs, hostSeqs := order(host)
		aIDs, aSeqs := order(a)
		bIDs, _ := order(b)
		assert.Equal(t, hostIDs, aIDs, "A and B deliver in one order")
		assert.Equal(t, hostIDs, bIDs)
		assert.Equal(t, hostSeqs, aSeqs, "with the same seqs")
		assert.IsIncreasing(t, hostSeqs)
	})

	t.Run("host_tools_across_replicas", func(t *testing.T) {
		host.send(map[string]any{"type": groups.MsgVoteStart, "question": "Tempo?", "options": []string{"Fast", "Slow"}, "closes_in_s": 1})
		v := data[groups.VoteOpened](t, a.next(groups.EvVoteOpened))
		a.send(map[string]any{"type": groups.MsgVoteCast, "vote_id": v.VoteID, "option": "Slow"})
		res := data[struct {
			Result groups.VoteResult `json:"result"`
		}](t, b.next(groups.EvVoteClosed))
		assert.Equal(t, []string{"Slow"}, res.Result.Winners, "a's ballot on B counts, closed once")

		host.send(map[string]any{"type": groups.MsgTimerStart, "duration_s": 30, "label": "Work"})
		assert.True(t, data[groups.TimerState](t, a.next(groups.EvTimerState)).Running)

		a.send(map[string]any{"type": groups.MsgSignal, "to_user_id": e.b.ID, "kind": "candidate", "data": "c1"})
		assert.Equal(t, e.a.ID, data[map[string]any](t, b.next(groups.EvSignal))["from_user_id"])

		a.send(map[string]any{"type": groups.MsgExercise, "exercise": "Lunge", "reps": 12})
		ev := host.exercises(1)[0]
		assert.Equal(t, e.a.ID, ev.UserID, "the host on A gets an update sent on B")
		board := data[struct {
			Entries []groups.LeaderEntry `json:"entries"`
		}](t, b.next(groups.EvLeaderboard))
		require.NotEmpty(t, board.Entries)
		assert.Equal(t, e.a.ID, board.Entries[0].UserID)
	})

	t.Run("a_drop_on_B_resumed_on_A_is_silent", func(t *testing.T) {
		b.send(map[string]any{"type": groups.MsgChat, "message": "marker"})
		last := a.next(groups.EvChat).Seq
		host.next(groups.EvChat)
		require.NoError(t, a.ws.Close()) // a's replica B loses the socket
		b.send(map[string]any{"type": groups.MsgChat, "message": "while you were away"})
		host.next(groups.EvChat)

		a2 := dialURL(outer, ra.ws, e.a) // back within the grace period, on A
		a2.send(map[string]any{"type": groups.MsgJoin, "session_id": s.ID, "last_seq": last})
		_, before := a2.until(groups.EvState)
		require.NotEmpty(t, before)
		missed := before[0]
		assert.Equal(t, groups.EvChat, missed.Type, "the missed line is replayed from the shared log")
		assert.Equal(t, "while you were away", data[groups.ChatMessage](t, missed).Message)
		a = a2

		b.send(map[string]any{"type": groups.MsgChat, "message": "welcome back"})
		_, seen := host.until(groups.EvChat)
		assert.NotContains(t, types(seen), groups.EvLeft, "no one saw a leave")
		assert.NotContains(t, types(seen), groups.EvJoined)
	})

	t.Run("end_on_A_closes_everyone_and_records_once", func(t *testing.T) {
		e.do(t, as("", http.MethodPost, api+"/groups/sessions/"+s.ID+"/end", e.host.Token, nil, http.StatusOK))
		for _, c := range []*client{host, a, b} {
			c.next(groups.EvEnded)
		}
		sum := decode[groups.Summary](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+s.ID+"/summary", e.a.Token, nil, http.StatusOK)))
		assert.Len(t, sum.Participants, 3)
		require.Eventually(t, func() bool { return len(e.workouts.recorded()) == 3 }, 10*time.Second, 20*time.Millisecond)
	})
}

// A replica that stops without closing its sockets (killed) leaves its
// participants present in the shared state; the end_due sweep writes them
// off once its heartbeat has expired, and they leave after the grace period.
func TestLiveAStoppedReplicasParticipantsLeave(t *testing.T) {
	t.Parallel()
	e, ra, rb := twoReplicas(t)
	s := e.session(t, e.host, nil)
	host, a := dialURL(t, ra.ws, e.host), dialURL(t, rb.ws, e.a)
	host.join(s.ID)
	a.join(s.ID)

	// B "dies": its heartbeat stops and expires (deleted here rather than
	// waited for), while a's socket stays counted on it.
	require.NoError(t, rb.mod.Close())
	client := goredis.NewClient(&goredis.Options{Addr: e.redisAddr})
	t.Cleanup(func() { _ = client.Close() })
	keys, err := client.Keys(t.Context(), "*groups:replica:*").Result() // under the cache's prefix
	require.NoError(t, err)
	require.Len(t, keys, 2, "both replicas beat")
	for _, k := range keys {
		if !strings.HasSuffix(k, "groups:replica:"+ra.id) {
			require.NoError(t, client.Del(t.Context(), k).Err())
		}
	}

	require.NoError(t, ra.mod.EndDue().Run(t.Context()))
	left := host.next(groups.EvLeft) // after the grace period, by the timer the sweep set
	assert.Equal(t, map[string]any{"user_id": e.a.ID, "reason": groups.LeftDropped}, data[map[string]any](t, left))
}

// A replica answers exercise updates from its cached view of the state;
// changes made on the other replica (a new host, a leave, the end) reach it
// at once.
func TestLiveViewsFollowTheOtherReplica(t *testing.T) {
	t.Parallel()
	e, ra, rb := twoReplicas(t)
	s := e.session(t, e.host, nil)
	host, a, b := dialURL(t, ra.ws, e.host), dialURL(t, ra.ws, e.a), dialURL(t, rb.ws, e.b)
	host.join(s.ID)
	a.join(s.ID)
	b.join(s.ID)
	set := func(reps int) map[string]any {
		return map[string]any{"type": groups.MsgExercise, "exercise": "squat", "reps": reps}
	}
	b.send(set(5)) // B caches its view: host on A
	assert.Equal(t, e.b.ID, host.exercises(1)[0].UserID)

	host.send(map[string]any{"type": groups.MsgLeave}) // on A: a becomes host
	require.Equal(t, e.a.ID, data[map[string]any](t, b.next(groups.EvHost))["host_id"])
	b.send(set(6))
	ev := a.exercises(1)[0]
	assert.Equal(t, 11, ev.TotalReps, "the new host gets B's update")

	a2 := dialURL(t, rb.ws, e.a) // a's second socket, on B
	a2.join(s.ID)
	a2.send(set(1))
	a2.next(groups.EvExercise)
	a.send(map[string]any{"type": groups.MsgLeave}) // on A, while a2 is still in
	a2.send(set(1))
	assert.Equal(t, 2, data[groups.ExerciseEvent](t, a2.next(groups.EvExercise)).TotalReps,
		"a socket still in keeps its participant in")

	e.do(t, as("", http.MethodPost, api+"/groups/sessions/"+s.ID+"/end", e.host.Token, nil, http.StatusOK)) // on A
	b.next(groups.EvEnded)
	b.refused(set(1), "session_ended")
}
