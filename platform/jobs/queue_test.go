package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/jobs"
)

func TestEnqueue(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()

		t.Run("a_rolled_back_enqueue_never_runs", func(t *testing.T) {
			q := newQueue(t, db, testConfig())
			var seen calls
			require.NoError(t, q.Handle("rollback", func(_ context.Context, j jobs.JobInfo) error {
				seen.add(j.ID)
				return nil
			}))
			var lost string
			err := db.Tx(ctx, func(tx *gorm.DB) (err error) {
				if lost, err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: "rollback", Payload: "lost"}); err != nil {
					return err
				}
				return errors.New("business change failed")
			})
			require.Error(t, err)
			require.NotEmpty(t, lost)
			// A job committed after the lost one runs; the lost one, due first, would have run before it.
			marker := enqueue(t, db, jobs.Job{Kind: "rollback", Payload: "kept"})
			start(t, q)
			waitState(t, db, marker, jobs.StateSucceeded)
			assert.Equal(t, map[string]int{marker: 1}, seen.get())
			assert.Zero(t, countJobs(t, db, "WHERE id = ?", lost))
		})

		t.Run("a_committed_job_runs_exactly_once_with_its_payload", func(t *testing.T) {
			type payload struct {
				MediaID string `json:"media_id"`
			}
			q := newQueue(t, db, testConfig())
			var seen calls
			got := make(chan payload, 20)
			require.NoError(t, q.Handle("once", func(_ context.Context, j jobs.JobInfo) error {
				seen.add(j.ID)
				var p payload
				if err := j.Decode(&p); err != nil {
					return jobs.Permanent(err)
				}
				got <- p
				return nil
			}))
			start(t, q)
			ids := make([]string, 20)
			for i := range ids {
				ids[i] = enqueue(t, db, jobs.Job{Kind: "once", Payload: payload{MediaID: fmt.Sprint(i)}})
			}
			for _, id := range ids {
				row := waitState(t, db, id, jobs.StateSucceeded)
				assert.Equal(t, 1, row.Attempts)
				assert.NotNil(t, row.FinishedAt)
				assert.Nil(t, row.LeaseOwner)
			}
			counts := seen.get()
			require.Len(t, counts, len(ids))
			for _, id := range ids {
				assert.Equal(t, 1, counts[id], "job %s", id)
			}
			assert.Len(t, got, len(ids))
		})

		t.Run("a_dedupe_key_is_unique_among_unfinished_jobs", func(t *testing.T) {
			first := enqueue(t, db, jobs.Job{Kind: "dedupe", DedupeKey: "media:1:thumb"})
			again := enqueue(t, db, jobs.Job{Kind: "dedupe", DedupeKey: "media:1:thumb"})
			assert.Equal(t, first, again, "a pending duplicate returns the existing job")
			other := enqueue(t, db, jobs.Job{Kind: "dedupe", DedupeKey: "media:2:thumb"})
			assert.NotEqual(t, first, other)
			assert.Equal(t, int64(2), countJobs(t, db, "WHERE kind = 'dedupe'"))

			q := newQueue(t, db, testConfig())
			require.NoError(t, q.Handle("dedupe", func(context.Context, jobs.JobInfo) error { return nil }))
			start(t, q)
			waitState(t, db, first, jobs.StateSucceeded)
			next := enqueue(t, db, jobs.Job{Kind: "dedupe", DedupeKey: "media:1:thumb"})
			assert.NotEqual(t, first, next, "a finished job frees its key")
			waitState(t, db, next, jobs.StateSucceeded)
		})

		t.Run("rejects_a_job_without_a_kind", func(t *testing.T) {
			err := db.Tx(ctx, func(tx *gorm.DB) error {
				_, err := jobs.Enqueue(ctx, tx, jobs.Job{})
				return err
			})
			assert.Error(t, err)
		})
	})
}

