package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/jobs"
)

// deadJob enqueues a job of kind and runs it to dead with a failing handler
// on a queue that is stopped afterwards.
func deadJob(tb testing.TB, db *database.DB, kind string) string {
	tb.Helper()
	q := newQueue(tb, db, testConfig())
	require.NoError(tb, q.Handle(kind, func(context.Context, jobs.JobInfo) error { return errors.New("disk full") }))
	require.NoError(tb, q.Start(context.Background()))
	id := enqueue(tb, db, jobs.Job{Kind: kind, MaxAttempts: 1, DedupeKey: "key:" + kind})
	waitState(tb, db, id, jobs.StateDead)
	require.NoError(tb, q.Stop(context.Background()))
	return id
}

func TestRetry(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		q := newQueue(t, db, testConfig())

		t.Run("requeues_a_dead_job_with_attempts_reset", func(t *testing.T) {
			id := deadJob(t, db, "retry_me")
			require.NoError(t, q.Retry(ctx, id))
			row := getJob(t, db, id)
			assert.Equal(t, jobs.StateQueued, row.State)
			assert.Zero(t, row.Attempts)
			assert.Nil(t, row.FinishedAt)

			worker := newQueue(t, db, testConfig())
			require.NoError(t, worker.Handle("retry_me", func(context.Context, jobs.JobInfo) error { return nil }))
			start(t, worker)
			assert.Equal(t, 1, waitState(t, db, id, jobs.StateSucceeded).Attempts)
		})

		t.Run("answers_not_found_and_conflict", func(t *testing.T) {
			assert.True(t, apperr.Is(q.Retry(ctx, "no-such-job"), "job_not_found"))

			queued := enqueue(t, db, jobs.Job{Kind: "retry_busy"})
			assert.True(t, apperr.Is(q.Retry(ctx, queued), "job_not_retryable"))
			held, err := q.Claim(ctx, "retry_busy", 1)
			require.NoError(t, err)
			require.Len(t, held, 1)
			err = q.Retry(ctx, queued)
			assert.Equal(t, apperr.Conflict, apperr.KindOf(err))
			assert.True(t, apperr.Is(err, "job_not_retryable"), "running: %v", err)
		})

		t.Run("refuses_when_a_pending_job_holds_the_dedupe_key", func(t *testing.T) {
			id := deadJob(t, db, "retry_dup")
			enqueue(t, db, jobs.Job{Kind: "retry_dup", DedupeKey: "key:retry_dup"})
			assert.True(t, apperr.Is(q.Retry(ctx, id), "job_duplicate"))
		})
	})
}

func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		q := newQueue(t, db, testConfig())
		gin.SetMode(gin.TestMode)
		r := gin.New()
		q.RegisterAdminRoutes(r.Group("/api/v1/admin"))
		dead := deadJob(t, db, "admin_dead")
		enqueue(t, db, jobs.Job{Kind: "admin_waiting"})

		do := func(method, path string) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(method, path, nil))
			return w
		}

		w := do(http.MethodGet, "/api/v1/admin/queue")
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		var stats jobs.Stats
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &stats))
		assert.Contains(t, stats.Counts, jobs.Count{Kind: "admin_dead", State: jobs.StateDead, Count: 1})
		assert.Contains(t, stats.Counts, jobs.Count{Kind: "admin_waiting", State: jobs.StateQueued, Count: 1})
		require.Len(t, stats.RecentFailures, 1)
		assert.Equal(t, dead, stats.RecentFailures[0].ID)
		assert.Equal(t, "disk full", stats.RecentFailures[0].LastError)

		scenarios := []struct {
			name, path string
			status     int
			body       string
		}{
			{"retries_a_dead_job", "/api/v1/admin/queue/" + dead + "/retry", http.StatusNoContent, ""},
			{"a_queued_job_is_a_conflict", "/api/v1/admin/queue/" + dead + "/retry", http.StatusConflict, "job_not_retryable"},
			{"an_unknown_job_is_not_found", "/api/v1/admin/queue/nope/retry", http.StatusNotFound, "job_not_found"},
		}
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				w := do(http.MethodPost, sc.path)
				assert.Equal(t, sc.status, w.Code, w.Body.String())
				assert.Contains(t, w.Body.String(), sc.body)
			})
		}
	})
}

func TestCleanup(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		q := newQueue(t, db, testConfig())
		require.NoError(t, q.Handle("tidy", func(context.Context, jobs.JobInfo) error { return nil }))
		start(t, q)
		done := enqueue(t, db, jobs.Job{Kind: "tidy"})
		waitState(t, db, done, jobs.StateSucceeded)
		dead := deadJob(t, db, "tidy_dead")
		waiting := enqueue(t, db, jobs.Job{Kind: "tidy_waiting"})

		n, err := jobs.Cleanup(ctx, db, time.Now().Add(-time.Hour))
		require.NoError(t, err)
		assert.Zero(t, n, "recent jobs stay")

		n, err = jobs.Cleanup(ctx, db, time.Now().Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
		assert.Zero(t, countJobs(t, db, "WHERE id = ?", done))
		assert.Equal(t, int64(2), countJobs(t, db, "WHERE id IN (?, ?)", dead, waiting), "only succeeded jobs go")
	})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	reg := prometheus.NewRegistry()
	q := newQueue(t, db, testConfig(), func(d *jobs.Deps) { d.Metrics = reg })
	require.NoError(t, q.Handle("measured", func(context.Context, jobs.JobInfo) error { return nil }))
	start(t, q)
	waitState(t, db, enqueue(t, db, jobs.Job{Kind: "measured"}), jobs.StateSucceeded)
	enqueue(t, db, jobs.Job{Kind: "unhandled"})

	// The attempt is counted just after its result is saved.
	var got map[string]float64
	require.Eventually(t, func() bool {
		got = gather(t, reg)
		return got["fitloop_jobs_processed_total,kind=measured,outcome=succeeded"] == 1
	}, wait, 5*time.Millisecond)
	assert.Equal(t, 1.0, got["fitloop_jobs_processed_total,kind=measured,outcome=succeeded"])
	assert.Equal(t, 1.0, got["fitloop_jobs_handler_duration_seconds,kind=measured"])
	assert.Equal(t, 1.0, got["fitloop_jobs_queue_depth,kind=unhandled,state=queued"])
	_, counted := got["fitloop_jobs_queue_depth,kind=measured,state=succeeded"]
	assert.False(t, counted, "succeeded jobs are not part of the depth")
}

// gather reads reg into "name,label=value,..." → value (a histogram's count).
func gather(tb testing.TB, reg *prometheus.Registry) map[string]float64 {
	tb.Helper()
	families, err := reg.Gather()
	require.NoError(tb, err)
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				got[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				got[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				got[key] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return got
}
