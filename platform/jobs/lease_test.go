package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/jobs"
)

func TestLeases(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()

		t.Run("a_job_whose_worker_died_runs_again_after_its_lease", func(t *testing.T) {
			clock := newFakeClock()
			withClock := func(owner string) func(*jobs.Deps) {
				return func(d *jobs.Deps) { d.Clock, d.Owner = clock.Now, owner }
			}
			dead := newQueue(t, db, testConfig(), withClock("dead-worker"))
			id := enqueue(t, db, jobs.Job{Kind: "orphan"})
			held, err := dead.Claim(ctx, "orphan", 10)
			require.NoError(t, err)
			require.Len(t, held, 1)
			assert.Equal(t, "dead-worker", *getJob(t, db, id).LeaseOwner)

			q := newQueue(t, db, testConfig(), withClock("survivor"))
			ran := make(chan jobs.JobInfo, 1)
			require.NoError(t, q.Handle("orphan", func(_ context.Context, j jobs.JobInfo) error {
				ran <- j
				return nil
			}))
			start(t, q)
			again, err := q.Claim(ctx, "orphan", 10)
			require.NoError(t, err)
			assert.Empty(t, again, "a live lease is not claimed")

			clock.Advance(testConfig().Lease + time.Second)
			j := recv(t, ran)
			assert.Equal(t, id, j.ID)
			assert.Equal(t, 2, j.Attempt, "the dead worker's attempt counts")
			waitState(t, db, id, jobs.StateSucceeded)
			assert.ErrorIs(t, dead.Succeed(ctx, held[0]), jobs.ErrLeaseLost, "a stale worker cannot write its result")
		})

		t.Run("a_worker_dying_on_the_last_attempt_dead_letters_the_job", func(t *testing.T) {
			clock := newFakeClock()
			dead := newQueue(t, db, testConfig(), func(d *jobs.Deps) { d.Clock = clock.Now })
			id := enqueue(t, db, jobs.Job{Kind: "last_try", MaxAttempts: 1})
			held, err := dead.Claim(ctx, "last_try", 1)
			require.NoError(t, err)
			require.Len(t, held, 1)

			q := newQueue(t, db, testConfig(), func(d *jobs.Deps) { d.Clock = clock.Now })
			require.NoError(t, q.Handle("last_try", func(context.Context, jobs.JobInfo) error {
				t.Error("a job past its attempts must not run")
				return nil
			}))
			start(t, q)
			clock.Advance(testConfig().Lease + time.Second)
			row := waitState(t, db, id, jobs.StateDead)
			assert.Contains(t, row.LastError, "lease expired")
		})

		t.Run("a_heartbeat_extends_the_lease_of_a_long_handler", func(t *testing.T) {
			cfg := testConfig()
			cfg.Lease = 600 * time.Millisecond
			q := newQueue(t, db, cfg)
			started, release := make(chan struct{}), make(chan struct{})
			require.NoError(t, q.Handle("long", func(context.Context, jobs.JobInfo) error {
				close(started)
				<-release
				return nil
			}))
			start(t, q)
			id := enqueue(t, db, jobs.Job{Kind: "long"})
			recv(t, started)
			first := *getJob(t, db, id).LeaseExpiresAt
			require.Eventually(t, func() bool {
				exp := getJob(t, db, id).LeaseExpiresAt
				return exp != nil && exp.After(first)
			}, wait, 10*time.Millisecond)
			close(release)
			assert.Equal(t, 1, waitState(t, db, id, jobs.StateSucceeded).Attempts)
		})

		t.Run("respects_concurrency_per_kind", func(t *testing.T) {
			cfg := testConfig()
			cfg.Workers = 1
			cfg.Concurrency = []string{"wide=3"}
			q := newQueue(t, db, cfg)
			gates := map[string]*gate{"wide": newGate(), "narrow": newGate()}
			for kind, g := range gates {
				require.NoError(t, q.Handle(kind, g.handler))
			}
			var ids []string
			for i := range 12 {
				ids = append(ids, enqueue(t, db, jobs.Job{Kind: []string{"wide", "narrow"}[i%2]}))
			}
			start(t, q)
			require.Eventually(t, func() bool { return gates["wide"].current.Load() == 3 }, wait, time.Millisecond)
			require.Eventually(t, func() bool { return gates["narrow"].current.Load() == 1 }, wait, time.Millisecond)
			for _, g := range gates {
				g.open()
			}
			for _, id := range ids {
				waitState(t, db, id, jobs.StateSucceeded)
			}
			assert.Equal(t, int32(3), gates["wide"].peak.Load())
			assert.Equal(t, int32(1), gates["narrow"].peak.Load())
		})

		t.Run("two_queues_on_one_database_run_each_job_once", func(t *testing.T) {
			const n = 150
			ids := make([]string, n)
			// All jobs are due before either queue starts, so both claim at once.
			require.NoError(t, db.Tx(ctx, func(tx *gorm.DB) (err error) {
				for i := range ids {
					if ids[i], err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: "shared", Payload: i}); err != nil {
						return err
					}
				}
				return nil
			}))
			cfg := testConfig()
			cfg.Workers = 4
			var seen calls
			var perQueue [2]atomic.Int32
			queues := make([]*jobs.Queue, 2)
			for i := range queues {
				queues[i] = newQueue(t, db, cfg, func(d *jobs.Deps) { d.Owner = fmt.Sprint("replica-", i) })
				require.NoError(t, queues[i].Handle("shared", func(_ context.Context, j jobs.JobInfo) error {
					perQueue[i].Add(1)
					seen.add(j.ID)
					return nil
				}))
			}
			for _, q := range queues {
				start(t, q)
			}
			require.Eventually(t, func() bool {
				return countJobs(t, db, "WHERE kind = 'shared' AND state = 'succeeded'") == n
			}, wait, 10*time.Millisecond)
			counts := seen.get()
			require.Len(t, counts, n)
			for id, c := range counts {
				assert.Equal(t, 1, c, "job %s ran %d times", id, c)
			}
			assert.Equal(t, int32(n), perQueue[0].Load()+perQueue[1].Load())
			t.Logf("replica-0 ran %d, replica-1 ran %d", perQueue[0].Load(), perQueue[1].Load())
			assert.Zero(t, countJobs(t, db, "WHERE kind = 'shared' AND attempts <> 1"), "no job was claimed twice")
		})
	})
}

// gate holds handlers until opened and records how many ran at once.
type gate struct {
	current, peak atomic.Int32
	ch            chan struct{}
	once          sync.Once
}

func newGate() *gate { return &gate{ch: make(chan struct{})} }

func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

func (g *gate) handler(context.Context, jobs.JobInfo) error {
	n := g.current.Add(1)
	defer g.current.Add(-1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			break
		}
	}
	<-g.ch
	return nil
}
