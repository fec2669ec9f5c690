package groups_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/groups"
	"github.com/fitloop/fitloop/platform/bus"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/httpx"
	"github.com/fitloop/fitloop/platform/realtime"
)

// feedEnv is the module with a live hub on the fake clock, so that joins,
// leaves and ends happen at the times a test sets and the stints and
// seconds present of a summary are exact. Its grace period is longer than
// any test: nobody leaves or ends by themselves.
type feedEnv struct {
	*env
	ws       string
	accounts *erasingUsers // e.users, as the module sees them
}

// erasingUsers is fakeUsers that can erase an account the first time the
// module asks whether it exists — still answering that it does — as the
// delete-account saga might between the end of a session's check and its
// summary's commit.
type erasingUsers struct {
	*fakeUsers
	mu    sync.Mutex
	erase map[string]func()
}

// Exists implements groups.Users.
func (u *erasingUsers) Exists(ctx context.Context, userID string) error {
	err := u.fakeUsers.Exists(ctx, userID)
	u.mu.Lock()
	fn := u.erase[userID]
	delete(u.erase, userID)
	u.mu.Unlock()
	if fn != nil {
		fn()
	}
	return err
}

// eraseOnNextCheck arms the erasure of id (closing the account, then the
// module's EraseAccount) on the module's next question about it.
func (e *feedEnv) eraseOnNextCheck(tb testing.TB, id string) {
	e.accounts.mu.Lock()
	defer e.accounts.mu.Unlock()
	e.accounts.erase[id] = func() {
		e.users.remove(id)
		assert.NoError(tb, e.mod.EraseAccount(context.Background(), id))
	}
}

func newFeedEnv(tb testing.TB, db *database.DB) *feedEnv {
	tb.Helper()
	e := newEnvOn(tb, db) // users, tokens and the clock; its own module is not used
	fe := &feedEnv{env: e, accounts: &erasingUsers{fakeUsers: e.users, erase: map[string]func(){}}}
	log := slog.New(slog.DiscardHandler)
	b := bus.NewMemoryBuffer(4096)
	hub, err := realtime.New(realtime.Options{Auth: e.auth, Bus: b, RatePerSecond: 1000, Burst: 1000, Log: log})
	require.NoError(tb, err)
	mod, err := groups.New(groups.Deps{DB: db, Users: fe.accounts, Catalog: fakeCatalog{}, Log: log, Hub: hub,
		Clock: e.clock.Now, Grace: time.Hour})
	require.NoError(tb, err)
	engine := httpx.NewEngine(log, httpx.Options{MaxBodyBytes: 8 << 10})
	mod.RegisterRoutes(engine.Group(api), e.auth)
	engine.GET(api+"/ws", hub.Handler())
	srv := httptest.NewServer(engine)
	tb.Cleanup(func() { _ = hub.Close(); srv.Close(); _ = mod.Close(); _ = b.Close() })
	e.mod, e.h = mod, engine
	fe.ws = "ws" + strings.TrimPrefix(srv.URL, "http") + api + "/ws"
	return fe
}

// join opens a socket of u's and joins the session with it, at the
// clock's time.
func (e *feedEnv) join(tb testing.TB, u *user, sessionID string) *client {
	tb.Helper()
	c := dialURL(tb, e.ws, u)
	c.join(sessionID)
	return c
}

// leave leaves the client's session and waits until the hub has handled
// it (a socket's messages are handled one at a time, in order).
func (c *client) leave() {
	c.tb.Helper()
	c.send(map[string]any{"type": groups.MsgLeave})
	c.send(map[string]any{"type": "ping"})
	c.next("pong")
}

// end ends a session as its host, which writes its summary before it
// answers.
func (e *feedEnv) end(tb testing.TB, sessionID string) {
	tb.Helper()
	e.do(tb, as("", http.MethodPost, api+"/groups/sessions/"+sessionID+"/end", e.host.Token, nil, http.StatusOK))
}

// sessionChanges pages through the feed after after, limit at a time, and
// checks that each change comes strictly after the one before.
func (e *feedEnv) sessionChanges(tb testing.TB, after groups.ChangeCursor, limit int) []groups.SessionChange {
	tb.Helper()
	var all []groups.SessionChange
	for {
		page, err := e.mod.SessionChanges(context.Background(), after, limit)
		require.NoError(tb, err)
		require.LessOrEqual(tb, len(page), limit)
		if len(page) == 0 {
			return all
		}
		for _, c := range page {
			require.True(tb, c.Cursor().After(after), "%v after %v", c.Cursor(), after)
			after = c.Cursor()
		}
		all = append(all, page...)
	}
}

// changeOf finds a session's change in a list.
func changeOf(tb testing.TB, changes []groups.SessionChange, sessionID string) groups.SessionChange {
	tb.Helper()
	for _, c := range changes {
		if c.SessionID == sessionID {
			return c
		}
	}
	require.Failf(tb, "no change", "of session %s", sessionID)
	return groups.SessionChange{}
}

// sessionIDs lists the changes' sessions, in order.
func sessionIDs(changes []groups.SessionChange) []string {
	out := []string{}
	for _, c := range changes {
		out = append(out, c.SessionID)
	}
	return out
}
