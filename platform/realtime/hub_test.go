package realtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/realtime"
)

func TestUpgrade(t *testing.T) {
	t.Parallel()
	_, url := server(t, realtime.Options{AllowedOrigins: []string{"https://app.fitloop.example"}})
	cases := []struct {
		name   string
		url    string
		header http.Header
		status int
		code   string
	}{
		{"refuses_a_missing_token", url, nil, 401, "unauthenticated"},
		{"refuses_a_bad_token", url, http.Header{"Authorization": {"Bearer nope"}}, 401, "unauthenticated"},
		{"refuses_a_bad_query_token", url + "?access_token=nope", nil, 401, "unauthenticated"},
		{"refuses_a_foreign_origin", url, http.Header{"Authorization": {"Bearer tok-alice"},
			"Origin": {"https://evil.example"}}, 403, "origin_not_allowed"},
		{"refuses_a_lookalike_origin", url, http.Header{"Authorization": {"Bearer tok-alice"},
			"Origin": {"https://app.fitloop.example.evil.example"}}, 403, "origin_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, resp, err := websocket.DefaultDialer.Dial(tc.url, tc.header)
			if ws != nil {
				ws.Close()
			}
			require.ErrorIs(t, err, websocket.ErrBadHandshake)
			defer resp.Body.Close()
			assert.Equal(t, tc.status, resp.StatusCode, "no 101")
			body, _ := io.ReadAll(resp.Body)
			assert.Contains(t, string(body), `"`+tc.code+`"`)
		})
	}
	t.Run("answers_a_bad_websocket_version_with_the_error_envelope", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, strings.Replace(url, "ws://", "http://", 1), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer tok-alice")
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "8")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, string(body), `"code":"websocket_upgrade_required"`)
	})
	t.Run("answers_a_plain_request_with_the_error_envelope", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, strings.Replace(url, "ws://", "http://", 1), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer tok-alice")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, string(body), `"code":"websocket_upgrade_required"`)
	})
	t.Run("accepts_the_access_token_query_parameter_and_an_allowed_origin", func(t *testing.T) {
		ws, resp, err := websocket.DefaultDialer.Dial(url+"?access_token=tok-bob",
			http.Header{"Origin": {"https://app.fitloop.example"}})
		require.NoError(t, err)
		resp.Body.Close()
		defer ws.Close()
		send(t, ws, map[string]string{"type": "echo"})
		assert.Equal(t, "bob", readType(t, ws, "echo").User)
	})
}

func TestSameOriginByDefault(t *testing.T) {
	t.Parallel()
	_, url := server(t, realtime.Options{})
	host := strings.TrimPrefix(strings.Split(url, "/api")[0], "ws://")
	hdr := http.Header{"Authorization": {"Bearer tok-alice"}, "Origin": {"http://" + host}}
	ws, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	require.NoError(t, err)
	resp.Body.Close()
	ws.Close()
	hdr.Set("Origin", "http://other.example")
	_, resp, err = websocket.DefaultDialer.Dial(url, hdr)
	require.Error(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestMessages(t *testing.T) {
	t.Parallel()
	_, url := server(t, realtime.Options{})
	ws := dial(t, url, "tok-alice")
	t.Run("dispatches_to_the_registered_handler", func(t *testing.T) {
		send(t, ws, map[string]any{"type": "echo", "n": 1})
		m := read(t, ws)
		assert.Equal(t, "echo", m.Type)
		assert.Equal(t, "alice", m.User)
	})
	t.Run("answers_ping_with_pong", func(t *testing.T) {
		send(t, ws, map[string]any{"type": "ping"})
		assert.Equal(t, "pong", read(t, ws).Type)
	})
	t.Run("answers_an_unknown_type_with_an_error", func(t *testing.T) {
		send(t, ws, map[string]any{"type": "nope"})
		m := read(t, ws)
		assert.Equal(t, "error", m.Type)
		assert.Equal(t, "unknown_type", m.Code)
	})
	t.Run("answers_non_json_with_bad_message", func(t *testing.T) {
		require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte("hello")))
		assert.Equal(t, "bad_message", read(t, ws).Code)
	})
	t.Run("rejects_a_duplicate_registration", func(t *testing.T) {
		h, _ := server(t, realtime.Options{})
		assert.Panics(t, func() { h.Handle("echo", nil) })
		assert.Panics(t, func() { h.Handle("ping", nil) })
	})
}

