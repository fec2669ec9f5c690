package cron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
)

// staleAfter bounds how long a "running" row of a job without a timeout
// blocks other replicas; older ones belong to a replica that died.
const staleAfter = 24 * time.Hour

// fire claims slot for the job and, when this replica wins, runs it. A slot
// claimed while the job is still going (here or on another replica) is
// recorded as skipped.
func (s *Scheduler) fire(e *entry, slot time.Time) {
	mine := e.busy.CompareAndSwap(false, true)
	run, err := s.newRun(e.job.Name, slot, false)
	if err == nil {
		var won bool
		won, err = s.store.claim(s.base, run, func(tx *gorm.DB) (bool, error) {
			if !mine {
				return true, nil
			}
			return busyElsewhere(tx, e.job.Name, run.StartedAt.Add(-e.staleness()))
		})
		if err == nil && won && run.Status == StatusRunning {
			s.execute(e, run) // releases busy
			return
		}
		if err == nil && won {
			s.report(run, 0, nil)
		}
	}
	if err != nil {
		s.log.Error("cron: claim failed", slog.String("job", e.job.Name), slog.String("replica", s.replica),
			slog.Time("slot", slot), slog.String("error", err.Error()))
	}
	if mine {
		e.busy.Store(false)
	}
}

func (e *entry) staleness() time.Duration {
	if e.timeout > 0 {
		return e.timeout
	}
	return staleAfter
}

func (s *Scheduler) newRun(job string, slot time.Time, manual bool) (*Run, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("cron: run id: %w", err)
	}
	// PostgreSQL keeps microseconds; every replica must store the same value.
	return &Run{ID: id.String(), Job: job, Slot: slot.UTC().Truncate(time.Microsecond), Manual: manual,
		Replica: s.replica, StartedAt: s.clock.Now(), Status: StatusRunning}, nil
}

// RunNow starts a run of the job at once, outside its schedule and without a
// claim, and returns the run's id. The run goes on after ctx ends. Errors:
// NotFound job_not_found, Conflict job_running (a run is going on this
// replica), Unavailable scheduler_stopped.
func (s *Scheduler) RunNow(ctx context.Context, name string) (string, error) {
	s.mu.Lock()
	e, stopped := s.entries[name], s.stopped
	if e != nil && !stopped {
		s.wg.Add(1) // under mu, so Stop cannot be waiting already
	}
	s.mu.Unlock()
	switch {
	case e == nil:
		return "", apperr.NotFoundf("job_not_found", "Job")
	case stopped:
		return "", apperr.E(apperr.Unavailable, "scheduler_stopped", "The scheduler is stopping.")
	}
	if !e.busy.CompareAndSwap(false, true) {
		s.wg.Done()
		return "", apperr.E(apperr.Conflict, "job_running", "The job is running; try again when it ends.")
	}
	run, err := s.newRun(name, s.clock.Now(), true)
	if err == nil {
		err = s.store.insert(ctx, run)
	}
	if err != nil {
		e.busy.Store(false)
		s.wg.Done()
		return "", err
	}
	go func() {
		defer s.wg.Done()
		s.execute(e, run)
	}()
	return run.ID, nil
}

type outcome struct {
	err      error
	panicked bool
	stack    []byte
}

// execute runs the job under its timeout, records the result and clears the
// busy flag once the job's function has returned — even when it outlives its
// timeout, so a stuck run is never overlapped by the next one.
func (s *Scheduler) execute(e *entry, run *Run) {
	ctx, cancel := context.WithCancel(s.base)
	if e.timeout > 0 {
		ctx, cancel = context.WithTimeout(s.base, e.timeout)
	}
	defer cancel()
	start := time.Now()
	done := make(chan outcome, 1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer e.busy.Store(false)
		done <- call(ctx, e.job.Run)
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		select {
		case o = <-done:
		default: // the job ignores its context; stop waiting for it
			o = outcome{err: fmt.Errorf("the job did not return after its context ended: %w", ctx.Err())}
		}
	}
	switch {
	case o.panicked:
		run.Status = StatusPanicked
	case o.err == nil:
		run.Status = StatusSucceeded
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		run.Status = StatusTimedOut
	default:
		run.Status = StatusFailed
	}
	if o.err != nil {
		run.Error = o.err.Error()
	}
	end := s.clock.Now()
	run.FinishedAt = &end
	if err := s.store.finish(context.WithoutCancel(ctx), run); err != nil {
		s.log.Error("cron: record run", slog.String("job", run.Job), slog.String("error", err.Error()))
	}
	s.report(run, time.Since(start), o.stack)
}

// call runs fn, turning a panic into an outcome.
func call(ctx context.Context, fn func(context.Context) error) (o outcome) {
	defer func() {
		if r := recover(); r != nil {
			o = outcome{err: fmt.Errorf("panic: %v", r), panicked: true, stack: debug.Stack()}
		}
	}()
	return outcome{err: fn(ctx)}
}

// report writes the run's log line and metrics.
func (s *Scheduler) report(run *Run, took time.Duration, stack []byte) {
	s.metrics.observe(run.Job, run.Status, took, s.clock.Now())
	attrs := []any{slog.String("job", run.Job), slog.String("run_id", run.ID), slog.Time("slot", run.Slot),
		slog.String("replica", s.replica), slog.String("status", string(run.Status)),
		slog.Bool("manual", run.Manual), slog.Duration("duration", took)}
	if run.Error != "" {
		attrs = append(attrs, slog.String("error", run.Error))
	}
	if stack != nil {
		attrs = append(attrs, slog.String("stack", string(stack)))
	}
	level := slog.LevelInfo
	switch run.Status {
	case StatusSkipped:
		level = slog.LevelWarn
	case StatusFailed, StatusTimedOut, StatusPanicked:
		level = slog.LevelError
	}
	s.log.Log(context.Background(), level, "cron run", attrs...)
}
