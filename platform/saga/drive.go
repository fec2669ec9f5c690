package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"gorm.io/gorm"
)

// run is one driver's hold on one instance.
type run struct {
	o       *Orchestrator
	ctx     context.Context // cancelled at Close or when the lease is lost
	row     *instanceRow
	def     Definition
	lease   lease
	started int    // the action whose "started" entry this run saved, or -1
	failed  *Error // the failing step, when it failed in this run
}

// drive takes the lease on an instance and runs it to a final state, or
// until it is interrupted. It returns what Start reports.
func (o *Orchestrator) drive(ctx context.Context, id string) error {
	row, l, err := o.store.acquire(ctx, id, o.replica, o.now().UTC(), o.cfg.Lease)
	if err != nil {
		return errors.Join(ErrInterrupted, err)
	}
	return o.driveLeased(ctx, row, l, -1)
}

// driveLeased runs an instance under the lease l this driver holds. started
// is the action whose start is already logged (Start logs step 0 with the
// insert), or -1.
func (o *Orchestrator) driveLeased(ctx context.Context, row *instanceRow, l lease, started int) error {
	ctx, stop := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go o.keepLease(ctx, stop, l, renewed)
	defer func() { stop(); <-renewed }()

	r := &run{o: o, ctx: ctx, row: row, lease: l, started: started}
	def, ok := o.reg.Lookup(row.Name, row.Version)
	if !ok {
		return r.park(fmt.Errorf("saga: definition %s version %d is not registered", row.Name, row.Version))
	}
	r.def = def
	for {
		if row.State == Completed { // saved with the last step's success
			return r.finished(Completed)
		}
		if ctx.Err() != nil {
			return ErrInterrupted
		}
		var err error
		switch {
		case row.State == Running && row.Step >= len(def.Steps):
			return r.finish(Completed)
		case row.State == Running:
			err = r.action(row.Step)
		case row.State == Compensating && row.Step <= 0:
			return r.finish(Compensated)
		case row.State == Compensating:
			err = r.compensate(row.Step - 1)
		default:
			return nil
		}
		if errors.Is(err, errParked) {
			return r.failure(NeedsAttention)
		}
		if err != nil {
			return errors.Join(ErrInterrupted, err)
		}
	}
}

// errParked ends the drive loop after the saga was parked.
var errParked = errors.New("saga: parked")

// action runs step i forward and records its outcome.
func (r *run) action(i int) error {
	step := r.def.Steps[i]
	if r.started != i {
		if err := r.save(nil, r.logRow(i, PhaseAction, statusStarted, 1, nil)); err != nil {
			return err
		}
		r.started = i
	}
	if err := r.o.failpoint(r.site(step, PhaseAction, BoundaryBefore)); err != nil {
		return err
	}
	ex := r.execution(i, PhaseAction)
	stepErr, err := r.perform(step, PhaseAction, step.Action, step.TxAction, ex,
		func() (map[string]any, []stepRow) { return r.advance(i, ex) })
	if err != nil {
		return err
	}
	if stepErr == nil {
		r.advanced(i, ex)
	} else {
		r.failed = &Error{SagaID: r.row.ID, Saga: r.row.Name, Step: step.Name, Err: stepErr}
		if err := r.save(map[string]any{"state": Compensating, "last_error": stepErr.Error(), "attempts": 0},
			r.logRow(i, PhaseAction, statusFailed, 1, stepErr)); err != nil {
			return err
		}
		r.row.State, r.row.LastError, r.row.Attempts = Compensating, stepErr.Error(), 0
	}
	return r.o.failpoint(r.site(step, PhaseAction, BoundarySaved))
}

// advance is the save of action i's success. The same commit logs action
// i+1 as started or, after the last step, completes the saga and releases
// the lease. Each pair was two saves in a row with no work between them, and
// a resumed driver goes by the instance's state and step alone (it logs its
// own "started"), so the merged save leaves a crash no state to resume from
// that the separate saves did not.
func (r *run) advance(i int, ex *Execution) (map[string]any, []stepRow) {
	set := map[string]any{"step": i + 1, "data": string(ex.data)}
	log := []stepRow{r.logRow(i, PhaseAction, statusSucceeded, 1, nil)}
	if i+1 < len(r.def.Steps) {
		log = append(log, r.logRow(i+1, PhaseAction, statusStarted, 1, nil))
	} else {
		maps.Copy(set, r.finalSet(Completed))
	}
	return set, log
}

// advanced applies a saved advance to the run's copy of the instance.
func (r *run) advanced(i int, ex *Execution) {
	r.row.Step, r.row.Data = i+1, string(ex.data)
	if i+1 < len(r.def.Steps) {
		r.started = i + 1
	} else {
		r.row.State = Completed
	}
}

