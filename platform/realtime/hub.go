package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/olahol/melody"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/bus"
)

// Options configure a Hub. Zero values take the defaults noted.
type Options struct {
	Auth auth.Authenticator // required
	Bus  bus.Bus            // required; spans replicas when Redis is set
	// Redis, when set, holds the room counters and replay lists shared by the
	// replicas; it must be the Redis behind Bus. Nil: one replica only.
	Redis goredis.UniversalClient
	// AllowedOrigins are the accepted Origin values ("https://app.example");
	// empty means same origin (the Origin's host equals the request Host).
	// Requests without an Origin (non-browser clients) are accepted.
	AllowedOrigins  []string
	MaxMessageBytes int64         // 64 KiB
	RatePerSecond   float64       // 10 messages per second per connection
	Burst           int           // 20
	SendBuffer      int           // 32 frames queued per connection (each ~48 B idle)
	PingInterval    time.Duration // 25 s; a connection silent for 2× is closed
	WriteWait       time.Duration // 5 s for one frame to be written
	ReplayBuffer    int           // 256 events kept per room
	ReplayTTL       time.Duration // 24 h a Redis room log outlives its last event
	RecheckInterval time.Duration // 3 s between credential re-checks
	Log             *slog.Logger
	Metrics         prometheus.Registerer // nil: not registered
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 64 << 10
	}
	if o.RatePerSecond <= 0 {
		o.RatePerSecond = 10
	}
	def(&o.Burst, 20)
	def(&o.SendBuffer, 32)
	def(&o.ReplayBuffer, 256)
	defDur(&o.PingInterval, 25*time.Second)
	defDur(&o.WriteWait, 5*time.Second)
	defDur(&o.ReplayTTL, 24*time.Hour)
	defDur(&o.RecheckInterval, 3*time.Second)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// HandlerFunc handles one client message of a registered type. raw is the
// whole message. An error is sent to the client as {"type":"error",...}:
// apperr errors with their code and message, others as "internal" (logged).
type HandlerFunc func(ctx context.Context, c *Conn, raw json.RawMessage) error

// Hub owns the WebSocket connections of one replica.
type Hub struct {
	opt      Options
	m        *melody.Melody
	log      roomLog
	metrics  *hubMetrics
	handlers map[string]HandlerFunc
	gone     []func(*Conn) // OnDisconnect hooks
	hmu      sync.RWMutex

	mu      sync.Mutex
	conns   map[*Conn]struct{}
	byUser  map[string]map[*Conn]struct{}
	rooms   map[string]*room
	closing bool // Close has begun: no new handshakes, new sessions are closed at once

	// serving counts the goroutines running melody's HandleRequestWithKeys.
	// Close waits for them before it stops melody: melody sends every
	// session's register and unregister to its hub goroutine on unbuffered
	// channels, so a session that reaches either after that goroutine has
	// exited blocks forever (a goroutine and its socket leaked per session).
	serving sync.WaitGroup

	unsubs []func()
	stop   context.CancelFunc
	done   chan struct{}
}

// Topics of the hub's bus messages other than rooms.
const (
	topicUsers   = "rt:users"
	topicControl = "rt:control"
)

// New builds a hub and subscribes it to the bus. Close releases it.
func New(opt Options) (*Hub, error) {
	if opt.Auth == nil || opt.Bus == nil {
		return nil, errors.New("realtime: Auth and Bus are required")
	}
	opt.defaults()
	h := &Hub{opt: opt, m: melody.New(), handlers: map[string]HandlerFunc{},
		conns: map[*Conn]struct{}{}, byUser: map[string]map[*Conn]struct{}{}, rooms: map[string]*room{},
		done: make(chan struct{})}
	if opt.Redis != nil {
		h.log = &redisLog{client: opt.Redis, keep: opt.ReplayBuffer, ttl: opt.ReplayTTL}
	} else {
		h.log = newMemoryLog(opt.Bus, opt.ReplayBuffer, opt.ReplayTTL)
	}
	var err error
	if h.metrics, err = newHubMetrics(opt.Metrics); err != nil {
		return nil, err
	}
	h.configureMelody()
	for topic, fn := range map[string]func([]byte){topicUsers: h.onUserEvent, topicControl: h.onControl} {
		unsub, err := opt.Bus.Subscribe(topic, fn)
		if err != nil {
			h.unsubscribeAll()
			return nil, fmt.Errorf("realtime: subscribe %s: %w", topic, err)
		}
		h.unsubs = append(h.unsubs, unsub)
	}
	ctx, stop := context.WithCancel(context.Background())
	h.stop = stop
	go h.recheckLoop(ctx)
	return h, nil
}

