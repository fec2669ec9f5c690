package groups_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/groups"
)

func TestLiveJoinChatAndHostHandover(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	s := e.session(t, e.host, nil)
	host, a, b := e.dial(t, e.host), e.dial(t, e.a), e.dial(t, e.b)

	snap := host.join(s.ID)
	assert.Equal(t, e.host.ID, snap.HostID)
	require.Len(t, snap.Participants, 1)
	assert.True(t, snap.Participants[0].Host)

	snap = a.join(s.ID)
	require.Len(t, snap.Participants, 2)
	assert.Equal(t, []string{e.host.ID, e.a.ID}, []string{snap.Participants[0].UserID, snap.Participants[1].UserID},
		"longest present first")
	joined := host.next(groups.EvJoined)
	if data[map[string]any](t, joined)["user_id"] == e.host.ID { // its own arrival first
		joined = host.next(groups.EvJoined)
	}
	assert.Equal(t, e.a.ID, data[map[string]any](t, joined)["user_id"])
	assert.Equal(t, "groups:"+s.ID, joined.Room)
	assert.NotZero(t, joined.Seq)

	a.send(map[string]any{"type": groups.MsgChat, "message": "  ready when you are  "})
	for _, c := range []*client{host, a} {
		f := c.next(groups.EvChat)
		line := data[groups.ChatMessage](t, f)
		assert.Equal(t, "ready when you are", line.Message, "trimmed")
		assert.Equal(t, e.a.ID, line.UserID)
		assert.Greater(t, f.Seq, joined.Seq, "seqs grow")
	}

	detail := decode[groups.SessionDetail](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+s.ID, e.c.Token, nil, http.StatusOK)))
	assert.Len(t, detail.Participants, 2, "REST shows who is in the live session")

	snap = b.join(s.ID)
	require.Len(t, snap.Chat, 1, "a late joiner gets the recent chat")
	assert.Equal(t, "ready when you are", snap.Chat[0].Message)

	host.send(map[string]any{"type": groups.MsgLeave})
	left := a.next(groups.EvLeft)
	assert.Equal(t, map[string]any{"user_id": e.host.ID, "reason": groups.LeftByChoice}, data[map[string]any](t, left))
	changed := a.next(groups.EvHost)
	assert.Equal(t, e.a.ID, data[map[string]any](t, changed)["host_id"], "the longest present participant hosts")
	assert.Equal(t, changed.Seq, left.Seq+1)
}

func TestLiveJoinRefusals(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	private := e.session(t, e.host, map[string]any{"visibility": groups.Invite})
	small := e.session(t, e.host, map[string]any{"capacity": 2})
	later := e.session(t, e.host, map[string]any{"starts_at": rfc(time.Now().Add(time.Hour))})
	ended := e.session(t, e.host, nil)
	e.do(t, as("", http.MethodPost, api+"/groups/sessions/"+ended.ID+"/end", e.host.Token, nil, http.StatusOK))

	a := e.dial(t, e.a)
	join := func(id string) map[string]any { return map[string]any{"type": groups.MsgJoin, "session_id": id} }
	a.refused(map[string]any{"type": groups.MsgChat, "message": "hi"}, "not_joined")
	a.refused(map[string]any{"type": groups.MsgLeave}, "not_joined")
	a.refused(join(private.ID), "session_not_found")
	a.refused(join("01890000-0000-7000-8000-000000000000"), "session_not_found")
	a.refused(join(later.ID), "session_not_started")
	a.refused(join(ended.ID), "session_ended")
	a.refused(map[string]any{"type": groups.MsgJoin, "session_id": small.ID, "user_id": e.b.ID}, "user_mismatch")

	e.blocks.block(e.c.ID, e.host.ID)
	e.dial(t, e.c).refused(join(small.ID), "session_not_found") // blocked by the host: as if it were not there

	e.dial(t, e.host).join(small.ID)
	a.join(small.ID)
	e.dial(t, e.b).refused(join(small.ID), "session_full")

	a.send(map[string]any{"type": "ping"})
	assert.Equal(t, "pong", a.next("pong").Type, "refusals leave the connection open")
}

