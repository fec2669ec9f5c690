package cron_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/cron"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

func TestReplicas(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Run("three_schedulers_run_sixty_ticks_exactly_sixty_times", func(t *testing.T) {
			const replicas, ticks, every = 3, 60, 50 * time.Millisecond
			clock := newClock()
			var ran atomic.Int64
			job := cron.Job{Name: "test.tick", Schedule: "@every 50ms", Run: func(context.Context) error {
				ran.Add(1)
				return nil
			}}
			for i := range replicas {
				s := newScheduler(t, db, clock, fmt.Sprintf("replica-%d", i), testConfig())
				require.NoError(t, s.Register(job))
				require.NoError(t, s.Start(context.Background()))
			}
			clock.BlockUntil(t, replicas)
			for range ticks {
				clock.Advance(every)
				clock.BlockUntil(t, replicas) // every replica has handled the slot
			}

			assert.Equal(t, int64(ticks), ran.Load(), "job bodies run")
			runs := runsOf(t, db, job.Name)
			require.Len(t, runs, ticks, "history rows")
			byReplica := map[string]int{}
			for i, r := range runs {
				assert.True(t, t0.Add(time.Duration(i+1)*every).Equal(r.Slot), "slot %d is %s", i, r.Slot)
				assert.Equal(t, cron.StatusSucceeded, r.Status)
				assert.False(t, r.Manual)
				assert.NotNil(t, r.FinishedAt)
				byReplica[r.Replica]++
			}
			t.Logf("runs by replica: %v", byReplica)
			var claims int64
			require.NoError(t, db.Read(context.Background()).Table("cron_claims").Where("job = ?", job.Name).Count(&claims).Error)
			assert.Equal(t, int64(ticks), claims)
		})

		t.Run("a_slot_is_skipped_while_another_replica_still_runs_the_job", func(t *testing.T) {
			clock := newClock()
			release := make(chan struct{})
			var ran atomic.Int64
			job := cron.Job{Name: "test.slow", Schedule: "@every 1s", Run: func(ctx context.Context) error {
				if ran.Add(1) == 1 {
					<-release
				}
				return nil
			}}
			for i := range 2 {
				s := newScheduler(t, db, clock, fmt.Sprintf("replica-%d", i), testConfig())
				require.NoError(t, s.Register(job))
				require.NoError(t, s.Start(context.Background()))
			}
			clock.BlockUntil(t, 2)
			clock.Advance(time.Second)
			clock.BlockUntil(t, 1) // the loser waits; the winner runs slot 1
			clock.Advance(time.Second)
			clock.BlockUntil(t, 1) // the loser claimed slot 2 and saw the run going
			close(release)
			clock.BlockUntil(t, 2)

			runs := runsOf(t, db, job.Name)
			require.Len(t, runs, 2)
			assert.Equal(t, []cron.Status{cron.StatusSucceeded, cron.StatusSkipped}, statuses(runs))
			assert.NotEqual(t, runs[0].Replica, runs[1].Replica)
			assert.Equal(t, int64(1), ran.Load())
		})
	})
}
