package groups_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/groups"
	"github.com/fitloop/fitloop/platform/bus"
	"github.com/fitloop/fitloop/platform/cache"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/httpx"
	"github.com/fitloop/fitloop/platform/jobs"
	"github.com/fitloop/fitloop/platform/realtime"
)

// liveGrace is the live tests' grace period: short, on the real clock.
const liveGrace = 400 * time.Millisecond

// liveEnv is the module behind a real server with a real realtime hub on
// the real clock, so grace periods run out by themselves.
type liveEnv struct {
	*env
	ws       string // the WebSocket URL
	blocks   *fakeBlocks
	workouts *fakeWorkouts
	// redisAddr is the Redis of twoReplicas, "" otherwise.
	redisAddr string
}

// fakeWorkouts is the activity module as groups sees it: it keeps what it
// is asked to record, once per key.
type fakeWorkouts struct {
	mu  sync.Mutex
	got map[string]groups.WorkoutRecord
}

// RecordGroupWorkout implements groups.Workouts.
func (f *fakeWorkouts) RecordGroupWorkout(_ context.Context, w groups.WorkoutRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got[w.Key] = w
	return nil
}

func (f *fakeWorkouts) recorded() map[string]groups.WorkoutRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.got)
}

// fakeBlocks is the users module's block list as groups sees it.
type fakeBlocks struct {
	mu      sync.Mutex
	blocked map[[2]string]bool // {user, blocked by}
}

// Blocked implements groups.Blocks.
func (f *fakeBlocks) Blocked(_ context.Context, userID, otherID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.blocked[[2]string{userID, otherID}] || f.blocked[[2]string{otherID, userID}], nil
}

func (f *fakeBlocks) block(userID, by string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocked[[2]string{userID, by}] = true
}

func newLiveEnv(tb testing.TB) *liveEnv {
	tb.Helper()
	return newLiveEnvOn(tb, dbtest.New(tb))
}

func newLiveEnvOn(tb testing.TB, db *database.DB) *liveEnv {
	tb.Helper()
	e := newEnvOn(tb, db) // users and tokens; its module runs on a fake clock and is not used
	b := bus.NewMemoryBuffer(4096)
	tb.Cleanup(func() { _ = b.Close() })
	le := &liveEnv{env: e, blocks: &fakeBlocks{blocked: map[[2]string]bool{}},
		workouts: &fakeWorkouts{got: map[string]groups.WorkoutRecord{}}}
	r := le.replica(tb, db, b, nil, nil)
	e.mod, e.h, e.clock, le.ws = r.mod, r.engine, nil, r.ws
	return le
}

// replica is one fitloop process's live side: its groups module, hub,
// job queue and HTTP server.
type replica struct {
	id     string
	mod    *groups.Module
	engine *gin.Engine
	ws     string
}

// replica starts a server on db whose hub uses b (and, with Redis, rc for
// the room logs) and whose live state is in c (nil: its own memory).
func (e *liveEnv) replica(tb testing.TB, db *database.DB, b bus.Bus, rc goredis.UniversalClient, c cache.Cache) *replica {
	tb.Helper()
	log := slog.New(slog.DiscardHandler)
	hub, err := realtime.New(realtime.Options{Auth: e.auth, Bus: b, Redis: rc, RatePerSecond: 1000, Burst: 1000, Log: log})
	require.NoError(tb, err)
	cfg := config.Default().Jobs
	cfg.PollInterval = 20 * time.Millisecond
	queue, err := jobs.New(jobs.Deps{DB: db, Config: cfg, Log: log})
	require.NoError(tb, err)
	id := uuid.NewString()
	mod, err := groups.New(groups.Deps{DB: db, Users: e.users, Catalog: fakeCatalog{}, Log: log, Hub: hub, Cache: c, Replica: id,
		Grace: liveGrace, Blocks: e.blocks, Workouts: e.workouts, Jobs: queue})
	require.NoError(tb, err)
	require.NoError(tb, queue.Start(context.Background()))
	engine := httpx.NewEngine(log, httpx.Options{MaxBodyBytes: 8 << 10})
	mod.RegisterRoutes(engine.Group(api), e.auth)
	engine.GET(api+"/ws", hub.Handler())
	srv := httptest.NewServer(engine)
	tb.Cleanup(func() { _ = queue.Stop(context.Background()); _ = hub.Close(); srv.Close(); _ = mod.Close() })
	return &replica{id: id, mod: mod, engine: engine, ws: "ws" + strings.TrimPrefix(srv.URL, "http") + api + "/ws"}
}

