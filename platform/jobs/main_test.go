package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/jobs"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// wait bounds every Eventually: generous for -race on a loaded machine.
const wait = 15 * time.Second

// testConfig polls every 10ms and retries almost at once.
func testConfig() config.Jobs {
	return config.Jobs{Enabled: true, Workers: 2, PollInterval: 10 * time.Millisecond, Lease: 5 * time.Second,
		MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond}
}

// newFakeClock is a hand-moved clock an hour ahead of real time, so jobs
// stamped by time.Now are due.
func newFakeClock() *testkit.Clock { return testkit.NewClock(time.Now().UTC().Add(time.Hour)) }

// newQueue builds a queue on db; change adjusts its Deps.
func newQueue(tb testing.TB, db *database.DB, cfg config.Jobs, change ...func(*jobs.Deps)) *jobs.Queue {
	tb.Helper()
	d := jobs.Deps{DB: db, Config: cfg}
	for _, f := range change {
		f(&d)
	}
	q, err := jobs.New(d)
	require.NoError(tb, err)
	return q
}

// start starts q and stops it when the test ends (before its database closes).
func start(tb testing.TB, q *jobs.Queue) {
	tb.Helper()
	require.NoError(tb, q.Start(context.Background()))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			tb.Errorf("stop: %v", err)
		}
	})
}

// enqueue commits job in a transaction of its own.
func enqueue(tb testing.TB, db *database.DB, job jobs.Job) string {
	tb.Helper()
	var id string
	require.NoError(tb, db.Tx(context.Background(), func(tx *gorm.DB) (err error) {
		id, err = jobs.Enqueue(context.Background(), tx, job)
		return err
	}))
	require.NotEmpty(tb, id)
	return id
}

// jobRow is a job as stored.
type jobRow struct {
	State          string
	Attempts       int
	LastError      string
	LeaseOwner     *string
	RunAt          time.Time
	LeaseExpiresAt *time.Time
	FinishedAt     *time.Time
}

func getJob(tb testing.TB, db *database.DB, id string) jobRow {
	tb.Helper()
	var rows []jobRow
	require.NoError(tb, db.Read(context.Background()).Raw(`SELECT state, attempts, last_error, lease_owner,
		run_at, lease_expires_at, finished_at FROM jobs_queue WHERE id = ?`, id).Scan(&rows).Error)
	require.Len(tb, rows, 1, "job %s", id)
	return rows[0]
}

// waitState waits until job id is in state and returns it.
func waitState(tb testing.TB, db *database.DB, id, state string) jobRow {
	tb.Helper()
	var last jobRow
	require.Eventually(tb, func() bool {
		last = getJob(tb, db, id)
		return last.State == state
	}, wait, 5*time.Millisecond, "job %s never reached %s", id, state)
	return last
}

func countJobs(tb testing.TB, db *database.DB, where string, args ...any) int64 {
	tb.Helper()
	var n int64
	require.NoError(tb, db.Read(context.Background()).Raw(`SELECT COUNT(*) FROM jobs_queue `+where, args...).
		Scan(&n).Error)
	return n
}

// calls counts handler runs per job id.
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) add(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[id]++
	return c.n[id]
}

func (c *calls) get() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// recv takes one value from ch, failing the test after wait.
func recv[T any](tb testing.TB, ch <-chan T) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		tb.Fatalf("nothing received within %s", wait)
		var zero T
		return zero
	}
}