func TestOversizeFrame(t *testing.T) {
	t.Parallel()
	_, url := server(t, realtime.Options{})
	t.Run("a_frame_over_64_KiB_closes_with_1009", func(t *testing.T) {
		ws := dial(t, url, "tok-alice")
		big := `{"type":"echo","pad":"` + strings.Repeat("x", 64<<10) + `"}`
		require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(big)))
		assert.Equal(t, websocket.CloseMessageTooBig, closeCode(t, ws, 5*time.Second))
	})
	t.Run("a_1_MiB_frame_ends_the_connection", func(t *testing.T) {
		ws := dial(t, url, "tok-alice")
		big := `{"type":"echo","pad":"` + strings.Repeat("x", 1<<20) + `"}`
		// The server stops reading after the frame header, so the write may
		// fail with a reset; the close frame may then be lost with it.
		_ = ws.WriteMessage(websocket.TextMessage, []byte(big))
		code := closeCode(t, ws, 5*time.Second)
		assert.Contains(t, []int{websocket.CloseMessageTooBig, websocket.CloseAbnormalClosure}, code)
	})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	_, url := server(t, realtime.Options{RatePerSecond: 1, Burst: 5})
	ws := dial(t, url, "tok-alice")
	for range 5 {
		send(t, ws, map[string]any{"type": "ping"})
		require.Equal(t, "pong", read(t, ws).Type)
	}
	send(t, ws, map[string]any{"type": "ping"})
	assert.Equal(t, "rate_limited", read(t, ws).Code, "over the rate: an error, the message dropped")
	for range 20 {
		if ws.WriteJSON(map[string]any{"type": "ping"}) != nil {
			break
		}
	}
	assert.Equal(t, websocket.ClosePolicyViolation, closeCode(t, ws, 5*time.Second), "keeps flooding: closed")
}

func TestRooms(t *testing.T) {
	t.Parallel()
	h, url := server(t, realtime.Options{ReplayBuffer: 4})
	ctx := context.Background()
	a := dial(t, url, "tok-alice")
	assert.Equal(t, uint64(0), join(t, a, "r1", 0).Seq)

	for i := 1; i <= 3; i++ {
		seq, err := h.PublishRoom(ctx, "r1", "rep", map[string]int{"n": i})
		require.NoError(t, err)
		assert.Equal(t, uint64(i), seq)
	}
	for i := 1; i <= 3; i++ {
		m := read(t, a)
		assert.Equal(t, "rep", m.Type)
		assert.Equal(t, "r1", m.Room)
		assert.Equal(t, uint64(i), m.Seq, "seq increases by one")
		assert.JSONEq(t, `{"n":`+string(rune('0'+i))+`}`, string(m.Data))
	}

	t.Run("a_reconnect_with_last_seq_replays_what_was_missed", func(t *testing.T) {
		b := dial(t, url, "tok-bob")
		send(t, b, map[string]any{"type": "join", "room": "r1", "last_seq": 1})
		assert.Equal(t, uint64(2), read(t, b).Seq)
		assert.Equal(t, uint64(3), read(t, b).Seq)
		j := read(t, b)
		assert.Equal(t, "joined", j.Type)
		assert.Equal(t, uint64(3), j.Seq)
		_, err := h.PublishRoom(ctx, "r1", "rep", 4)
		require.NoError(t, err)
		assert.Equal(t, uint64(4), read(t, b).Seq, "then live events, no duplicates")
		assert.Equal(t, uint64(4), read(t, a).Seq)
	})
	t.Run("a_too_old_last_seq_gets_resync_required", func(t *testing.T) {
		for range 5 {
			_, err := h.PublishRoom(ctx, "r1", "rep", 0)
			require.NoError(t, err)
		}
		c := dial(t, url, "tok-carol")
		send(t, c, map[string]any{"type": "join", "room": "r1", "last_seq": 2})
		m := read(t, c)
		assert.Equal(t, "resync_required", m.Type)
		assert.Equal(t, uint64(9), m.Seq)
		assert.Equal(t, "joined", read(t, c).Type)
	})
	t.Run("user_events_reach_every_socket_of_the_user", func(t *testing.T) {
		d1, d2 := dial(t, url, "tok-dave"), dial(t, url, "tok-dave")
		for _, ws := range []*websocket.Conn{d1, d2} {
			send(t, ws, map[string]any{"type": "ping"})
			require.Equal(t, "pong", read(t, ws).Type)
		}
		require.NoError(t, h.PublishUser(ctx, "dave", "notice", "hi"))
		for _, ws := range []*websocket.Conn{d1, d2} {
			m := read(t, ws)
			assert.Equal(t, "notice", m.Type)
			assert.JSONEq(t, `"hi"`, string(m.Data))
		}
	})
}

