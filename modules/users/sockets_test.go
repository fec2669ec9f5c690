package users_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/testkit"
)

// sockets records what the module asks the realtime hub to close.
type sockets struct {
	mu       sync.Mutex
	sessions []string
	users    []string
}

func (s *sockets) CloseSessions(_ context.Context, ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = append(s.sessions, ids...)
	return nil
}

func (s *sockets) CloseUser(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = append(s.users, userID)
	return nil
}

func TestRevocationClosesSockets(t *testing.T) {
	t.Parallel()
	socks := &sockets{}
	e := newEnvOn(t, dbtest.New(t), func(d *users.Deps) { d.Sockets = socks })
	u, admin := e.newUser(t, "socket"), e.newAdmin(t)
	first := u.SessionID
	e.login(t, u) // a second session, now u's current one
	e.run(t,
		testkit.Scenario{Name: "revokes_the_first_session", Method: http.MethodDelete,
			URL: api + "/auth/sessions/" + first, Token: u.Token, ExpectedStatus: http.StatusNoContent},
		testkit.Scenario{Name: "an_admin_disables_the_user", Method: http.MethodPut, URL: api + "/admin/users/" + u.ID,
			Token: admin.Token, Body: map[string]bool{"disabled": true}, ExpectedStatus: http.StatusOK},
	)
	socks.mu.Lock()
	defer socks.mu.Unlock()
	assert.Equal(t, []string{first}, socks.sessions, "the revoked session's sockets close")
	assert.Equal(t, []string{u.ID}, socks.users, "a disabled user's sockets close")
}
