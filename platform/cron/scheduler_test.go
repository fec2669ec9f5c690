package cron_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/cron"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

func nop(context.Context) error { return nil }

func TestRegister(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	s := newScheduler(t, db, newClock(), "r", testConfig())

	t.Run("rejects_duplicate_names", func(t *testing.T) {
		job := cron.Job{Name: "test.dup", Schedule: "@hourly", Run: nop}
		require.Error(t, s.Register(job, job), "twice in one call")
		require.NoError(t, s.Register(job))
		require.ErrorContains(t, s.Register(job), `duplicate job name "test.dup"`)
		require.Error(t, s.Register(cron.Job{Name: cron.CleanupJobName, Schedule: "@hourly", Run: nop}), "the built-in name")
	})
	t.Run("rejects_bad_jobs_and_adds_none_of_the_batch", func(t *testing.T) {
		require.Error(t, s.Register(cron.Job{Name: "test.ok", Schedule: "@hourly", Run: nop},
			cron.Job{Name: "test.bad", Schedule: "every hour", Run: nop}))
		require.Error(t, s.Register(cron.Job{Name: "test.norun", Schedule: "@hourly"}))
		require.Error(t, s.Register(cron.Job{Schedule: "@hourly", Run: nop}))
		require.NoError(t, s.Register(cron.Job{Name: "test.ok", Schedule: "@hourly", Run: nop}), "test.ok was not added")
	})
	t.Run("rejects_registration_after_start", func(t *testing.T) {
		require.NoError(t, s.Start(context.Background()))
		require.Error(t, s.Register(cron.Job{Name: "test.late", Schedule: "@hourly", Run: nop}))
	})
}

func TestConfig(t *testing.T) {
	t.Parallel()

	t.Run("a_disabled_job_does_not_run", func(t *testing.T) {
		t.Parallel()
		db, clock, cfg := dbtest.New(t), newClock(), testConfig()
		cfg.Disabled = append(cfg.Disabled, "test.off")
		s := newScheduler(t, db, clock, "r", cfg)
		ran := make(chan string, 10)
		job := func(name string) cron.Job {
			return cron.Job{Name: name, Schedule: "@every 1s", Run: func(context.Context) error { ran <- name; return nil }}
		}
		require.NoError(t, s.Register(job("test.off"), job("test.on")))
		require.NoError(t, s.Start(context.Background()))
		for range 3 {
			clock.BlockUntil(t, 1) // test.on alone waits
			clock.Advance(time.Second)
		}
		clock.BlockUntil(t, 1)
		close(ran)
		var names []string
		for n := range ran {
			names = append(names, n)
		}
		assert.Equal(t, []string{"test.on", "test.on", "test.on"}, names)

		jobs, err := s.Jobs(context.Background())
		require.NoError(t, err)
		off := find(t, jobs, "test.off")
		assert.False(t, off.Enabled)
		assert.Nil(t, off.NextRun)
		assert.True(t, find(t, jobs, "test.on").Enabled)
	})

	t.Run("a_schedule_override_applies", func(t *testing.T) {
		t.Parallel()
		db, clock, cfg := dbtest.New(t), newClock(), testConfig()
		cfg.Schedules = []string{"test.job=@every 2s"}
		s := newScheduler(t, db, clock, "r", cfg)
		require.NoError(t, s.Register(cron.Job{Name: "test.job", Schedule: "@every 1s", Run: nop}))
		require.NoError(t, s.Start(context.Background()))

		jobs, err := s.Jobs(context.Background())
		require.NoError(t, err)
		j := find(t, jobs, "test.job")
		assert.Equal(t, "@every 2s", j.Schedule)
		require.NotNil(t, j.NextRun)
		assert.Equal(t, t0.Add(2*time.Second), *j.NextRun)

		clock.BlockUntil(t, 1)
		clock.Advance(time.Second)
		clock.Advance(time.Second)
		clock.BlockUntil(t, 1)
		runs := runsOf(t, db, "test.job")
		require.Len(t, runs, 1)
		assert.True(t, t0.Add(2*time.Second).Equal(runs[0].Slot))
	})

	t.Run("cron_disabled_runs_nothing_on_schedule_but_allows_manual_runs", func(t *testing.T) {
		t.Parallel()
		db, cfg := dbtest.New(t), testConfig()
		cfg.Enabled = false
		s := newScheduler(t, db, cron.SystemClock{}, "r", cfg)
		done := make(chan struct{})
		require.NoError(t, s.Register(cron.Job{Name: "test.job", Schedule: "@every 1ms",
			Run: func(context.Context) error { close(done); return nil }}))
		require.NoError(t, s.Start(context.Background()))
		_, err := s.RunNow(context.Background(), "test.job")
		require.NoError(t, err)
		<-done
		require.NoError(t, s.Stop(context.Background()))
		runs := runsOf(t, db, "test.job")
		require.Len(t, runs, 1)
		assert.True(t, runs[0].Manual)
	})
}