func TestLiveMalformedMessages(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	s := e.session(t, e.host, nil)
	c := e.dial(t, e.a)
	bad := func(name, raw, code string) {
		t.Run(name, func(t *testing.T) {
			c.tb = t
			c.sendRaw(raw)
			f := c.next("error")
			assert.Equal(t, code, f.Code, f.Message)
		})
	}
	bad("not_json", `{"type":`, "bad_message")
	bad("join_without_session", `{"type":"join_session"}`, "validation_failed")
	bad("join_session_not_a_string", `{"type":"join_session","session_id":5}`, "invalid_type")
	bad("join_negative_last_seq", `{"type":"join_session","session_id":"`+s.ID+`","last_seq":-1}`, "invalid_type")
	bad("join_unknown_field", `{"type":"join_session","session_id":"`+s.ID+`","room":"y"}`, "unknown_field")
	bad("join_user_not_a_string", `{"type":"join_session","session_id":"`+s.ID+`","user_id":7}`, "invalid_type")
	bad("join_a_made_up_id", `{"type":"join_session","session_id":"../../etc"}`, "session_not_found")
	c.tb = t
	c.join(s.ID)
	bad("chat_without_message", `{"type":"chat_message"}`, "validation_failed")
	bad("chat_message_not_a_string", `{"type":"chat_message","message":{"a":1}}`, "invalid_type")
	bad("chat_blank", `{"type":"chat_message","message":"   "}`, "validation_failed")
	bad("chat_too_long", `{"type":"chat_message","message":"`+strings.Repeat("é", groups.MaxChat+1)+`"}`, "message_too_long")
	bad("chat_unknown_field", `{"type":"chat_message","message":"hi","to":"all"}`, "unknown_field")
	bad("chat_as_someone_else", `{"type":"chat_message","message":"hi","user_id":"`+e.b.ID+`"}`, "user_mismatch")
	bad("leave_unknown_field", `{"type":"leave_session","now":true}`, "unknown_field")

	c.tb = t
	c.send(map[string]any{"type": groups.MsgChat, "message": strings.Repeat("é", groups.MaxChat)})
	assert.Len(t, []rune(data[groups.ChatMessage](t, c.next(groups.EvChat)).Message), groups.MaxChat,
		"the room still works after every refusal, and 1,000 characters pass")
}

func TestLiveChatRateLimit(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	s := e.session(t, e.host, nil)
	c := e.dial(t, e.a)
	c.join(s.ID)
	limited := 0
	for i := range 12 {
		c.send(map[string]any{"type": groups.MsgChat, "message": "spam " + string(rune('a'+i))})
		if f := c.read(); f.Type == "error" {
			assert.Equal(t, "rate_limited", f.Code)
			limited++
		}
	}
	assert.GreaterOrEqual(t, limited, 1, "more than 10 lines in 10 seconds are refused")
	assert.LessOrEqual(t, limited, 2)
}

func TestLiveDropResumeAndGrace(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	s := e.session(t, e.host, nil)
	host, a := e.dial(t, e.host), e.dial(t, e.a)
	host.join(s.ID)
	host.next(groups.EvJoined) // its own
	a.join(s.ID)
	joined := host.next(groups.EvJoined)

	require.NoError(t, a.ws.Close()) // a's connection drops
	host.send(map[string]any{"type": groups.MsgChat, "message": "while you were away"})
	missed := host.next(groups.EvChat)
	a = e.dial(t, e.a)
	a.send(map[string]any{"type": groups.MsgJoin, "session_id": s.ID, "last_seq": joined.Seq})
	replayed := a.next(groups.EvChat)
	assert.Equal(t, missed.Seq, replayed.Seq, "the missed event is replayed")
	snap := data[snapshot](t, a.next(groups.EvState))
	require.Len(t, snap.Participants, 2, "resumed within the grace period")
	assert.False(t, snap.Participants[1].Away)

	host.send(map[string]any{"type": "ping"})
	for f := host.read(); f.Type != "pong"; f = host.read() {
		assert.NotEqual(t, groups.EvJoined, f.Type, "a silent resume: no participant_joined")
		assert.NotEqual(t, groups.EvLeft, f.Type)
	}

	require.NoError(t, a.ws.Close()) // and drops for good
	left := host.next(groups.EvLeft)
	assert.Equal(t, map[string]any{"user_id": e.a.ID, "reason": groups.LeftDropped}, data[map[string]any](t, left))
}