func (h *Hub) unsubscribeAll() {
	for _, u := range h.unsubs {
		u()
	}
	h.unsubs = nil
}

// Handle registers fn for client messages of type typ. It panics when typ is
// already registered or reserved ("ping"): registration is wiring, done at
// start-up.
func (h *Hub) Handle(typ string, fn HandlerFunc) {
	h.hmu.Lock()
	defer h.hmu.Unlock()
	if _, dup := h.handlers[typ]; dup || typ == "ping" || typ == "" {
		panic("realtime: message type " + typ + " registered twice or reserved")
	}
	h.handlers[typ] = fn
}

// OnDisconnect registers fn to run when a connection has closed, after it
// has left its rooms, on the goroutine that closed it. Modules use it for
// what they keep per connection (a session's presence).
func (h *Hub) OnDisconnect(fn func(*Conn)) {
	h.hmu.Lock()
	defer h.hmu.Unlock()
	h.gone = append(h.gone, fn)
}

// Len returns the number of open connections on this replica.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// closeCode and closeReason are what every connection gets when the hub closes.
const closeCode, closeReason = 1001, "server shutting down"

// Close closes every connection with 1001 and leaves the bus. It returns
// once every connection has ended (a client that does not read is cut after
// WriteWait). Upgrades it races with are either refused or closed at once.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return melody.ErrClosed
	}
	h.closing = true
	conns := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	h.stop()
	<-h.done
	// Sessions registered after the snapshot close themselves (register).
	for _, c := range conns {
		c.Close(closeCode, closeReason)
	}
	h.serving.Wait()
	h.unsubscribeAll()
	h.mu.Lock()
	for _, r := range h.rooms {
		if r.unsub != nil {
			r.unsub()
		}
	}
	h.rooms = map[string]*room{}
	h.mu.Unlock()
	// No session is left: this only stops melody's hub goroutine.
	return h.m.CloseWithMsg(melody.FormatCloseMessage(closeCode, closeReason))
}

// startServing counts a handshake about to be handed to melody, unless the
// hub is closing.
func (h *Hub) startServing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.serving.Add(1) // under mu, so never after Close's Wait has begun
	return true
}

// register indexes c once its session is open, or closes it when the hub is
// closing and Close's snapshot of the connections missed it.
func (h *Hub) register(c *Conn) {
	h.mu.Lock()
	closing := h.closing
	h.conns[c] = struct{}{}
	u := h.byUser[c.principal.UserID]
	if u == nil {
		u = map[*Conn]struct{}{}
		h.byUser[c.principal.UserID] = u
	}
	u[c] = struct{}{}
	h.mu.Unlock()
	h.metrics.connections.Inc()
	if closing {
		c.Close(closeCode, closeReason)
	}
}

func (h *Hub) unregister(c *Conn) {
	h.mu.Lock()
	delete(h.conns, c)
	if u := h.byUser[c.principal.UserID]; u != nil {
		delete(u, c)
		if len(u) == 0 {
			delete(h.byUser, c.principal.UserID)
		}
	}
	h.mu.Unlock()
	h.metrics.connections.Dec()
}

func (h *Hub) snapshot(match func(*Conn) bool) []*Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*Conn
	for c := range h.conns {
		if match(c) {
			out = append(out, c)
		}
	}
	return out
}
