// Package cron runs named jobs on schedules, once per scheduled slot across
// every replica sharing the database.
//
// Modules declare Job{Name, Schedule, Run} values (their Jobs()); main
// registers them on one Scheduler. Config can disable a job or override its
// schedule. Each run gets a timeout, panic recovery, a history row, a log line
// and metrics. Before a slot runs, every replica inserts a claim row (job,
// slot) with a unique key; only the replica whose insert succeeds runs it.
//
// Schedules are parsed by robfig/cron (cron expressions and descriptors) but
// the timing loop is our own: robfig's runner derives the next fire time from
// the wall clock at which its timer fired and its @every counts from start-up,
// so replicas would disagree about slot times, and it cannot take a test clock.
// Here each slot is computed from the previous slot (schedule.Next(slot)), so
// every replica claims the very same (job, slot) values.
package cron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
)

// Job is a named scheduled task. Its body should be one service call; the
// scheduler adds recovery, no overlap, the timeout, history and metrics.
type Job struct {
	// Name is stable and unique, "module.task" (e.g. "etl.load"); config and
	// the admin API refer to it.
	Name string
	// Schedule is the default schedule (see Parse); config may override it.
	Schedule string
	// Run does the work; it must return soon after ctx is done.
	Run func(ctx context.Context) error
	// Timeout bounds one run; zero means config cron.timeout.
	Timeout time.Duration
}

// Deps are what a Scheduler needs.
type Deps struct {
	Config config.Cron
	DB     *database.DB
	// Log receives one line per run; nil discards.
	Log *slog.Logger
	// Metrics receives the cron metrics; nil exports none.
	Metrics prometheus.Registerer
	// Replica names this process in claims and history. Keep it stable across
	// restarts (a host name): runs it left "running" are then marked failed at
	// start-up. Default: the host name.
	Replica string
	// Clock defaults to SystemClock.
	Clock Clock
}

// CleanupJobName is the built-in job that deletes old run history and claims.
const CleanupJobName = "cron.cleanup"

// entry is a registered job with its effective settings.
type entry struct {
	job     Job
	spec    string
	sched   Schedule
	timeout time.Duration
	enabled bool
	busy    atomic.Bool // a run of this job is going on this replica
}

// Scheduler runs registered jobs. Register them all, then Start; Stop waits
// for running jobs.
type Scheduler struct {
	cfg     config.Cron
	store   store
	log     *slog.Logger
	metrics *instruments
	replica string
	clock   Clock

	base   context.Context // parent of every run's context
	cancel context.CancelFunc
	quit   chan struct{}
	wg     sync.WaitGroup // loops and runs

	mu      sync.Mutex
	entries map[string]*entry
	order   []string
	started bool
	stopped bool
}

// New returns a scheduler holding the built-in cron.cleanup job.
func New(d Deps) (*Scheduler, error) {
	if d.DB == nil {
		return nil, errors.New("cron: a database is required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = SystemClock{}
	}
	if d.Replica == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "fitloop"
		}
		d.Replica = host
	}
	m, err := newInstruments(d.Metrics)
	if err != nil {
		return nil, err
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		cfg: d.Config, store: store{db: d.DB}, log: d.Log, metrics: m, replica: d.Replica, clock: d.Clock,
		base: base, cancel: cancel, quit: make(chan struct{}), entries: map[string]*entry{},
	}
	if err := s.Register(Job{Name: CleanupJobName, Schedule: "@hourly", Run: s.cleanup}); err != nil {
		return nil, err
	}
	return s, nil
}

// Replica returns the name this scheduler records in claims and history.
func (s *Scheduler) Replica() string { return s.replica }

