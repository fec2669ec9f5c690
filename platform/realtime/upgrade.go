package realtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"
	"github.com/olahol/melody"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/httpx"
)

const connKey = "realtime.conn"

var (
	errOrigin        = apperr.E(apperr.Forbidden, "origin_not_allowed", "This origin may not open a WebSocket.")
	errNotUpgrade    = apperr.E(apperr.Invalid, "websocket_upgrade_required", "This route only accepts a WebSocket upgrade.")
	errUpgradeFailed = apperr.E(apperr.Unavailable, "websocket_unavailable", "The WebSocket could not be opened; try again.")
)

// Handler serves GET /api/v1/ws: it checks the Origin (403) and the
// credential (401) before upgrading, then runs the connection until it ends.
func (h *Hub) Handler() gin.HandlerFunc {
	return func(gc *gin.Context) {
		if !h.originAllowed(gc.Request) {
			httpx.WriteError(gc, errOrigin)
			return
		}
		cred := auth.Bearer(gc)
		if cred == "" {
			cred = gc.Query("access_token")
		}
		if cred == "" {
			httpx.WriteError(gc, auth.Unauthenticated)
			return
		}
		p, err := h.opt.Auth.Authenticate(gc.Request.Context(), cred)
		if err != nil {
			httpx.WriteError(gc, err)
			return
		}
		switch {
		case p.PasswordExpired:
			httpx.WriteError(gc, apperr.E(apperr.Forbidden, "password_expired", "Your password has expired; change it to continue."))
			return
		case !p.HasScope(auth.ScopeRead):
			httpx.WriteError(gc, apperr.E(apperr.Forbidden, "insufficient_scope", "This token lacks the read scope."))
			return
		}
		if !websocket.IsWebSocketUpgrade(gc.Request) || gc.GetHeader("Sec-WebSocket-Version") != "13" ||
			gc.GetHeader("Sec-WebSocket-Key") == "" {
			// Checked here so the answer is the JSON envelope, not the
			// upgrader's plain-text 400.
			httpx.WriteError(gc, errNotUpgrade)
			return
		}
		if !h.startServing() {
			httpx.WriteError(gc, errors.Join(errUpgradeFailed, melody.ErrClosed))
			return
		}
		c := newConn(h, p, strings.Clone(cred)) // not a substring pinning the request
		w := &hijackWriter{ResponseWriter: gc.Writer, conn: c, hijacked: make(chan struct{})}
		done := make(chan error, 1)
		// w and r are arguments, not captured, so that they are garbage once
		// the session exists (see HandleConnect).
		go func(w http.ResponseWriter, r *http.Request) {
			defer h.serving.Done()
			done <- h.m.HandleRequestWithKeys(w, r, map[string]any{connKey: c})
		}(w, gc.Request)
		// The handler returns as soon as the connection is hijacked: the
		// socket's read loop then runs on the fresh goroutine above, and
		// net/http and gin release this request's goroutine, stack, buffers
		// and context instead of keeping them for the socket's lifetime
		// (≈ 20 KB per idle socket). A failed handshake never hijacks, so
		// the handler waits for it to be answered.
		select {
		case <-w.hijacked:
		case err := <-done:
			if !gc.Writer.Written() { // e.g. the hub is closing: melody answered nothing
				httpx.WriteError(gc, errors.Join(errUpgradeFailed, err))
			}
		}
	}
}

