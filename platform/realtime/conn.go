package realtime

import (
	"context"
	"encoding/json"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/olahol/melody"

	"github.com/fitloop/fitloop/platform/auth"
)

// Close codes the hub sends.
const (
	CloseRevoked     = 4001 // the session was revoked
	ClosePolicy      = 1008 // rate limit exceeded
	CloseUnsupported = 1003
)

// strikeWindow is how long rate-limit violations are remembered.
const strikeWindow = 10 * time.Second

// Conn is one authenticated WebSocket connection.
type Conn struct {
	hub        *Hub
	principal  *auth.Principal
	credential string
	session    *melody.Session
	netConn    atomic.Pointer[net.Conn]
	ctx        context.Context
	cancel     context.CancelFunc
	closing    atomic.Bool

	// Read goroutine only.
	tokens      float64
	last        time.Time
	strikes     int
	strikeStart time.Time

	mu    sync.Mutex
	rooms map[string]struct{}
}

func newConn(h *Hub, p *auth.Principal, cred string) *Conn {
	ctx, cancel := context.WithCancel(context.Background())
	ctx = auth.WithPrincipal(ctx, p)
	return &Conn{hub: h, principal: p, credential: cred, ctx: ctx, cancel: cancel,
		tokens: float64(h.opt.Burst), last: time.Now(), rooms: map[string]struct{}{}}
}

// Principal returns who is connected.
func (c *Conn) Principal() *auth.Principal { return c.principal }

// Context is canceled when the connection ends; it carries the principal.
func (c *Conn) Context() context.Context { return c.ctx }

// Send queues an encoded frame; it never blocks. A full queue drops the
// connection as a slow consumer.
func (c *Conn) Send(frame []byte) error { return c.session.Write(frame) }

// SendJSON encodes v and queues it.
func (c *Conn) SendJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Send(b)
}

// SendError queues {"type":"error","code":code,"message":msg}.
func (c *Conn) SendError(code, msg string) {
	_ = c.SendJSON(map[string]string{"type": "error", "code": code, "message": msg})
}

// Close sends a close frame with code and reason and ends the connection;
// if the frame cannot be queued the connection is cut after WriteWait.
func (c *Conn) Close(code int, reason string) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	_ = c.session.CloseWithMsg(melody.FormatCloseMessage(code, reason))
	time.AfterFunc(c.hub.opt.WriteWait, c.cut)
}

// drop cuts a slow consumer at once; it reports whether this call did.
func (c *Conn) drop() bool {
	if !c.closing.CompareAndSwap(false, true) {
		return false
	}
	c.cut()
	return true
}

func (c *Conn) cut() {
	if nc := c.netConn.Load(); nc != nil {
		_ = (*nc).Close()
	}
}

// allow applies the token bucket; over the rate it answers rate_limited, and
// after Burst violations within strikeWindow closes with 1008.
func (c *Conn) allow() bool {
	now := time.Now()
	o := &c.hub.opt
	c.tokens = min(float64(o.Burst), c.tokens+now.Sub(c.last).Seconds()*o.RatePerSecond)
	c.last = now
	if c.tokens >= 1 {
		c.tokens--
		return true
	}
	if now.Sub(c.strikeStart) > strikeWindow {
		c.strikes, c.strikeStart = 0, now
	}
	c.strikes++
	if c.strikes > o.Burst {
		c.Close(ClosePolicy, "rate limit exceeded")
		return false
	}
	c.SendError("rate_limited", "Too many messages; slow down.")
	return false
}

func (c *Conn) addRoom(room string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.rooms[room]; ok {
		return false
	}
	c.rooms[room] = struct{}{}
	return true
}

func (c *Conn) removeRoom(room string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.rooms[room]
	delete(c.rooms, room)
	return ok
}

func (c *Conn) roomList() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.rooms))
	for r := range c.rooms {
		out = append(out, r)
	}
	return out
}
