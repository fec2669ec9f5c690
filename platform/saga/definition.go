// Package saga is fitloop's in-process saga orchestrator with a durable log.
//
// A module declares a Definition — numbered steps, each an action with an
// optional compensation — and registers it (Sagas(reg)). The Orchestrator
// saves the instance before and after every step in saga_instances and
// appends every transition to saga_steps. When a step fails, the steps that
// completed are compensated in reverse order; a failing compensation is
// retried with exponential backoff and, after Config.CompensationAttempts
// tries, the saga is parked as needs_attention. A lease (owner, expiry and a
// fencing version) makes one replica drive each saga; unfinished sagas whose
// lease expired are resumed at start-up and every Config.ResumeInterval.
//
// Steps run at least once: a step that was started but not recorded as done
// when its process died runs again on resume. Each step therefore gets an
// idempotency key, "saga_id:step" (Execution.Key); a step that calls another
// module passes the key along. A step whose effect is local writes it in a
// Step.TxAction, inside the transaction that records the step as done: the
// effect and its record commit together, so it needs no key of its own.
//
// Every save is a commit the caller waits for (on SQLite an fsync), so the
// orchestrator saves no more often than the guarantees need: Start inserts
// the instance already leased and with its first step logged as started; a
// step's success and the next step's start are one save, and so are the last
// step's success, completion and the lease's release. A two-step saga whose
// first step is a TxAction costs three commits (TestTransactionsPerSaga).
package saga

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"gorm.io/gorm"
)

// State is where a saga instance is in its life.
type State string

// The states of a saga instance. Running and Compensating are unfinished;
// the other three are final.
const (
	Running        State = "running"
	Compensating   State = "compensating"
	Completed      State = "completed"
	Compensated    State = "compensated"
	NeedsAttention State = "needs_attention"
)

// Final reports whether no orchestrator will drive the saga any further.
func (s State) Final() bool { return s == Completed || s == Compensated || s == NeedsAttention }

// Valid reports whether s is one of the five states.
func (s State) Valid() bool { return s == Running || s == Compensating || s.Final() }

// Phase says whether a step's action or its compensation is running.
type Phase string

// The two phases of a step.
const (
	PhaseAction     Phase = "action"
	PhaseCompensate Phase = "compensate"
)

// Step is one numbered step of a saga, with exactly one of Action and
// TxAction, and at most one of Compensate and TxCompensate.
//
// Action does the step's work outside any transaction of the saga's: it may
// call other modules and services. Compensate, when set, semantically undoes
// it after a later step failed. Both must be idempotent under Execution.Key:
// either may run again after a crash.
//
// TxAction and TxCompensate do local work with tx, the transaction that also
// records their success (the instance's new step and data, and its log). The
// effect and the record commit together or not at all — a crash can never
// leave one without the other, and a stale driver (one whose lease was taken
// over) is fenced out before the function runs — so the work is applied
// exactly once and needs no idempotency record. An error rolls the effect
// back and counts as the step's failure. They must do all their writes
// through tx, stay short (on SQLite they hold the single writer, shared with
// other callers' writes), and never call DB.Tx, which would wait for the very
// transaction they run in; nor may they commit, roll back, or touch anything
// outside the database, which a rollback would not undo.
//
// A compensation must eventually succeed; it is retried with backoff.
type Step struct {
	Name         string
	Action       func(ctx context.Context, ex *Execution) error
	TxAction     func(ctx context.Context, tx *gorm.DB, ex *Execution) error
	Compensate   func(ctx context.Context, ex *Execution) error
	TxCompensate func(ctx context.Context, tx *gorm.DB, ex *Execution) error
}

// Definition is a named, versioned sequence of steps. An instance always
// finishes on the version it started with, so a changed step list needs a new
// Version while the old one stays registered until its instances are done.
type Definition struct {
	Name    string
	Version int
	Steps   []Step
}

// validate checks the definition's shape.
func (d Definition) validate() error {
	switch {
	case d.Name == "":
		return errors.New("saga: definition without a name")
	case d.Version < 1:
		return fmt.Errorf("saga: %s: version %d, want ≥ 1", d.Name, d.Version)
	case len(d.Steps) == 0:
		return fmt.Errorf("saga: %s v%d: no steps", d.Name, d.Version)
	}
	seen := map[string]bool{}
	for i, s := range d.Steps {
		if s.Name == "" || (s.Action == nil) == (s.TxAction == nil) {
			return fmt.Errorf("saga: %s v%d: step %d needs a name and one of Action and TxAction", d.Name, d.Version, i)
		}
		if s.Compensate != nil && s.TxCompensate != nil {
			return fmt.Errorf("saga: %s v%d: step %q has both Compensate and TxCompensate", d.Name, d.Version, s.Name)
		}
		if seen[s.Name] {
			return fmt.Errorf("saga: %s v%d: duplicate step %q", d.Name, d.Version, s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

// Registry holds the definitions modules register. It is safe for
// concurrent use.
type Registry struct {
	mu   sync.RWMutex
	defs map[string]map[int]Definition // name → version → definition
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{defs: map[string]map[int]Definition{}} }

// Register adds a definition. A malformed definition or one whose name and
// version are already registered is an error.
func (r *Registry) Register(def Definition) error {
	if err := def.validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.defs[def.Name] == nil {
		r.defs[def.Name] = map[int]Definition{}
	}
	if _, dup := r.defs[def.Name][def.Version]; dup {
		return fmt.Errorf("saga: %s v%d is already registered", def.Name, def.Version)
	}
	r.defs[def.Name][def.Version] = def
	return nil
}

// Lookup returns the definition of name at version.
func (r *Registry) Lookup(name string, version int) (Definition, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.defs[name][version]
	return d, ok
}

// Latest returns the highest registered version of name; new sagas start on it.
func (r *Registry) Latest(name string) (Definition, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	versions := make([]int, 0, len(r.defs[name]))
	for v := range r.defs[name] {
		versions = append(versions, v)
	}
	if len(versions) == 0 {
		return Definition{}, false
	}
	sort.Ints(versions)
	return r.defs[name][versions[len(versions)-1]], true
}
