package users

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
)

type service struct {
	db       *database.DB
	store    *store
	log      *slog.Logger
	cfg      config.Auth
	signer   *auth.Signer
	now      Clock
	progress ProgressSource
	failures auth.FailureCounter
	sessions *principalCache
	sagas    Sagas
	views    *viewCache
	sockets  Sockets
	planner  Planner
	erasers  []AccountEraser
}

var _ Service = (*service)(nil)

func newService(d Deps) *service {
	s := &service{
		db: d.DB, store: &store{db: d.DB}, log: d.Log, cfg: d.Auth, signer: d.Signer,
		now: d.Clock, progress: d.Progress, failures: d.Failures,
		sessions: newPrincipalCache(time.Second),
		sagas:    d.Sagas, planner: d.Planner, erasers: d.Erasers, sockets: d.Sockets,
	}
	if s.planner == nil {
		s.planner = NopPlanner{}
	}
	if s.sockets == nil {
		s.sockets = NopSockets{}
	}
	if s.now == nil {
		s.now = func() time.Time { return time.Now().UTC() }
	}
	if s.progress == nil {
		s.progress = NopProgress{}
	}
	if s.failures == nil {
		s.failures = auth.NewMemoryCounter(d.Auth.LoginMaxFailures, d.Auth.LoginWindow)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.views = &viewCache{c: d.Cache, log: s.log}
	return s
}

func (s *service) clock() time.Time { return s.now().UTC() }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func caller(ctx context.Context) (*auth.Principal, error) { return auth.Caller(ctx) }

func selfOrAdmin(ctx context.Context, userID string, notFound error) (*auth.Principal, error) {
	return auth.SelfOrAdmin(ctx, userID, notFound)
}

func requireAdmin(ctx context.Context) (*auth.Principal, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsAdmin() {
		return nil, ErrForbidden
	}
	return p, nil
}

// checkPassword verifies password against the user's current credential.
func (s *service) checkPassword(ctx context.Context, userID, password string) error {
	cred, err := s.store.currentCredential(s.db.Read(ctx), userID)
	if err != nil {
		return err
	}
	ok, err := auth.VerifyPassword(cred.PasswordHash, password)
	if err != nil {
		return err
	}
	if !ok {
		return ErrWrongPassword
	}
	return nil
}

// closeSockets tells live connections of revoked sessions (or of a whole
// user) to close. Revocation is already durable; a failure here is logged,
// and the hub's periodic credential re-check closes them within seconds.
func (s *service) closeSockets(ctx context.Context, userID string, sessionIDs ...string) {
	var err error
	if userID != "" {
		err = s.sockets.CloseUser(ctx, userID)
	} else if len(sessionIDs) > 0 {
		err = s.sockets.CloseSessions(ctx, sessionIDs...)
	}
	if err != nil {
		s.log.Warn("users: close revoked sockets", slog.String("error", err.Error()))
	}
}
