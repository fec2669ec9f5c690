package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/metrics"
)

// Options are the orchestrator's dependencies. DB and Registry are required.
type Options struct {
	DB       *database.DB
	Registry *Registry
	Config   config.Sagas
	Log      *slog.Logger      // nil: discard
	Metrics  *metrics.Registry // nil: no metrics
	// Replica names this process among the replicas sharing the database;
	// it must be unique per running process (e.g. host name plus pid).
	Replica string
	Now     func() time.Time // nil: time.Now
	// Failpoint, for tests only, is called at every Site; a non-nil error
	// stops the driver there as if the process died.
	Failpoint func(Site) error
}

// Orchestrator starts, drives and resumes sagas.
type Orchestrator struct {
	store   store
	reg     *Registry
	cfg     config.Sagas
	log     *slog.Logger
	met     *meters
	replica string
	now     func() time.Time
	hook    func(Site) error
	crashAt string

	base   context.Context // ends at Close: drivers stop, sagas resume later
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	active map[string]bool // instances this process drives right now
}

// Error is what Start returns when a saga did not complete: the failing
// step, the state the saga ended in (compensated or needs_attention) and the
// step's error, which Unwrap exposes so apperr kinds reach the HTTP layer.
type Error struct {
	SagaID string
	Saga   string
	Step   string
	State  State
	Err    error
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("saga %s (%s) %s at step %s: %v", e.Saga, e.SagaID, e.State, e.Step, e.Err)
}

// Unwrap returns the failing step's error.
func (e *Error) Unwrap() error { return e.Err }

var _ error = (*Error)(nil)

// ErrInterrupted means the driver stopped before the saga finished (shutdown,
// a lost lease or an injected crash); the saga is resumed later.
var ErrInterrupted = errors.New("saga: interrupted before it finished; it will be resumed")

// New builds an orchestrator. Zero config values take the defaults.
func New(opt Options) (*Orchestrator, error) {
	if opt.DB == nil || opt.Registry == nil || opt.Replica == "" {
		return nil, errors.New("saga: DB, Registry and Replica are required")
	}
	def := config.Default().Sagas
	cfg := opt.Config
	if cfg.Lease <= 0 {
		cfg.Lease = def.Lease
	}
	if cfg.ResumeInterval <= 0 {
		cfg.ResumeInterval = def.ResumeInterval
	}
	if cfg.CompensationAttempts <= 0 {
		cfg.CompensationAttempts = def.CompensationAttempts
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = def.BackoffBase
	}
	o := &Orchestrator{
		store: store{db: opt.DB}, reg: opt.Registry, cfg: cfg, log: opt.Log, replica: opt.Replica,
		now: opt.Now, hook: opt.Failpoint, crashAt: crashAt(), active: map[string]bool{},
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	met, err := newMeters(opt.Metrics)
	if err != nil {
		return nil, err
	}
	o.met = met
	o.base, o.cancel = context.WithCancel(context.Background())
	return o, nil
}

// Start creates a saga of the latest version of name with data (encoded as
// JSON), persists it, and drives it to its end. It returns the saga id and
// nil when it completed, an *Error wrapping the failing step's error when it
// was compensated or parked, ErrInterrupted when it stopped before its end,
// or ctx's error when ctx ends first (the saga goes on without the caller).
func (o *Orchestrator) Start(ctx context.Context, name string, data any) (string, error) {
	id, done, err := o.launch(ctx, name, data)
	if err != nil {
		return id, err
	}
	select {
	case err := <-done:
		return id, err
	case <-ctx.Done():
		return id, ctx.Err()
	}
}

// StartAsync persists the saga like Start and returns its id at once while a
// goroutine drives it; its outcome is visible through FindByID.
func (o *Orchestrator) StartAsync(ctx context.Context, name string, data any) (string, error) {
	id, _, err := o.launch(ctx, name, data)
	return id, err
}

// launch inserts the instance, leased to this replica, and drives it.
func (o *Orchestrator) launch(ctx context.Context, name string, data any) (string, <-chan error, error) {
	def, ok := o.reg.Latest(name)
	if !ok {
		return "", nil, fmt.Errorf("saga: %s is not registered", name)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return "", nil, fmt.Errorf("saga: %s: encode data: %w", name, err)
	}
	now := o.now().UTC()
	until := now.Add(o.cfg.Lease)
	row := &instanceRow{
		ID: newID(), Name: def.Name, Version: def.Version, State: Running, Data: string(raw),
		LeaseOwner: o.replica, LeaseExpiresAt: &until, CreatedAt: now, UpdatedAt: now,
	}
	if err := o.store.create(ctx, row); err != nil {
		return "", nil, fmt.Errorf("saga: %s: create: %w", name, err)
	}
	o.met.started.WithLabelValues(name).Inc()
	done, ok := o.spawn(row.ID)
	if !ok { // Close has begun: the saga is saved and resumes later
		return row.ID, nil, ErrInterrupted
	}
	return row.ID, done, nil
}

// spawn drives an instance in a goroutine unless this process already does.
func (o *Orchestrator) spawn(id string) (<-chan error, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.active[id] || o.base.Err() != nil {
		return nil, false
	}
	o.active[id] = true
	o.wg.Add(1)
	done := make(chan error, 1)
	go func() {
		defer o.wg.Done()
		err := o.drive(o.base, id)
		o.mu.Lock()
		delete(o.active, id)
		o.mu.Unlock()
		done <- err
	}()
	return done, true
}

// Close stops every driver between two saves and waits for them; their
// sagas stay unfinished and are resumed by the next start-up or replica.
func (o *Orchestrator) Close() {
	o.mu.Lock()
	o.cancel()
	o.mu.Unlock()
	o.wg.Wait()
}
