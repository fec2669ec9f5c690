// Package saga is fitloop's in-process saga orchestrator with a durable log.
//
// A module declares a Definition — numbered steps, each an Action with an
// optional Compensate — and registers it (Sagas(reg)). The Orchestrator saves
// the instance before and after every step in saga_instances and appends
// every transition to saga_steps. When a step fails, the steps that completed
// are compensated in reverse order; a failing compensation is retried with
// exponential backoff and, after Config.CompensationAttempts tries, the saga
// is parked as needs_attention. A lease (owner, expiry and a fencing version)
// makes one replica drive each saga; unfinished sagas whose lease expired are
// resumed at start-up and every Config.ResumeInterval.
//
// Steps run at least once: a step that was started but not recorded as done
// when its process died runs again on resume. Each step therefore gets an
// idempotency key, "saga_id:step" (Execution.Key); a step with a local effect
// records it with Once in the same transaction as the effect, and a step that
// calls another module passes the key along.
package saga

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
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

// Step is one numbered step of a saga. Action does the step's work;
// Compensate, when set, semantically undoes it after a later step failed.
// Both must be idempotent under Execution.Key: either may run again after a
// crash. Compensate must eventually succeed; it is retried with backoff.
type Step struct {
	Name       string
	Action     func(ctx context.Context, ex *Execution) error
	Compensate func(ctx context.Context, ex *Execution) error
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
		if s.Name == "" || s.Action == nil {
			return fmt.Errorf("saga: %s v%d: step %d needs a name and an action", d.Name, d.Version, i)
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