// Register adds jobs, applying config overrides. It fails, adding none of
// them, on an empty name, a missing Run, a bad schedule, a name registered
// before, or after Start.
func (s *Scheduler) Register(jobs ...Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("cron: register after start")
	}
	overrides := config.Pairs(s.cfg.Schedules)
	add := make([]*entry, 0, len(jobs))
	seen := map[string]bool{}
	for _, j := range jobs {
		if j.Name == "" || j.Run == nil {
			return fmt.Errorf("cron: job %q: a name and a Run function are required", j.Name)
		}
		if _, dup := s.entries[j.Name]; dup || seen[j.Name] {
			return fmt.Errorf("cron: duplicate job name %q", j.Name)
		}
		seen[j.Name] = true
		e := &entry{job: j, spec: j.Schedule, timeout: j.Timeout, enabled: !slices.Contains(s.cfg.Disabled, j.Name)}
		if o, ok := overrides[j.Name]; ok && o != "" {
			e.spec = o
		}
		sched, err := Parse(e.spec)
		if err != nil {
			return fmt.Errorf("cron: job %q: %w", j.Name, err)
		}
		e.sched = sched
		if e.timeout <= 0 {
			e.timeout = s.cfg.Timeout
		}
		add = append(add, e)
	}
	for _, e := range add {
		s.entries[e.job.Name] = e
		s.order = append(s.order, e.job.Name)
	}
	return nil
}

// Start marks the runs this replica left running as failed and, unless
// config disables cron, starts one loop per enabled job. Config entries that
// name no registered job are logged.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return errors.New("cron: already started")
	}
	s.started = true
	for _, name := range append(slices.Clone(s.cfg.Disabled), keys(config.Pairs(s.cfg.Schedules))...) {
		if _, ok := s.entries[name]; !ok {
			s.log.Warn("cron: config names an unknown job", slog.String("job", name))
		}
	}
	if err := s.store.interrupt(ctx, s.replica, s.clock.Now()); err != nil {
		return err
	}
	if !s.cfg.Enabled {
		s.log.Info("cron: disabled by config; jobs run only when asked")
		return nil
	}
	for _, name := range s.order {
		if e := s.entries[name]; e.enabled {
			s.wg.Add(1)
			go s.loop(e)
		}
	}
	return nil
}

// Stop ends the loops and waits for running jobs. When ctx ends first, the
// runs' contexts are cancelled and Stop returns ctx's error.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.quit)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	defer s.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cron: stop: %w", ctx.Err())
	}
}

// loop fires the job at each slot of its schedule. A slot is computed from
// the previous one, never from the time the timer happened to fire.
func (s *Scheduler) loop(e *entry) {
	defer s.wg.Done()
	next := e.sched.Next(s.clock.Now())
	for {
		select {
		case <-s.quit:
			return
		case <-s.clock.After(next.Sub(s.clock.Now())):
		}
		slot := s.latestDue(e, next)
		s.fire(e, slot)
		next = e.sched.Next(slot)
	}
}

// latestDue returns the last slot of the schedule that is due now, starting
// from next. Older due slots passed while this replica was busy or paused;
// they count as skipped here (another replica may have run them), so a
// replica waking from a long pause runs the job once, not once per slot.
func (s *Scheduler) latestDue(e *entry, next time.Time) time.Time {
	now := s.clock.Now()
	slot, missed := next, 0
	for n := e.sched.Next(slot); !n.After(now) && missed < 1_000_000; n = e.sched.Next(n) {
		slot = n
		missed++
	}
	if missed > 0 {
		s.metrics.runs.WithLabelValues(e.job.Name, string(StatusSkipped)).Add(float64(missed))
		s.log.Warn("cron: slots passed while the job was running or the replica was paused",
			slog.String("job", e.job.Name), slog.Int("missed", missed), slog.String("replica", s.replica))
	}
	return slot
}

func (s *Scheduler) cleanup(ctx context.Context) error {
	if s.cfg.HistoryRetention <= 0 {
		return nil
	}
	return s.store.cleanup(ctx, s.clock.Now().Add(-s.cfg.HistoryRetention))
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
