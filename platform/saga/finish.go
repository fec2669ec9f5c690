package saga

import (
	"context"
	"errors"
	"maps"
	"time"

	"gorm.io/gorm"
)

// save writes fields of the instance (and log rows) under the lease. A step
// that succeeded is saved even while the run is being cancelled, so its
// outcome is not lost; the fence still rejects a stale driver.
func (r *run) save(set map[string]any, log ...stepRow) error {
	return r.saveWith(nil, func() (map[string]any, []stepRow) { return set, log })
}

// saveWith is save with an effect run first in the same transaction; change
// gives the fields and log rows, once the effect has run.
func (r *run) saveWith(effect func(tx *gorm.DB) error, change func() (map[string]any, []stepRow)) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.o.cfg.Lease)
	defer cancel()
	return r.o.store.fencedEffect(ctx, r.lease, effect, func() (map[string]any, []stepRow) {
		set, log := change()
		if set == nil {
			set = map[string]any{}
		}
		set["updated_at"] = r.o.now().UTC()
		return set, log
	})
}

func (r *run) logRow(i int, phase Phase, status string, attempt int, err error) stepRow {
	row := stepRow{ID: newID(), SagaID: r.row.ID, Step: i, Phase: phase, Status: status, Attempt: attempt,
		At: r.o.now().UTC()}
	if i < len(r.def.Steps) {
		row.Name = r.def.Steps[i].Name
	}
	if err != nil {
		row.Error = err.Error()
	}
	return row
}

// finalSet is the update that ends a saga in state and releases its lease.
func (r *run) finalSet(state State) map[string]any {
	return map[string]any{"state": state, "finished_at": r.o.now().UTC(), "lease_owner": "",
		"lease_expires_at": nil, "next_attempt_at": nil}
}

// finish saves a final state and releases the lease.
func (r *run) finish(state State) error {
	if err := r.save(r.finalSet(state)); err != nil {
		return errors.Join(ErrInterrupted, err)
	}
	r.row.State = state
	return r.finished(state)
}

// finished counts and logs a saga saved as completed or compensated, and
// returns what Start reports.
func (r *run) finished(state State) error {
	switch state {
	case Completed:
		r.o.met.completed.WithLabelValues(r.row.Name).Inc()
		r.o.log.Info("saga completed", "saga", r.row.Name, "saga_id", r.row.ID)
		return nil
	default:
		r.o.met.compensated.WithLabelValues(r.row.Name).Inc()
		r.o.log.Warn("saga compensated", "saga", r.row.Name, "saga_id", r.row.ID, "error", r.row.LastError)
		return r.failure(Compensated)
	}
}

// failure is Start's answer for a saga that did not complete.
func (r *run) failure(state State) error {
	if r.failed != nil {
		e := *r.failed
		e.State = state
		return &e
	}
	return &Error{SagaID: r.row.ID, Saga: r.row.Name, State: state, Err: errors.New(r.row.LastError)}
}

// parkAfter parks the saga after compensation i failed its last attempt.
func (r *run) parkAfter(i, attempt int, compErr error) error {
	return r.parkWith(compErr, r.logRow(i, PhaseCompensate, statusFailed, attempt, compErr),
		map[string]any{"attempts": attempt})
}

// park parks the saga for a reason outside any step (an unknown version).
func (r *run) park(reason error) error {
	if err := r.parkWith(reason, stepRow{}, nil); err != nil {
		return errors.Join(ErrInterrupted, err)
	}
	return r.failure(NeedsAttention)
}

// parkWith moves the saga to needs_attention, releases the lease, and logs
// and counts it — once, since only the lease holder gets here.
func (r *run) parkWith(reason error, entry stepRow, set map[string]any) error {
	if set == nil {
		set = map[string]any{}
	}
	maps.Copy(set, r.finalSet(NeedsAttention))
	set["last_error"] = reason.Error()
	var log []stepRow
	if entry.ID != "" {
		log = append(log, entry)
	}
	if err := r.save(set, log...); err != nil {
		return err
	}
	r.row.State, r.row.LastError = NeedsAttention, reason.Error()
	r.o.met.parked.WithLabelValues(r.row.Name).Inc()
	r.o.met.needsAttention.WithLabelValues(r.row.Name).Inc()
	r.o.log.Error("saga needs attention", "saga", r.row.Name, "version", r.row.Version, "saga_id", r.row.ID,
		"step", r.row.Step, "error", reason.Error())
	return nil
}

// keepLease renews the lease every third of its length until ctx ends;
// when the lease is lost it cancels the run so the step sees it.
func (o *Orchestrator) keepLease(ctx context.Context, stop context.CancelFunc, l lease, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(o.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := o.store.renew(ctx, l, o.now().UTC().Add(o.cfg.Lease))
		switch {
		case errors.Is(err, errLeaseLost):
			o.log.Warn("saga lease lost; another replica drives it", "saga_id", l.id)
			stop()
			return
		case err != nil && ctx.Err() == nil:
			o.log.Warn("saga lease renewal failed", "saga_id", l.id, "error", err)
		}
	}
}