// frame is any server → client message.
type frame struct {
	Type    string          `json:"type"`
	Room    string          `json:"room"`
	Seq     uint64          `json:"seq"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// client is one user's socket.
type client struct {
	tb testing.TB
	u  *user
	ws *websocket.Conn
}

func (e *liveEnv) dial(tb testing.TB, u *user) *client {
	tb.Helper()
	return dialURL(tb, e.ws, u)
}

// dialURL opens u's socket on the server at url.
func dialURL(tb testing.TB, url string, u *user) *client {
	tb.Helper()
	hdr := http.Header{"Authorization": {"Bearer " + u.Token}}
	ws, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	require.NoError(tb, err)
	_ = resp.Body.Close()
	tb.Cleanup(func() { _ = ws.Close() })
	return &client{tb: tb, u: u, ws: ws}
}

func (c *client) send(v any) {
	c.tb.Helper()
	require.NoError(c.tb, c.ws.WriteJSON(v))
}

func (c *client) sendRaw(s string) {
	c.tb.Helper()
	require.NoError(c.tb, c.ws.WriteMessage(websocket.TextMessage, []byte(s)))
}

func (c *client) read() frame {
	c.tb.Helper()
	require.NoError(c.tb, c.ws.SetReadDeadline(time.Now().Add(5*time.Second)))
	var f frame
	require.NoError(c.tb, c.ws.ReadJSON(&f))
	return f
}

// next reads until a frame of type typ and returns it.
func (c *client) next(typ string) frame {
	c.tb.Helper()
	for {
		if f := c.read(); f.Type == typ {
			return f
		}
	}
}

// join joins a session and returns its snapshot.
func (c *client) join(sessionID string) snapshot {
	c.tb.Helper()
	c.send(map[string]any{"type": groups.MsgJoin, "session_id": sessionID})
	f := c.next(groups.EvState)
	var s snapshot
	require.NoError(c.tb, json.Unmarshal(f.Data, &s))
	return s
}

// until reads up to a frame of type typ and returns it with the frames
// before it.
func (c *client) until(typ string) (frame, []frame) {
	c.tb.Helper()
	var before []frame
	for {
		f := c.read()
		if f.Type == typ {
			return f, before
		}
		before = append(before, f)
	}
}

// refused sends v and expects an error frame with code.
func (c *client) refused(v any, code string) {
	c.tb.Helper()
	c.send(v)
	f := c.next("error")
	require.Equal(c.tb, code, f.Code, "message %v: %s", v, f.Message)
}

// snapshot mirrors the session_state payload.
type snapshot struct {
	SessionID    string               `json:"session_id"`
	HostID       string               `json:"host_id"`
	State        string               `json:"state"`
	Participants []groups.Participant `json:"participants"`
	Chat         []groups.ChatMessage `json:"chat"`
	Votes        []groups.VoteOpened  `json:"votes"`
	Timer        *groups.TimerState   `json:"timer"`
}

func data[T any](tb testing.TB, f frame) T {
	tb.Helper()
	var v T
	require.NoError(tb, json.Unmarshal(f.Data, &v))
	return v
}

// class opens a public session hosted by e.host and joins the host, a
// and b to it, in that order.
func (e *liveEnv) class(tb testing.TB) (s groups.Session, host, a, b *client) {
	tb.Helper()
	s = e.session(tb, e.host, nil)
	host, a, b = e.dial(tb, e.host), e.dial(tb, e.a), e.dial(tb, e.b)
	for _, c := range []*client{host, a, b} {
		c.join(s.ID)
	}
	return s, host, a, b
}

// exercises reads the next n exercise updates a host receives, one at a
// time (exercise_update) or held together (exercise_updates).
func (c *client) exercises(n int) []groups.ExerciseEvent {
	c.tb.Helper()
	var out []groups.ExerciseEvent
	for len(out) < n {
		switch f := c.read(); f.Type {
		case groups.EvExercise:
			out = append(out, data[groups.ExerciseEvent](c.tb, f))
		case groups.EvExercises:
			out = append(out, data[struct {
				Updates []groups.ExerciseEvent `json:"updates"`
			}](c.tb, f).Updates...)
		}
	}
	require.Len(c.tb, out, n, "more updates than expected")
	return out
}
