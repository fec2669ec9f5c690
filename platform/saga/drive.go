package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// run is one driver's hold on one instance.
type run struct {
	o      *Orchestrator
	ctx    context.Context // cancelled at Close or when the lease is lost
	row    *instanceRow
	def    Definition
	lease  lease
	failed *Error // the failing step, when it failed in this run
}

// drive takes the lease on an instance and runs it to a final state, or
// until it is interrupted. It returns what Start reports.
func (o *Orchestrator) drive(ctx context.Context, id string) error {
	row, l, err := o.store.acquire(ctx, id, o.replica, o.now().UTC(), o.cfg.Lease)
	if err != nil {
		return errors.Join(ErrInterrupted, err)
	}
	ctx, stop := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go o.keepLease(ctx, stop, l, renewed)
	defer func() { stop(); <-renewed }()

	r := &run{o: o, ctx: ctx, row: row, lease: l}
	def, ok := o.reg.Lookup(row.Name, row.Version)
	if !ok {
		return r.park(fmt.Errorf("saga: definition %s version %d is not registered", row.Name, row.Version))
	}
	r.def = def
	for {
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
	ex := r.execution(i, PhaseAction)
	if err := r.save(nil, r.logRow(i, PhaseAction, statusStarted, 1, nil)); err != nil {
		return err
	}
	if err := r.o.failpoint(r.site(step, PhaseAction, BoundaryBefore)); err != nil {
		return err
	}
	stepErr := r.call(step, PhaseAction, step.Action, ex)
	if err := r.o.failpoint(r.site(step, PhaseAction, BoundaryAfter)); err != nil {
		return err
	}
	if stepErr != nil && r.ctx.Err() != nil {
		return r.ctx.Err() // cut short, not failed: it runs again on resume
	}
	if stepErr == nil {
		if err := r.save(map[string]any{"step": i + 1, "data": string(ex.data)},
			r.logRow(i, PhaseAction, statusSucceeded, 1, nil)); err != nil {
			return err
		}
		r.row.Step, r.row.Data = i+1, string(ex.data)
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

// compensate undoes step i once, recording success, a retry or parking.
func (r *run) compensate(i int) error {
	step := r.def.Steps[i]
	if step.Compensate == nil {
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
	compErr := r.call(step, PhaseCompensate, step.Compensate, ex)
	if err := r.o.failpoint(r.site(step, PhaseCompensate, BoundaryAfter)); err != nil {
		return err
	}
	if compErr != nil && r.ctx.Err() != nil {
		return r.ctx.Err()
	}
	var err error
	switch {
	case compErr == nil:
		err = r.compensated(i, ex)
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

func (r *run) compensated(i int, ex *Execution) error {
	set := map[string]any{"step": i, "attempts": 0, "next_attempt_at": nil, "data": string(ex.data)}
	if err := r.save(set, r.logRow(i, PhaseCompensate, statusSucceeded, r.row.Attempts+1, nil)); err != nil {
		return err
	}
	r.row.Step, r.row.Attempts, r.row.NextAttemptAt, r.row.Data = i, 0, nil, string(ex.data)
	return nil
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
