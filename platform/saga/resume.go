package saga

import (
	"context"
	"time"
)

// resumeBatch bounds how many sagas one Resume pass picks up.
const resumeBatch = 100

// Run resumes unfinished sagas now and every ResumeInterval until ctx ends,
// then stops the drivers (Close). Start it once per process.
func (o *Orchestrator) Run(ctx context.Context) error {
	defer o.Close()
	t := time.NewTicker(o.cfg.ResumeInterval)
	defer t.Stop()
	for {
		if _, err := o.Resume(ctx); err != nil && ctx.Err() == nil {
			o.log.Warn("saga resume pass failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Resume starts a driver for every unfinished saga whose lease is free,
// expired or this replica's, and returns how many it started. The drivers run
// in the background; a saga another replica takes first is skipped by the
// lease. It also refreshes the needs_attention gauge.
func (o *Orchestrator) Resume(ctx context.Context) (int, error) {
	if err := o.refreshGauge(ctx); err != nil {
		return 0, err
	}
	ids, err := o.store.resumable(ctx, o.replica, o.now().UTC(), resumeBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if _, ok := o.spawn(id); ok {
			n++
		}
	}
	return n, nil
}

// refreshGauge sets the needs_attention gauge from the database, so it is
// right on every replica and after a restart.
func (o *Orchestrator) refreshGauge(ctx context.Context) error {
	counts, err := o.store.countByName(ctx, NeedsAttention)
	if err != nil {
		return err
	}
	o.met.needsAttention.Reset()
	for name, n := range counts {
		o.met.needsAttention.WithLabelValues(name).Set(float64(n))
	}
	return nil
}
