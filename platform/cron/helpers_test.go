package cron_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/cron"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// t0 is where every manual clock starts: on a whole second, so "@every"
// slots fall on round values.
var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// manualClock is a Clock that moves only when a test advances it.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	changed chan struct{} // closed (and replaced) when a waiter is added
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

var _ cron.Clock = (*manualClock)(nil)

func newClock() *manualClock { return &manualClock{now: t0, changed: make(chan struct{})} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	close(c.changed)
	c.changed = make(chan struct{})
	return ch
}

// Advance moves the clock and wakes the waiters that are due.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// BlockUntil waits until n waiters are pending: every scheduler loop has
// finished its previous slot and waits for the next.
func (c *manualClock) BlockUntil(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.After(20 * time.Second)
	for {
		c.mu.Lock()
		got, changed := len(c.waiters), c.changed
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			tb.Fatalf("clock: %d waiters after 20s, want %d", got, n)
		}
	}
}

// testConfig enables cron with the built-in cleanup job off, so only the
// test's jobs wait on the clock.
func testConfig() config.Cron {
	cfg := config.Default().Cron
	cfg.Disabled = []string{cron.CleanupJobName}
	return cfg
}

// newScheduler builds a scheduler on db, stopped when the test ends.
func newScheduler(tb testing.TB, db *database.DB, clock cron.Clock, replica string, cfg config.Cron) *cron.Scheduler {
	tb.Helper()
	s, err := cron.New(cron.Deps{Config: cfg, DB: db, Log: slog.New(slog.DiscardHandler), Replica: replica, Clock: clock})
	require.NoError(tb, err)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(tb, s.Stop(ctx))
	})
	return s
}

// runsOf returns the job's runs, oldest slot first.
func runsOf(tb testing.TB, db *database.DB, job string) []cron.Run {
	tb.Helper()
	var runs []cron.Run
	require.NoError(tb, db.Read(context.Background()).Where("job = ?", job).Order("slot, started_at").Find(&runs).Error)
	return runs
}

// statuses lists the runs' statuses in order.
func statuses(runs []cron.Run) []cron.Status {
	out := make([]cron.Status, len(runs))
	for i, r := range runs {
		out[i] = r.Status
	}
	return out
}
