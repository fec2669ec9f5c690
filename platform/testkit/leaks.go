package testkit

import (
	"fmt"
	"io"

	"go.uber.org/goleak"
)

// leakOptions are the goroutines a finished test binary may still run.
// Keep the list short, and give each entry its reason: a leak is fixed in the
// code that leaks, not ignored here.
func leakOptions() []goleak.Option {
	return []goleak.Option{
		// gorm's prepared-statement cache (PrepareStmt, which
		// database.OpenSQLite turns on for the readers) starts an expiry
		// ticker that nothing can stop: gorm never closes its done channel,
		// not even in Close (see the comment above the goroutine in
		// gorm.io/gorm/internal/lru/lru.go). It holds no connection and only
		// ticks; one per SQLite database a test opened.
		goleak.IgnoreTopFunction("gorm.io/gorm/internal/lru.NewLRU[...].func1"),
	}
}

// checkLeaks reports to w every goroutine still running besides the ignored
// ones (and those extra ignores), after goleak's retries give them time to
// wind down, and returns the exit status: 0 when there is none, 1 otherwise.
func checkLeaks(w io.Writer, extra ...goleak.Option) int {
	if err := goleak.Find(append(leakOptions(), extra...)...); err != nil {
		fmt.Fprintf(w, "testkit: the tests passed but leaked goroutines; stop them before the test ends "+
			"(or, with a reason, ignore them in platform/testkit/leaks.go):\n%v\n", err)
		return 1
	}
	return 0
}