func TestSlowReaderIsDroppedWithoutStallingOthers(t *testing.T) {
	t.Parallel()
	h, url := server(t, realtime.Options{SendBuffer: 8})
	fast, slow := dial(t, url, "tok-alice"), dial(t, url, "tok-bob")
	join(t, fast, "gym", 0)
	join(t, slow, "gym", 0)
	pad := strings.Repeat("x", 60<<10)
	const n = 400 // 24 MB: more than loopback socket buffers hold
	seqs := make(chan uint64, n)
	go func() {
		defer close(seqs)
		for range n {
			if err := fast.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
				return
			}
			var m msg
			if err := fast.ReadJSON(&m); err != nil {
				return
			}
			seqs <- m.Seq
		}
	}()
	// The publisher keeps the fast reader at most 4 frames behind; the slow
	// one never reads.
	var got []uint64
	for i := 1; i <= n; i++ {
		_, err := h.PublishRoom(context.Background(), "gym", "chunk", map[string]any{"i": i, "pad": pad})
		require.NoError(t, err)
		for i-len(got) > 4 {
			s, ok := <-seqs
			require.True(t, ok, "the fast reader stopped after %d", len(got))
			got = append(got, s)
		}
	}
	for s := range seqs {
		got = append(got, s)
	}
	require.Len(t, got, n, "the fast reader got everything")
	for i, s := range got {
		require.Equal(t, uint64(i+1), s)
	}
	// The slow socket was cut: after what the kernel buffered, it ends.
	require.NoError(t, slow.SetReadDeadline(time.Now().Add(10*time.Second)))
	slowGot := 0
	for {
		if _, _, err := slow.ReadMessage(); err != nil {
			assert.NotContains(t, err.Error(), "timeout")
			break
		}
		slowGot++
	}
	assert.Less(t, slowGot, n, "the slow reader was dropped")
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	t.Run("close_sessions_closes_with_4001", func(t *testing.T) {
		t.Parallel()
		h, url := server(t, realtime.Options{})
		a, b := dial(t, url, "tok-alice"), dial(t, url, "tok-bob")
		send(t, a, map[string]any{"type": "ping"})
		require.Equal(t, "pong", read(t, a).Type)
		require.NoError(t, h.CloseSessions(context.Background(), "sess-alice"))
		assert.Equal(t, realtime.CloseRevoked, closeCode(t, a, 5*time.Second))
		send(t, b, map[string]any{"type": "ping"})
		assert.Equal(t, "pong", read(t, b).Type, "other users stay")
		require.NoError(t, h.CloseUser(context.Background(), "bob"))
		assert.Equal(t, realtime.CloseRevoked, closeCode(t, b, 5*time.Second))
	})
	t.Run("the_periodic_recheck_closes_a_revoked_credential", func(t *testing.T) {
		t.Parallel()
		fa := newFakeAuth()
		_, url := server(t, realtime.Options{Auth: fa, RecheckInterval: 200 * time.Millisecond})
		a := dial(t, url, "tok-alice")
		send(t, a, map[string]any{"type": "ping"})
		require.Equal(t, "pong", read(t, a).Type)
		fa.Revoke("tok-alice")
		assert.Equal(t, realtime.CloseRevoked, closeCode(t, a, 5*time.Second))
	})
	t.Run("a_paced_round_reaches_every_credential", func(t *testing.T) {
		t.Parallel()
		fa := newFakeAuth()
		_, url := server(t, realtime.Options{Auth: fa, RecheckInterval: 200 * time.Millisecond}) // 20 slices
		var conns []*websocket.Conn
		for i := range 45 { // 3 credentials a slice, the last slice short
			tok := "tok-user" + strconv.Itoa(i)
			fa.Set(tok, auth.Principal{UserID: "user" + strconv.Itoa(i), Role: auth.RoleCustomer, SessionID: "sess-" + tok})
			conns = append(conns, dial(t, url, tok))
		}
		for _, c := range conns {
			send(t, c, map[string]any{"type": "ping"})
			require.Equal(t, "pong", read(t, c).Type)
		}
		for i := range conns {
			fa.Revoke("tok-user" + strconv.Itoa(i))
		}
		for i, c := range conns {
			assert.Equal(t, realtime.CloseRevoked, closeCode(t, c, 5*time.Second), "socket %d", i)
		}
	})
}

func TestOnDisconnect(t *testing.T) {
	t.Parallel()
	h, url := server(t, realtime.Options{})
	gone := make(chan string, 2)
	h.OnDisconnect(func(c *realtime.Conn) { gone <- c.Principal().UserID + " left, rooms closed: " + fmt.Sprint(h.Len()) })
	ws := dial(t, url, "tok-bob")
	join(t, ws, "r1", 0)
	require.NoError(t, ws.Close())
	select {
	case got := <-gone:
		assert.Equal(t, "bob left, rooms closed: 0", got, "runs once the connection is unregistered")
	case <-time.After(5 * time.Second):
		t.Fatal("the hook did not run")
	}
}

func TestAPanickingHandlerCostsOnlyItsMessage(t *testing.T) {
	t.Parallel()
	h, url := server(t, realtime.Options{})
	h.Handle("boom", func(context.Context, *realtime.Conn, json.RawMessage) error { panic("bug") })
	ws := dial(t, url, "tok-alice")
	send(t, ws, map[string]any{"type": "boom"})
	m := read(t, ws)
	assert.Equal(t, "error", m.Type)
	assert.Equal(t, "internal", m.Code)
	send(t, ws, map[string]any{"type": "ping"})
	assert.Equal(t, "pong", read(t, ws).Type, "the connection stays")
}
