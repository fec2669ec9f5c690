package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
)

// Deps is what a Queue needs.
type Deps struct {
	DB     *database.DB
	Config config.Jobs
	Log    *slog.Logger
	// Clock tells the time; nil means time.Now. Tests inject a fake one.
	Clock func() time.Time
	// Metrics, when set, receives the queue's collectors (a *metrics.Registry fits).
	Metrics prometheus.Registerer
	// Owner names this process in lease_owner; empty means host-pid-random.
	Owner string
}

// Queue runs the handlers of registered kinds over the jobs in the database.
// Several Queues (replicas) may share one PostgreSQL database.
type Queue struct {
	db      *database.DB
	cfg     config.Jobs
	log     *slog.Logger
	clock   func() time.Time
	owner   string
	metrics *queueMetrics

	mu       sync.Mutex
	handlers map[string]Handler
	started  bool
	stop     context.CancelFunc // ends the poll loops
	abort    context.CancelFunc // ends the handlers' contexts
	pollers  sync.WaitGroup
	running  sync.WaitGroup
}

// New builds a Queue; handlers are added with Handle before Start.
func New(d Deps) (*Queue, error) {
	if d.DB == nil {
		return nil, errors.New("jobs: New: nil DB")
	}
	if d.Config.Workers < 1 || d.Config.PollInterval <= 0 || d.Config.Lease <= 0 ||
		d.Config.MaxAttempts < 1 || d.Config.BackoffBase <= 0 || d.Config.BackoffMax <= 0 {
		return nil, fmt.Errorf("jobs: New: incomplete config %+v", d.Config)
	}
	q := &Queue{db: d.DB, cfg: d.Config, log: d.Log, clock: d.Clock, owner: d.Owner, handlers: map[string]Handler{}}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	if q.clock == nil {
		q.clock = time.Now
	}
	if q.owner == "" {
		q.owner = defaultOwner()
	}
	q.metrics = newQueueMetrics(q)
	if d.Metrics != nil {
		if err := q.metrics.register(d.Metrics); err != nil {
			return nil, fmt.Errorf("jobs: metrics: %w", err)
		}
	}
	return q, nil
}

// Handle registers fn for jobs of kind. It fails for a duplicate kind or
// after Start.
func (q *Queue) Handle(kind string, fn Handler) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case kind == "" || fn == nil:
		return errors.New("jobs: Handle: empty kind or nil handler")
	case q.started:
		return fmt.Errorf("jobs: Handle %s: queue already started", kind)
	case q.handlers[kind] != nil:
		return fmt.Errorf("jobs: Handle %s: kind already registered", kind)
	}
	q.handlers[kind] = fn
	return nil
}

// Start launches one poller per registered kind with its worker pool. The
// pollers stop when ctx ends or Stop is called; handlers keep running until
// Stop.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return errors.New("jobs: Start: already started")
	}
	q.started = true
	pollCtx, stop := context.WithCancel(ctx)
	runCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	q.stop, q.abort = stop, abort
	for kind, fn := range q.handlers {
		w := &worker{q: q, kind: kind, fn: fn, size: q.concurrency(kind), ctx: runCtx, wake: make(chan struct{}, 1)}
		q.pollers.Add(1)
		go func() {
			defer q.pollers.Done()
			w.poll(pollCtx)
		}()
	}
	q.log.Info("job queue started", slog.Int("kinds", len(q.handlers)), slog.String("owner", q.owner))
	return nil
}

// Stop stops claiming and waits for running handlers until ctx ends. Then it
// cancels the handlers' contexts and returns ctx's error; a job still running
// is claimed again when its lease expires.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	stop, abort := q.stop, q.abort
	q.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	done := make(chan struct{})
	go func() {
		q.pollers.Wait() // no new handler starts after this
		q.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		abort()
		return nil
	case <-ctx.Done():
		abort()
		return fmt.Errorf("jobs: stop: handlers still running: %w", ctx.Err())
	}
}

// Owner is the lease owner this queue writes.
func (q *Queue) Owner() string { return q.owner }

// concurrency is kind's worker count: jobs.concurrency, else jobs.workers.
func (q *Queue) concurrency(kind string) int {
	if v, ok := config.Pairs(q.cfg.Concurrency)[kind]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return q.cfg.Workers
}

// now is the clock in UTC at microsecond precision, what PostgreSQL stores:
// a time rounded up on insert would otherwise be later than the same instant
// compared as a parameter.
func (q *Queue) now() time.Time { return q.clock().UTC().Truncate(time.Microsecond) }

func defaultOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