func TestFailures(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Run("retries_with_backoff_then_succeeds", func(t *testing.T) {
			q := newQueue(t, db, testConfig())
			require.NoError(t, q.Handle("flaky", func(_ context.Context, j jobs.JobInfo) error {
				if j.Attempt < 3 {
					return fmt.Errorf("attempt %d failed", j.Attempt)
				}
				return nil
			}))
			start(t, q)
			id := enqueue(t, db, jobs.Job{Kind: "flaky"})
			row := waitState(t, db, id, jobs.StateSucceeded)
			assert.Equal(t, 3, row.Attempts)
			assert.Equal(t, "attempt 2 failed", row.LastError, "the last failure stays visible")
		})

		t.Run("dead_letters_after_max_attempts", func(t *testing.T) {
			q := newQueue(t, db, testConfig())
			var seen calls
			require.NoError(t, q.Handle("broken", func(_ context.Context, j jobs.JobInfo) error {
				seen.add(j.ID)
				return errors.New("upstream refused")
			}))
			start(t, q)
			id := enqueue(t, db, jobs.Job{Kind: "broken", MaxAttempts: 2})
			defaulted := enqueue(t, db, jobs.Job{Kind: "broken"})
			row := waitState(t, db, id, jobs.StateDead)
			assert.Equal(t, 2, row.Attempts)
			assert.Equal(t, "upstream refused", row.LastError)
			assert.NotNil(t, row.FinishedAt)
			assert.Equal(t, 3, waitState(t, db, defaulted, jobs.StateDead).Attempts, "config max_attempts applies")
			assert.Equal(t, map[string]int{id: 2, defaulted: 3}, seen.get())
		})

		t.Run("permanent_errors_and_panics_dead_letter", func(t *testing.T) {
			q := newQueue(t, db, testConfig())
			require.NoError(t, q.Handle("bad_input", func(context.Context, jobs.JobInfo) error {
				return jobs.Permanent(errors.New("payload is not a media id"))
			}))
			require.NoError(t, q.Handle("panics", func(context.Context, jobs.JobInfo) error { panic("boom") }))
			start(t, q)
			permanent := enqueue(t, db, jobs.Job{Kind: "bad_input", MaxAttempts: 5})
			panicky := enqueue(t, db, jobs.Job{Kind: "panics", MaxAttempts: 1})
			row := waitState(t, db, permanent, jobs.StateDead)
			assert.Equal(t, 1, row.Attempts)
			assert.Equal(t, "payload is not a media id", row.LastError)
			assert.Contains(t, waitState(t, db, panicky, jobs.StateDead).LastError, "panicked: boom")
		})

		t.Run("a_failed_attempt_waits_for_its_backoff", func(t *testing.T) {
			clock := newFakeClock()
			cfg := testConfig()
			cfg.BackoffBase, cfg.BackoffMax = time.Hour, 4*time.Hour
			q := newQueue(t, db, cfg, func(d *jobs.Deps) { d.Clock = clock.Now })
			ran := make(chan time.Time, 2)
			require.NoError(t, q.Handle("later", func(_ context.Context, j jobs.JobInfo) error {
				ran <- clock.Now()
				if j.Attempt == 1 {
					return errors.New("not yet")
				}
				return nil
			}))
			start(t, q)
			var id string
			require.NoError(t, db.Tx(context.Background(), func(tx *gorm.DB) (err error) {
				id, err = q.Enqueue(context.Background(), tx, jobs.Job{Kind: "later"})
				return err
			}))
			failedAt := recv(t, ran)
			row := waitState(t, db, id, jobs.StateFailed)
			assert.False(t, row.RunAt.Before(failedAt), "run_at %v before %v", row.RunAt, failedAt)
			assert.False(t, row.RunAt.After(failedAt.Add(time.Hour)), "first retry within base")

			clock.Advance(time.Hour + time.Second)
			retriedAt := recv(t, ran)
			assert.False(t, retriedAt.Before(row.RunAt), "the retry waited for run_at")
			assert.Equal(t, 2, waitState(t, db, id, jobs.StateSucceeded).Attempts)
		})
	})
}

func TestQueue(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	noop := func(context.Context, jobs.JobInfo) error { return nil }

	t.Run("rejects_duplicate_kinds_and_late_registration", func(t *testing.T) {
		q := newQueue(t, db, testConfig())
		require.NoError(t, q.Handle("a", noop))
		assert.Error(t, q.Handle("a", noop))
		start(t, q)
		assert.Error(t, q.Handle("b", noop))
		assert.Error(t, q.Start(context.Background()))
	})

	t.Run("rejects_an_incomplete_config", func(t *testing.T) {
		cfg := testConfig()
		cfg.Lease = 0
		_, err := jobs.New(jobs.Deps{DB: db, Config: cfg})
		assert.Error(t, err)
	})

	t.Run("stop_waits_for_running_handlers", func(t *testing.T) {
		q := newQueue(t, db, testConfig())
		started, release := make(chan struct{}), make(chan struct{})
		require.NoError(t, q.Handle("slow", func(context.Context, jobs.JobInfo) error {
			close(started)
			<-release
			return nil
		}))
		require.NoError(t, q.Start(context.Background()))
		id := enqueue(t, db, jobs.Job{Kind: "slow"})
		recv(t, started)
		stopped := make(chan error, 1)
		go func() { stopped <- q.Stop(context.Background()) }()
		close(release)
		require.NoError(t, recv(t, stopped))
		assert.Equal(t, jobs.StateSucceeded, getJob(t, db, id).State, "the result was saved before Stop returned")
	})

	t.Run("stop_is_bounded_and_cancels_handlers", func(t *testing.T) {
		q := newQueue(t, db, testConfig())
		started, cancelled := make(chan struct{}), make(chan struct{})
		require.NoError(t, q.Handle("stuck", func(ctx context.Context, _ jobs.JobInfo) error {
			close(started)
			<-ctx.Done()
			close(cancelled)
			return ctx.Err()
		}))
		require.NoError(t, q.Start(context.Background()))
		id := enqueue(t, db, jobs.Job{Kind: "stuck"})
		recv(t, started)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, q.Stop(ctx), context.DeadlineExceeded)
		recv(t, cancelled)
		waitState(t, db, id, jobs.StateFailed)
	})
}
