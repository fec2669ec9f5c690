package saga

import (
	"errors"
	"os"
	"strings"
)

// EnvCrashAt names the environment variable of the crash failpoint used by
// subprocess tests: "saga:step:phase:boundary" (or "saga:step:boundary" for
// the action phase), e.g. "users.set_goal:notify_planner:action:after". When
// the orchestrator reaches that site it ends the process with os.Exit(137),
// as if killed. Unset in production, where it costs one string comparison.
const EnvCrashAt = "FITLOOP_TEST_SAGA_CRASH_AT"

// CrashExitCode is the exit status of a process ended by EnvCrashAt.
const CrashExitCode = 137

// Boundaries around each action and compensation.
const (
	// BoundaryBefore is after "started" is logged, before the step runs.
	BoundaryBefore = "before"
	// BoundaryAfter is after the step returned, before its outcome is saved.
	BoundaryAfter = "after"
	// BoundarySaved is after the outcome is saved, before the next step.
	BoundarySaved = "saved"
)

// Site is one failpoint: a boundary of a step's action or compensation.
type Site struct {
	SagaID   string
	Saga     string
	Step     string
	Phase    Phase
	Boundary string
}

// String renders the site as EnvCrashAt spells it.
func (s Site) String() string {
	return s.Saga + ":" + s.Step + ":" + string(s.Phase) + ":" + s.Boundary
}

// ErrCrash is what a test's Failpoint returns to make the driver stop dead
// at a site: no further write, no lease release, as if the process died.
// Any other non-nil error does the same.
var ErrCrash = errors.New("saga: crash injected by failpoint")

// crashAt reads EnvCrashAt once, normalised to the four-part form.
func crashAt() string {
	v := os.Getenv(EnvCrashAt)
	if strings.Count(v, ":") == 2 {
		i := strings.LastIndex(v, ":")
		v = v[:i] + ":" + string(PhaseAction) + v[i:]
	}
	return v
}

// failpoint runs the test hooks at a site; a non-nil error aborts the driver.
func (o *Orchestrator) failpoint(s Site) error {
	if o.crashAt != "" && o.crashAt == s.String() {
		o.log.Warn("saga: crash failpoint reached, exiting", "site", s.String(), "saga_id", s.SagaID)
		os.Exit(CrashExitCode)
	}
	if o.hook != nil {
		return o.hook(s)
	}
	return nil
}