func TestLiveEmptySessionEnds(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	s := e.session(t, e.host, nil)
	host := e.dial(t, e.host)
	host.join(s.ID)
	host.send(map[string]any{"type": groups.MsgLeave})
	url := api + "/groups/sessions/" + s.ID
	require.Eventually(t, func() bool {
		got := decode[groups.SessionDetail](t, e.do(t, as("", http.MethodGet, url, e.host.Token, nil, http.StatusOK)))
		return got.State == groups.StateEnded && got.EndReason == groups.EndedEmpty
	}, 10*time.Second, 50*time.Millisecond, "empty for the grace period, it ends")
}

func TestLiveRoomHearsTheEnd(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	s := e.session(t, e.host, nil)
	m := e.meeting(t, e.host, time.Now(), time.Hour, e.a.ID)
	a := e.dial(t, e.a)
	a.join(s.ID)
	e.do(t, as("", http.MethodPost, api+"/groups/sessions/"+s.ID+"/end", e.host.Token, nil, http.StatusOK))
	assert.Equal(t, map[string]any{"reason": groups.EndedByHost}, data[map[string]any](t, a.next(groups.EvEnded)))
	a.refused(map[string]any{"type": groups.MsgJoin, "session_id": s.ID}, "session_ended")

	a.join(m.SessionID)
	e.do(t, as("", http.MethodDelete, api+"/meetings/"+m.ID, e.host.Token, nil, http.StatusNoContent))
	assert.Equal(t, map[string]any{"reason": groups.EndedMeeting}, data[map[string]any](t, a.next(groups.EvEnded)),
		"cancelling a meeting that has begun ends its room")
}

// An account erased while its user is in someone else's live class: its
// chat lines leave the recent chat, and when the class ends the summary
// (from which the workout jobs are made) does not name them.
func TestAnErasedParticipantLeavesNoTrace(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	s, host, a, b := e.class(t)
	a.send(map[string]any{"type": groups.MsgChat, "message": "from a"})
	require.Equal(t, "from a", data[groups.ChatMessage](t, b.next(groups.EvChat)).Message)
	a.send(map[string]any{"type": groups.MsgExercise, "exercise": "squat", "reps": 5})
	host.exercises(1)
	b.send(map[string]any{"type": groups.MsgChat, "message": "from b"})
	require.Equal(t, "from b", data[groups.ChatMessage](t, b.next(groups.EvChat)).Message)
	snap := e.dial(t, e.c).join(s.ID)
	require.Len(t, snap.Chat, 2)

	e.users.remove(e.a.ID) // the delete-account saga closes the account first
	require.NoError(t, e.mod.EraseAccount(context.Background(), e.a.ID))
	require.NoError(t, e.mod.EraseAccount(context.Background(), e.a.ID), "idempotent")
	snap = e.dial(t, e.admin).join(s.ID)
	require.Len(t, snap.Chat, 1, "a late joiner no longer sees the erased user's line")
	assert.Equal(t, "from b", snap.Chat[0].Message)
	assert.Equal(t, e.b.ID, snap.Chat[0].UserID)

	e.do(t, as("", http.MethodPost, api+"/groups/sessions/"+s.ID+"/end", e.host.Token, nil, http.StatusOK))
	b.next(groups.EvEnded)
	sum := decode[groups.Summary](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+s.ID+"/summary", e.admin.Token, nil, http.StatusOK)))
	var who []string
	for _, p := range sum.Participants {
		who = append(who, p.UserID)
	}
	assert.ElementsMatch(t, []string{e.host.ID, e.b.ID, e.c.ID, e.admin.ID}, who)
	for _, line := range sum.Chat {
		assert.NotEqual(t, e.a.ID, line.UserID, "the transcript has none of their lines")
	}
}