func (h *Hub) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if len(h.opt.AllowedOrigins) > 0 {
		return slices.ContainsFunc(h.opt.AllowedOrigins, func(o string) bool {
			return strings.EqualFold(strings.TrimSuffix(o, "/"), origin)
		})
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// hijackWriter keeps the raw connection so that a slow consumer can be cut
// off even when its send queue has no room for a close frame, and tells the
// handler when the connection has left net/http (hijacked is closed).
type hijackWriter struct {
	gin.ResponseWriter
	conn     *Conn
	hijacked chan struct{}
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, rw, err := w.ResponseWriter.Hijack()
	if err == nil {
		w.conn.netConn.Store(&nc)
		close(w.hijacked)
	}
	return nc, rw, err
}

func (h *Hub) configureMelody() {
	cfg := h.m.Config
	cfg.MaxMessageSize = h.opt.MaxMessageBytes
	cfg.MessageBufferSize = h.opt.SendBuffer
	cfg.PingPeriod = h.opt.PingInterval
	cfg.PongWait = 2 * h.opt.PingInterval
	cfg.WriteWait = h.opt.WriteWait
	h.m.Upgrader.CheckOrigin = h.originAllowed
	// Small buffers, and write buffers only while writing (pooled): idle
	// sockets are most sockets, and 10k of them must fit in 250 MB.
	h.m.Upgrader.ReadBufferSize, h.m.Upgrader.WriteBufferSize = 1024, 1024
	h.m.Upgrader.WriteBufferPool = &sync.Pool{}

	h.m.HandleConnect(func(s *melody.Session) {
		// Nothing reads the handshake request after the upgrade; dropping it
		// frees its headers and URL (query string included) for the socket's
		// lifetime instead of pinning ~1.5 KB per idle socket.
		s.Request = nil
		c := connOf(s)
		c.session = s
		h.register(c)
	})
	h.m.HandleDisconnect(func(s *melody.Session) {
		c := connOf(s)
		c.cancel()
		h.leaveAll(c)
		h.unregister(c)
		h.hmu.RLock()
		gone := h.gone
		h.hmu.RUnlock()
		for _, fn := range gone {
			fn(c)
		}
	})
	h.m.HandleMessage(func(s *melody.Session, msg []byte) { h.dispatch(connOf(s), msg) })
	h.m.HandleMessageBinary(func(s *melody.Session, _ []byte) {
		connOf(s).Close(1003, "binary frames are not supported")
	})
	h.m.HandleSentMessage(func(*melody.Session, []byte) { h.metrics.out.Inc() })
	h.m.HandleError(func(s *melody.Session, err error) {
		if errors.Is(err, melody.ErrMessageBufferFull) {
			c := connOf(s)
			if c.drop() {
				h.metrics.slow.Inc()
				h.opt.Log.Info("realtime: slow consumer dropped", "user_id", c.principal.UserID)
			}
		}
	})
}

func connOf(s *melody.Session) *Conn {
	c, _ := s.Keys[connKey].(*Conn) // set before the session exists; never changed
	return c
}

type envelope struct {
	Type string `json:"type"`
}

// dispatch runs on the connection's read goroutine: one message at a time.
func (h *Hub) dispatch(c *Conn, msg []byte) {
	h.metrics.in.Inc()
	if !c.allow() {
		return
	}
	var env envelope
	if err := json.Unmarshal(msg, &env); err != nil || env.Type == "" {
		c.SendError("bad_message", "A message is a JSON object with a type.")
		return
	}
	if env.Type == "ping" {
		_ = c.SendJSON(map[string]string{"type": "pong"})
		return
	}
	h.hmu.RLock()
	fn := h.handlers[env.Type]
	h.hmu.RUnlock()
	if fn == nil {
		c.SendError("unknown_type", "Unknown message type.")
		return
	}
	defer func() { // a handler's bug costs its message, not the process
		if r := recover(); r != nil {
			h.replyError(c.ctx, c, env.Type, fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
		}
	}()
	if err := fn(c.ctx, c, msg); err != nil {
		h.replyError(c.ctx, c, env.Type, err)
	}
}

func (h *Hub) replyError(ctx context.Context, c *Conn, typ string, err error) {
	if e, ok := apperr.As(err); ok && e.Kind != apperr.Internal {
		c.SendError(e.Code, e.Message)
		return
	}
	if ctx.Err() == nil {
		h.opt.Log.Error("realtime: handler failed", "type", typ, "err", err)
	}
	c.SendError("internal", "Something went wrong.")
}
