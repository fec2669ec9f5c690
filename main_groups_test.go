package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wsFrame is any server → client message.
type wsFrame struct {
	Type string          `json:"type"`
	Code string          `json:"code"`
	Seq  uint64          `json:"seq"`
	Data json.RawMessage `json:"data"`
}

type wsClient struct {
	tb testing.TB
	ws *websocket.Conn
}

func (s *runningServer) dialWS(tb testing.TB, token string) *wsClient {
	tb.Helper()
	url := "ws" + strings.TrimPrefix(s.url, "http") + "/api/v1/ws"
	ws, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + token}})
	require.NoError(tb, err)
	_ = resp.Body.Close()
	tb.Cleanup(func() { _ = ws.Close() })
	return &wsClient{tb: tb, ws: ws}
}

func (c *wsClient) send(v map[string]any) {
	c.tb.Helper()
	require.NoError(c.tb, c.ws.WriteJSON(v))
}

// next reads until a frame of type typ, failing on an error frame.
func (c *wsClient) next(typ string) wsFrame {
	c.tb.Helper()
	for {
		require.NoError(c.tb, c.ws.SetReadDeadline(time.Now().Add(mainWait)))
		var f wsFrame
		require.NoError(c.tb, c.ws.ReadJSON(&f))
		require.NotEqual(c.tb, "error", f.Type, "error frame %s while awaiting %s", f.Code, typ)
		if f.Type == typ {
			return f
		}
	}
}

func field(tb testing.TB, f wsFrame, key string) any {
	tb.Helper()
	var m map[string]any
	require.NoError(tb, json.Unmarshal(f.Data, &m))
	return m[key]
}

// A live class run end to end through the real program: REST, the
// WebSocket hub, the groups module, the job queue and the activity module.
func TestLiveClassThroughTheApp(t *testing.T) {
	mainEnv(t, "")
	t.Setenv("FITLOOP_GROUPS_MIN_WORKOUT", "0s")
	t.Setenv("FITLOOP_JOBS_POLL_INTERVAL", "50ms")
	s := startServer(t)
	hostID, hostTok := s.registerAndLogin(t, "coach")
	aID, aTok := s.registerAndLogin(t, "ana")
	bID, bTok := s.registerAndLogin(t, "ben")

	status, body := s.call(t, "POST", "/api/v1/groups/sessions", hostTok,
		map[string]any{"title": "Friday HIIT", "workout_type": "hiit", "visibility": "public"})
	require.Equal(t, http.StatusCreated, status, string(body))
	var sess struct {
		SessionID string `json:"session_id"`
	}
	require.NoError(t, json.Unmarshal(body, &sess))

	host, a, b := s.dialWS(t, hostTok), s.dialWS(t, aTok), s.dialWS(t, bTok)
	for _, c := range []*wsClient{host, a, b} {
		c.send(map[string]any{"type": "join_session", "session_id": sess.SessionID})
		c.next("session_state")
	}
	for field(t, host.next("participant_joined"), "user_id") != bID {
	}

	a.send(map[string]any{"type": "chat_message", "message": "Ready!"})
	assert.Equal(t, "Ready!", field(t, b.next("chat_message"), "message"))

	host.send(map[string]any{"type": "vote_start", "question": "Finisher?", "options": []string{"Burpees", "Plank"}, "closes_in_s": 1})
	voteID := field(t, a.next("vote_opened"), "vote_id")
	a.send(map[string]any{"type": "vote_cast", "vote_id": voteID, "option": "Plank"})
	b.send(map[string]any{"type": "vote_cast", "vote_id": voteID, "option": "Plank"})
	closed := field(t, host.next("vote_closed"), "result").(map[string]any)
	assert.Equal(t, []any{"Plank"}, closed["winners"])

	host.send(map[string]any{"type": "timer_start", "duration_s": 20, "label": "Plank"})
	assert.Equal(t, true, field(t, b.next("timer_state"), "running"))

	a.send(map[string]any{"type": "media_state", "camera": true, "mic": true})
	assert.Equal(t, aID, field(t, b.next("media_state"), "user_id"))
	a.send(map[string]any{"type": "signal", "to_user_id": bID, "kind": "offer", "data": map[string]any{"sdp": "v=0"}})
	assert.Equal(t, aID, field(t, b.next("signal"), "from_user_id"))

	a.send(map[string]any{"type": "exercise_update", "exercise": "Burpee", "reps": 15, "heart_rate": 150})
	assert.Equal(t, aID, field(t, host.next("exercise_update"), "user_id"))
	entries := field(t, b.next("leaderboard"), "entries").([]any)
	assert.Equal(t, aID, entries[0].(map[string]any)["user_id"])

	status, body = s.call(t, "POST", "/api/v1/groups/sessions/"+sess.SessionID+"/end", hostTok, nil)
	require.Equal(t, http.StatusOK, status, string(body))
	assert.Equal(t, "host", field(t, a.next("session_ended"), "reason"))

	status, body = s.call(t, "GET", "/api/v1/groups/sessions/"+sess.SessionID+"/summary", aTok, nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var sum struct {
		Participants []struct {
			UserID    string `json:"user_id"`
			Exercises []struct {
				Reps int `json:"reps"`
			} `json:"exercises"`
		} `json:"participants"`
		Votes []struct {
			Winners []string `json:"winners"`
		} `json:"votes"`
		ChatTotal int `json:"chat_total"`
	}
	require.NoError(t, json.Unmarshal(body, &sum))
	assert.Len(t, sum.Participants, 3)
	assert.Equal(t, 1, sum.ChatTotal)
	require.Len(t, sum.Votes, 1)
	assert.Equal(t, []string{"Plank"}, sum.Votes[0].Winners)

	for _, u := range []struct{ id, tok string }{{hostID, hostTok}, {aID, aTok}, {bID, bTok}} {
		var list struct {
			Items []struct {
				WorkoutType string `json:"workout_type"`
				Source      string `json:"source"`
				AvgHR       *int   `json:"avg_heart_rate"`
			} `json:"items"`
		}
		require.Eventually(t, func() bool {
			status, body := s.call(t, "GET", "/api/v1/users/"+u.id+"/workouts", u.tok, nil)
			return status == http.StatusOK && json.Unmarshal(body, &list) == nil && len(list.Items) == 1
		}, mainWait, 50*time.Millisecond, "a workout for each participant")
		assert.Equal(t, "hiit", list.Items[0].WorkoutType)
		assert.Equal(t, "group", list.Items[0].Source)
		if u.id == aID {
			require.NotNil(t, list.Items[0].AvgHR)
			assert.Equal(t, 150, *list.Items[0].AvgHR)
		}
	}
}