func find(tb testing.TB, jobs []cron.JobInfo, name string) cron.JobInfo {
	tb.Helper()
	for _, j := range jobs {
		if j.Name == name {
			return j
		}
	}
	tb.Fatalf("job %s not listed", name)
	return cron.JobInfo{}
}

func TestRun(t *testing.T) {
	t.Parallel()

	t.Run("a_panic_is_recorded_and_the_scheduler_goes_on", func(t *testing.T) {
		t.Parallel()
		db, clock := dbtest.New(t), newClock()
		s := newScheduler(t, db, clock, "r", testConfig())
		calls := 0
		require.NoError(t, s.Register(cron.Job{Name: "test.panic", Schedule: "@every 1s", Run: func(context.Context) error {
			calls++
			if calls == 1 {
				panic("boom")
			}
			return nil
		}}))
		require.NoError(t, s.Start(context.Background()))
		for range 2 {
			clock.BlockUntil(t, 1)
			clock.Advance(time.Second)
		}
		clock.BlockUntil(t, 1)
		runs := runsOf(t, db, "test.panic")
		assert.Equal(t, []cron.Status{cron.StatusPanicked, cron.StatusSucceeded}, statuses(runs))
		assert.Contains(t, runs[0].Error, "panic: boom")
	})

	t.Run("the_timeout_cancels_the_context", func(t *testing.T) {
		t.Parallel()
		db, clock := dbtest.New(t), newClock()
		s := newScheduler(t, db, clock, "r", testConfig())
		got := make(chan error, 1)
		require.NoError(t, s.Register(cron.Job{Name: "test.slow", Schedule: "@every 1s", Timeout: 20 * time.Millisecond,
			Run: func(ctx context.Context) error {
				<-ctx.Done()
				got <- ctx.Err()
				return ctx.Err()
			}}))
		require.NoError(t, s.Start(context.Background()))
		clock.BlockUntil(t, 1)
		clock.Advance(time.Second)
		clock.BlockUntil(t, 1)
		assert.ErrorIs(t, <-got, context.DeadlineExceeded)
		runs := runsOf(t, db, "test.slow")
		require.Len(t, runs, 1)
		assert.Equal(t, cron.StatusTimedOut, runs[0].Status)
	})

	t.Run("an_error_is_recorded_as_failed", func(t *testing.T) {
		t.Parallel()
		db := dbtest.New(t)
		s := newScheduler(t, db, newClock(), "r", testConfig())
		require.NoError(t, s.Register(cron.Job{Name: "test.fail", Schedule: "@hourly",
			Run: func(context.Context) error { return errors.New("no luck") }}))
		id, err := s.RunNow(context.Background(), "test.fail")
		require.NoError(t, err)
		require.NoError(t, s.Stop(context.Background()))
		runs := runsOf(t, db, "test.fail")
		require.Len(t, runs, 1)
		assert.Equal(t, id, runs[0].ID)
		assert.Equal(t, cron.StatusFailed, runs[0].Status)
		assert.Equal(t, "no luck", runs[0].Error)
	})

	t.Run("a_slot_is_skipped_while_the_previous_run_is_going", func(t *testing.T) {
		t.Parallel()
		db, clock := dbtest.New(t), newClock()
		s := newScheduler(t, db, clock, "r", testConfig())
		release := make(chan struct{})
		require.NoError(t, s.Register(cron.Job{Name: "test.block", Schedule: "@every 1s",
			Run: func(context.Context) error { <-release; return nil }}))
		require.NoError(t, s.Start(context.Background()))
		_, err := s.RunNow(context.Background(), "test.block")
		require.NoError(t, err)
		_, err = s.RunNow(context.Background(), "test.block")
		assert.True(t, apperr.Is(err, "job_running"), "a second manual run: %v", err)

		clock.BlockUntil(t, 1)
		clock.Advance(time.Second)
		clock.BlockUntil(t, 1)
		close(release)
		require.NoError(t, s.Stop(context.Background()))
		runs := runsOf(t, db, "test.block")
		require.Len(t, runs, 2)
		byManual := map[bool]cron.Status{runs[0].Manual: runs[0].Status, runs[1].Manual: runs[1].Status}
		assert.Equal(t, map[bool]cron.Status{true: cron.StatusSucceeded, false: cron.StatusSkipped}, byManual)
	})

	t.Run("stop_waits_for_running_jobs", func(t *testing.T) {
		t.Parallel()
		db := dbtest.New(t)
		s := newScheduler(t, db, newClock(), "r", testConfig())
		started, release := make(chan struct{}), make(chan struct{})
		require.NoError(t, s.Register(cron.Job{Name: "test.block", Schedule: "@hourly",
			Run: func(context.Context) error { close(started); <-release; return nil }}))
		_, err := s.RunNow(context.Background(), "test.block")
		require.NoError(t, err)
		<-started
		stopped := make(chan error, 1)
		go func() { stopped <- s.Stop(context.Background()) }()
		require.Never(t, func() bool { return len(stopped) > 0 }, 100*time.Millisecond, 5*time.Millisecond)
		close(release)
		require.NoError(t, <-stopped)
		assert.Equal(t, []cron.Status{cron.StatusSucceeded}, statuses(runsOf(t, db, "test.block")))
		_, err = s.RunNow(context.Background(), "test.block")
		assert.True(t, apperr.Is(err, "scheduler_stopped"))
	})

	t.Run("stop_gives_up_at_its_deadline_and_cancels_runs", func(t *testing.T) {
		t.Parallel()
		db := dbtest.New(t)
		s := newScheduler(t, db, newClock(), "r", testConfig())
		started, cancelled := make(chan struct{}), make(chan struct{})
		require.NoError(t, s.Register(cron.Job{Name: "test.block", Schedule: "@hourly",
			Run: func(ctx context.Context) error { close(started); <-ctx.Done(); close(cancelled); return ctx.Err() }}))
		_, err := s.RunNow(context.Background(), "test.block")
		require.NoError(t, err)
		<-started
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, s.Stop(ctx), context.Canceled)
		<-cancelled
	})
}

