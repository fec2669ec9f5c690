package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"

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

// ErrClosed is what Start returns after Close: the saga was not created.
var ErrClosed = errors.New("saga: orchestrator closed; the saga was not started")

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
func (o *Orchestrator) Start(ctx context.Context, name string, data any, opts ...StartOption) (string, error) {
	id, done, err := o.launch(ctx, name, data, opts)
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
func (o *Orchestrator) StartAsync(ctx context.Context, name string, data any, opts ...StartOption) (string, error) {
	id, _, err := o.launch(ctx, name, data, opts)
	return id, err
}

// launch inserts the instance, leased to this replica and with its first
// step logged as started — one commit where create, acquire and the first
// "started" were three — and drives it under that lease.
func (o *Orchestrator) launch(ctx context.Context, name string, data any, opts []StartOption) (string, <-chan error, error) {
	var so startOptions
	for _, opt := range opts {
		opt(&so)
	}
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
	// Version 1 is the first fencing token; every acquire bumps it, so a
	// replica that takes the saga over fences this driver out.
	row := &instanceRow{
		ID: newID(), Name: def.Name, Version: def.Version, State: Running, Data: string(raw),
		LeaseOwner: o.replica, LeaseExpiresAt: &until, LeaseVersion: 1, CreatedAt: now, UpdatedAt: now,
	}
	l := lease{id: row.ID, owner: o.replica, version: row.LeaseVersion}
	// Claimed before the insert: a Resume pass here sees this replica's own
	// lease and would otherwise start a second driver that fences this one.
	if !o.claim(row.ID) {
		return "", nil, fmt.Errorf("saga: %s: %w", name, ErrClosed)
	}
	started := stepRow{ID: newID(), SagaID: row.ID, Step: 0, Name: def.Steps[0].Name, Phase: PhaseAction,
		Status: statusStarted, Attempt: 1, At: now}
	if err := o.store.create(ctx, so.inTx, row, started); err != nil {
		o.unclaim(row.ID)
		return "", nil, fmt.Errorf("saga: %s: create: %w", name, err)
	}
	o.met.started.WithLabelValues(name).Inc()
	done := o.driveAsync(row.ID, func(ctx context.Context) error { return o.driveLeased(ctx, row, l, 0) })
	return row.ID, done, nil
}

// StartOption adjusts how Start and StartAsync record a saga.
type StartOption func(*startOptions)

type startOptions struct {
	inTx func(tx *gorm.DB) error
}

// InTx runs fn in the transaction that records the new saga: fn's writes
// and the saga commit together or not at all. Use it for an effect that must
// not outlive a saga that was never recorded (users.delete_account closes
// the account this way: no crash can leave it closed and never erased). An
// error from fn aborts the start and is returned wrapped.
func InTx(fn func(tx *gorm.DB) error) StartOption {
	return func(o *startOptions) { o.inTx = fn }
}

// spawn drives an instance in a goroutine unless this process already does.
func (o *Orchestrator) spawn(id string) (<-chan error, bool) {
	if !o.claim(id) {
		return nil, false
	}
	return o.driveAsync(id, func(ctx context.Context) error { return o.drive(ctx, id) }), true
}

// claim marks id as driven by this process and counts its driver for Close;
// false when it already is or Close has begun.
func (o *Orchestrator) claim(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.active[id] || o.base.Err() != nil {
		return false
	}
	o.active[id] = true
	o.wg.Add(1)
	return true
}

// unclaim undoes claim for a driver that never ran.
func (o *Orchestrator) unclaim(id string) {
	o.mu.Lock()
	delete(o.active, id)
	o.mu.Unlock()
	o.wg.Done()
}

// driveAsync runs a claimed instance's driver in a goroutine; done gets its result.
func (o *Orchestrator) driveAsync(id string, drive func(ctx context.Context) error) <-chan error {
	done := make(chan error, 1)
	go func() {
		defer o.wg.Done()
		err := drive(o.base)
		o.mu.Lock()
		delete(o.active, id)
		o.mu.Unlock()
		done <- err
	}()
	return done
}

// Close stops every driver between two saves and waits for them; their
// sagas stay unfinished and are resumed by the next start-up or replica.
func (o *Orchestrator) Close() {
	o.mu.Lock()
	o.cancel()
	o.mu.Unlock()
	o.wg.Wait()
}