// compensate undoes step i once, recording success, a retry or parking.
func (r *run) compensate(i int) error {
	step := r.def.Steps[i]
	if step.Compensate == nil && step.TxCompensate == nil {
		if err := r.save(map[string]any{"step": i}); err != nil {
			return err
		}
		r.row.Step = i
		return nil
	}
	if err := r.waitNextAttempt(); err != nil {
		return err
	}
	attempt := r.row.Attempts + 1
	ex := r.execution(i, PhaseCompensate)
	if err := r.save(nil, r.logRow(i, PhaseCompensate, statusStarted, attempt, nil)); err != nil {
		return err
	}
	if err := r.o.failpoint(r.site(step, PhaseCompensate, BoundaryBefore)); err != nil {
		return err
	}
	compErr, err := r.perform(step, PhaseCompensate, step.Compensate, step.TxCompensate, ex,
		func() (map[string]any, []stepRow) { return r.undo(i, attempt, ex) })
	if err != nil {
		return err
	}
	switch {
	case compErr == nil:
		r.row.Step, r.row.Attempts, r.row.NextAttemptAt, r.row.Data = i, 0, nil, string(ex.data)
	case attempt >= r.o.cfg.CompensationAttempts:
		err = r.parkAfter(i, attempt, compErr)
	default:
		err = r.retryLater(i, attempt, compErr)
	}
	if err != nil {
		return err
	}
	if ferr := r.o.failpoint(r.site(step, PhaseCompensate, BoundarySaved)); ferr != nil {
		return ferr
	}
	if r.row.State == NeedsAttention {
		return errParked
	}
	return nil
}

// undo is the save of compensation i's success.
func (r *run) undo(i, attempt int, ex *Execution) (map[string]any, []stepRow) {
	return map[string]any{"step": i, "attempts": 0, "next_attempt_at": nil, "data": string(ex.data)},
		[]stepRow{r.logRow(i, PhaseCompensate, statusSucceeded, attempt, nil)}
}

// perform runs an action or a compensation — fn on its own, or txFn inside
// the transaction that saves success — and saves success as the given save
// returns it. It returns the step's own error, for the caller to record, or
// an error that stops the driver: a failpoint, a lost lease, a failed save or
// a cancelled run (a step cut short is not failed: it runs again on resume).
func (r *run) perform(step Step, phase Phase, fn func(context.Context, *Execution) error,
	txFn func(context.Context, *gorm.DB, *Execution) error, ex *Execution,
	success func() (map[string]any, []stepRow)) (stepErr, err error) {
	after := r.site(step, phase, BoundaryAfter)
	if txFn == nil {
		stepErr = r.call(step, phase, fn, ex)
		if err := r.o.failpoint(after); err != nil {
			return nil, err
		}
		if stepErr == nil {
			return nil, r.saveWith(nil, success)
		}
	} else {
		err := r.saveWith(func(tx *gorm.DB) error {
			stepErr = r.call(step, phase, func(ctx context.Context, ex *Execution) error { return txFn(ctx, tx, ex) }, ex)
			if stepErr != nil {
				return stepErr
			}
			// The effect is done but not committed: a crash here loses it
			// together with its record, and the step runs again on resume.
			return r.o.failpoint(after)
		}, success)
		if stepErr == nil {
			return nil, err
		}
		// The step failed and its effect was rolled back.
		if err := r.o.failpoint(after); err != nil {
			return nil, err
		}
	}
	if r.ctx.Err() != nil {
		return nil, r.ctx.Err()
	}
	return stepErr, nil
}

// retryLater records a failed compensation and when to try it again:
// BackoffBase·2^(attempt-1) from now.
func (r *run) retryLater(i, attempt int, compErr error) error {
	next := r.o.now().UTC().Add(r.o.cfg.BackoffBase << (attempt - 1))
	set := map[string]any{"attempts": attempt, "last_error": compErr.Error(), "next_attempt_at": next}
	if err := r.save(set, r.logRow(i, PhaseCompensate, statusFailed, attempt, compErr)); err != nil {
		return err
	}
	r.row.Attempts, r.row.LastError, r.row.NextAttemptAt = attempt, compErr.Error(), &next
	return nil
}

// waitNextAttempt sleeps, holding the lease, until a retry is due.
func (r *run) waitNextAttempt() error {
	if r.row.NextAttemptAt == nil {
		return nil
	}
	d := r.row.NextAttemptAt.Sub(r.o.now())
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// call runs an action or compensation, turning a panic into an error and
// timing it.
func (r *run) call(step Step, phase Phase, fn func(context.Context, *Execution) error, ex *Execution) (err error) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("saga: %s: step %s panicked: %v", r.row.Name, step.Name, p)
		}
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		r.o.met.stepDuration.WithLabelValues(r.row.Name, step.Name, string(phase), outcome).
			Observe(time.Since(start).Seconds())
	}()
	return fn(r.ctx, ex)
}

func (r *run) execution(i int, phase Phase) *Execution {
	return &Execution{sagaID: r.row.ID, saga: r.row.Name, step: r.def.Steps[i].Name, index: i, phase: phase,
		data: json.RawMessage(r.row.Data)}
}

func (r *run) site(step Step, phase Phase, boundary string) Site {
	return Site{SagaID: r.row.ID, Saga: r.row.Name, Step: step.Name, Phase: phase, Boundary: boundary}
}