func TestStart(t *testing.T) {
	t.Parallel()

	t.Run("marks_runs_this_replica_left_running_as_failed", func(t *testing.T) {
		t.Parallel()
		db := dbtest.New(t)
		require.NoError(t, db.Tx(context.Background(), func(tx *gorm.DB) error {
			return tx.Create(&cron.Run{ID: "r1", Job: "test.job", Slot: t0, Replica: "r", StartedAt: t0, Status: cron.StatusRunning}).Error
		}))
		s := newScheduler(t, db, newClock(), "r", testConfig())
		require.NoError(t, s.Start(context.Background()))
		runs := runsOf(t, db, "test.job")
		require.Len(t, runs, 1)
		assert.Equal(t, cron.StatusFailed, runs[0].Status)
		assert.Contains(t, runs[0].Error, "interrupted")
	})

	t.Run("cleanup_deletes_history_and_claims_past_retention", func(t *testing.T) {
		t.Parallel()
		db, clock, cfg := dbtest.New(t), newClock(), testConfig()
		cfg.HistoryRetention = time.Hour
		s := newScheduler(t, db, clock, "r", cfg)
		require.NoError(t, s.Register(cron.Job{Name: "test.job", Schedule: "@every 1s", Run: nop}))
		require.NoError(t, s.Start(context.Background()))
		clock.BlockUntil(t, 1)
		clock.Advance(time.Second)
		clock.BlockUntil(t, 1)
		require.Len(t, runsOf(t, db, "test.job"), 1)

		clock.Advance(2 * time.Hour) // one more run, at the new now
		clock.BlockUntil(t, 1)
		_, err := s.RunNow(context.Background(), cron.CleanupJobName)
		require.NoError(t, err)
		require.NoError(t, s.Stop(context.Background()))
		runs := runsOf(t, db, "test.job")
		require.Len(t, runs, 1, "only the recent run is kept")
		assert.True(t, runs[0].Slot.After(t0.Add(time.Hour)))
		var claims int64
		require.NoError(t, db.Read(context.Background()).Table("cron_claims").Count(&claims).Error)
		assert.Equal(t, int64(1), claims)
	})
}
