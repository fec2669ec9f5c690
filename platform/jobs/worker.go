package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// worker is the pool of one kind: a poller that claims up to size jobs at a
// time and one goroutine per running job.
type worker struct {
	q        *Queue
	kind     string
	fn       Handler
	size     int
	ctx      context.Context // parent of the handlers' contexts
	wake     chan struct{}   // a job finished: a slot is free
	inflight atomic.Int32
}

func (w *worker) poll(ctx context.Context) {
	tick := time.NewTicker(w.q.cfg.PollInterval)
	defer tick.Stop()
	for {
		if free := w.size - int(w.inflight.Load()); free > 0 {
			jobs, err := w.q.claim(ctx, w.kind, free)
			if err != nil && ctx.Err() == nil {
				w.q.log.Error("job claim failed", slog.String("kind", w.kind), slog.String("error", err.Error()))
			}
			// Claimed jobs run even if ctx ended meanwhile: they are leased to us.
			for _, j := range jobs {
				w.inflight.Add(1)
				w.q.running.Add(1)
				go w.run(j)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-tick.C:
		}
	}
}

func (w *worker) run(j claimed) {
	defer func() {
		w.inflight.Add(-1)
		select {
		case w.wake <- struct{}{}:
		default:
		}
		w.q.running.Done()
	}()
	if j.Attempts > j.MaxAttempts {
		// A worker died during the last attempt; that attempt counts.
		w.record(j, Permanent(errors.New("jobs: lease expired during the last attempt")), 0)
		return
	}
	ctx, cancel := context.WithCancel(w.ctx)
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		w.heartbeat(ctx, cancel, j)
	}()
	start := time.Now()
	err := safeRun(ctx, w.fn, JobInfo{ID: j.ID, Kind: j.Kind, Payload: []byte(j.Payload),
		Attempt: j.Attempts, MaxAttempts: j.MaxAttempts})
	elapsed := time.Since(start)
	cancel()
	<-beat
	w.record(j, err, elapsed)
}

// record writes the outcome of an attempt and counts it.
func (w *worker) record(j claimed, runErr error, elapsed time.Duration) {
	ctx, cancel := writeContext()
	defer cancel()
	outcome, err := StateSucceeded, error(nil)
	if runErr == nil {
		err = w.q.succeed(ctx, j)
	} else {
		outcome, err = w.q.fail(ctx, j, runErr)
	}
	log := w.q.log.With(slog.String("job_id", j.ID), slog.String("kind", j.Kind), slog.Int("attempt", j.Attempts))
	switch {
	case errors.Is(err, errLeaseLost):
		outcome = "lease_lost"
		log.Warn("job result discarded: lease lost to another worker")
	case err != nil:
		outcome = "write_failed"
		log.Error("job result not saved; it runs again after its lease", slog.String("error", err.Error()))
	case runErr != nil:
		log.Warn("job attempt failed", slog.String("state", outcome), slog.String("error", runErr.Error()))
	}
	w.q.metrics.observe(j.Kind, outcome, elapsed)
}

// heartbeat extends j's lease every third of the lease until ctx ends, and
// cancels the handler when another worker has taken the job.
func (w *worker) heartbeat(ctx context.Context, cancel context.CancelFunc, j claimed) {
	t := time.NewTicker(w.q.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := w.q.extendLease(ctx, j)
		switch {
		case errors.Is(err, errLeaseLost):
			w.q.log.Warn("job lease lost; cancelling its handler", slog.String("job_id", j.ID))
			cancel()
			return
		case err != nil && ctx.Err() == nil:
			w.q.log.Error("job lease not extended", slog.String("job_id", j.ID), slog.String("error", err.Error()))
		}
	}
}

// safeRun calls fn and turns a panic into an error.
func safeRun(ctx context.Context, fn Handler, job JobInfo) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("jobs: handler panicked: %v", r)
		}
	}()
	return fn(ctx, job)
}
