package realtime_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/auth/authtest"
	"github.com/fitloop/fitloop/platform/bus"
	"github.com/fitloop/fitloop/platform/realtime"
)

// newFakeAuth knows the tokens tok-alice, tok-bob, tok-carol and tok-dave.
func newFakeAuth() *authtest.Tokens {
	a := authtest.NewTokens()
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		a.Set("tok-"+u, auth.Principal{UserID: u, Role: auth.RoleCustomer, SessionID: "sess-" + u})
	}
	return a
}

type joinMsg struct {
	Room    string `json:"room"`
	LastSeq uint64 `json:"last_seq"`
}

// server starts a hub with "join" and "echo" handlers behind a gin router.
func server(tb testing.TB, opt realtime.Options) (*realtime.Hub, string) {
	tb.Helper()
	if opt.Auth == nil {
		opt.Auth = newFakeAuth()
	}
	if opt.Bus == nil {
		b := bus.NewMemoryBuffer(4096)
		tb.Cleanup(func() { _ = b.Close() })
		opt.Bus = b
	}
	h, err := realtime.New(opt)
	require.NoError(tb, err)
	h.Handle("join", func(ctx context.Context, c *realtime.Conn, raw json.RawMessage) error {
		var m joinMsg
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		return h.Join(ctx, c, m.Room, m.LastSeq)
	})
	h.Handle("echo", func(_ context.Context, c *realtime.Conn, raw json.RawMessage) error {
		return c.SendJSON(map[string]any{"type": "echo", "user": c.Principal().UserID, "raw": raw})
	})
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.GET("/api/v1/ws", h.Handler())
	srv := httptest.NewServer(r)
	tb.Cleanup(func() { _ = h.Close(); srv.Close() })
	return h, "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/v1/ws"
}

func dial(tb testing.TB, url, token string) *websocket.Conn {
	tb.Helper()
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	ws, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	require.NoError(tb, err)
	_ = resp.Body.Close()
	tb.Cleanup(func() { _ = ws.Close() })
	return ws
}

type msg struct {
	Type    string          `json:"type"`
	Code    string          `json:"code"`
	Room    string          `json:"room"`
	Seq     uint64          `json:"seq"`
	Data    json.RawMessage `json:"data"`
	User    string          `json:"user"`
	Message string          `json:"message"`
}

func send(tb testing.TB, ws *websocket.Conn, v any) {
	tb.Helper()
	require.NoError(tb, ws.WriteJSON(v))
}

func read(tb testing.TB, ws *websocket.Conn) msg {
	tb.Helper()
	require.NoError(tb, ws.SetReadDeadline(time.Now().Add(5*time.Second)))
	var m msg
	require.NoError(tb, ws.ReadJSON(&m))
	return m
}

// readType reads until a message of type typ, failing on timeout.
func readType(tb testing.TB, ws *websocket.Conn, typ string) msg {
	tb.Helper()
	for {
		if m := read(tb, ws); m.Type == typ {
			return m
		}
	}
}

// closeCode reads until the connection ends and returns its close code
// (1006 when it was cut without a close frame).
func closeCode(tb testing.TB, ws *websocket.Conn, within time.Duration) int {
	tb.Helper()
	require.NoError(tb, ws.SetReadDeadline(time.Now().Add(within)))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if ok := asClose(err, &ce); ok {
				return ce.Code
			}
			require.NotContains(tb, err.Error(), "timeout", "connection still open")
			tb.Logf("connection ended without a close frame: %v", err)
			return websocket.CloseAbnormalClosure
		}
	}
}

func asClose(err error, ce **websocket.CloseError) bool {
	c, ok := err.(*websocket.CloseError) //nolint:errorlint // gorilla returns it unwrapped
	*ce = c
	return ok
}

func join(tb testing.TB, ws *websocket.Conn, room string, last uint64) msg {
	tb.Helper()
	send(tb, ws, map[string]any{"type": "join", "room": room, "last_seq": last})
	return readType(tb, ws, "joined")
}
