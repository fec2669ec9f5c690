// Package testkit holds test machinery: HTTP scenario tables (Scenario) and
// throwaway servers: PostgreSQL (Postgres), redis-server in every topology
// (Redis, RedisRing, RedisCluster, RedisSentinel) and FerretDB v1.24 as the
// Mongo-compatible server (Mongo; FITLOOP_TEST_FERRETDB names a built
// binary, otherwise .ci/ferretdb is built once into the user's cache).
//
// Each server is started at most once per test binary, on first use, and every
// test gets its own empty slice of it (a fresh database for PostgreSQL). A
// package whose tests use the kit stops its servers at exit with
//
//	func TestMain(m *testing.M) { testkit.Main(m) }
//
// Without that TestMain the servers still go away: a watchdog process notices
// the test binary's exit (or crash, or time-out) and stops them, a moment
// later and in the background.
//
// Main also checks for leaked goroutines (go.uber.org/goleak): when every test
// passed and the servers are stopped, a goroutine still running fails the test
// binary with its stack. See leaks.go for the few that are ignored and why.
//
// When a server can be neither reached nor started, tests that need it are
// skipped with a message saying how to provide it — unless the environment
// variable CI is "true", where a missing server fails the test instead, so a
// CI run can never pass by skipping.
//
// The kit starts servers as local processes and needs a Unix system; as root
// it runs PostgreSQL as the postgres user through runuser.
package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Main runs the package's tests, stops every server the kit started for them,
// checks that the tests left no goroutine running (only when they passed: a
// failed test may well strand some) and exits with the tests' status, or 1
// for a leak. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	stopAll()
	if code == 0 {
		code = checkLeaks(os.Stderr)
	}
	os.Exit(code)
}

var exits struct {
	mu  sync.Mutex
	fns []func()
}

// atExit registers fn to run when Main stops the servers, last in first out.
func atExit(fn func()) {
	exits.mu.Lock()
	defer exits.mu.Unlock()
	exits.fns = append(exits.fns, fn)
}

func stopAll() {
	exits.mu.Lock()
	fns := exits.fns
	exits.fns = nil
	exits.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// unavailable skips the test because a server is missing, or fails it on CI.
func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("testkit: %s (CI=true: a missing server fails the test instead of skipping it)", msg)
		return
	}
	tb.Skipf("testkit: %s", msg)
}

// watchdog runs script in a shell, in its own process group so a Ctrl-C aimed
// at the tests does not stop it, once the test binary is done: when stop is
// called, or when the process ends in any way, since the kernel then closes
// the pipe the shell reads. stop waits for the script to finish.
func watchdog(script string) (stop func(), err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("/bin/sh", "-c", "read _ignored; "+script)
	cmd.Stdin = r // stdout and stderr stay nil (/dev/null): go test must not wait on them
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("testkit: watchdog: %w", err)
	}
	r.Close()
	var once sync.Once
	return func() {
		once.Do(func() {
			w.Close()
			_ = cmd.Wait()
		})
	}, nil
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
