package jobs

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/cron"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/httpx"
)

// recentFailures is how many failed or dead jobs Stats lists.
const recentFailures = 20

// Count is the number of jobs of one kind in one state.
type Count struct {
	Kind  string `json:"kind"`
	State string `json:"state"`
	Count int64  `json:"count"`
}

// Failure is a failed (awaiting retry) or dead job with its last error.
type Failure struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	State       string    `json:"state"`
	Attempts    int       `json:"attempts"`
	MaxAttempts int       `json:"max_attempts"`
	LastError   string    `json:"last_error"`
	RunAt       time.Time `json:"run_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Stats is the admin view of the queue.
type Stats struct {
	Counts         []Count   `json:"counts"`
	RecentFailures []Failure `json:"recent_failures"`
}

// Stats counts jobs by kind and state and lists the most recent failures.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	counts, err := q.counts(ctx, "")
	if err != nil {
		return Stats{}, err
	}
	fails := []Failure{}
	err = q.db.Read(ctx).Raw(`SELECT id, kind, state, attempts, max_attempts, last_error, run_at, updated_at
		FROM jobs_queue WHERE state IN ('failed', 'dead') ORDER BY updated_at DESC, id DESC LIMIT ?`,
		recentFailures).Scan(&fails).Error
	if err != nil {
		return Stats{}, fmt.Errorf("jobs: stats: failures: %w", err)
	}
	for i := range fails {
		if fails[i].MaxAttempts <= 0 {
			fails[i].MaxAttempts = q.cfg.MaxAttempts
		}
		fails[i].RunAt, fails[i].UpdatedAt = fails[i].RunAt.UTC(), fails[i].UpdatedAt.UTC()
	}
	return Stats{Counts: counts, RecentFailures: fails}, nil
}

func (q *Queue) counts(ctx context.Context, where string) ([]Count, error) {
	counts := []Count{}
	err := q.db.Read(ctx).Raw(`SELECT kind, state, COUNT(*) AS count FROM jobs_queue ` + where +
		` GROUP BY kind, state ORDER BY kind, state`).Scan(&counts).Error
	if err != nil {
		return nil, fmt.Errorf("jobs: counts: %w", err)
	}
	return counts, nil
}

// Retry puts a failed or dead job back in the queue to run now, with its
// attempts reset. Errors: NotFound job_not_found; Conflict job_not_retryable
// when it is queued, running or succeeded; Conflict job_duplicate when
// another unfinished job holds its dedupe key.
func (q *Queue) Retry(ctx context.Context, id string) error {
	now := q.now()
	err := q.db.Tx(ctx, func(tx *gorm.DB) error {
		var states []string
		if err := tx.Raw(`SELECT state FROM jobs_queue WHERE id = ?`, id).Scan(&states).Error; err != nil {
			return err
		}
		if len(states) == 0 {
			return apperr.NotFoundf("job_not_found", "Job")
		}
		if states[0] != StateFailed && states[0] != StateDead {
			return apperr.E(apperr.Conflict, "job_not_retryable",
				fmt.Sprintf("The job is %s; only failed or dead jobs can be retried.", states[0]))
		}
		res := tx.Exec(`UPDATE jobs_queue SET state = 'queued', attempts = 0, run_at = ?, finished_at = NULL,
			lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE id = ? AND state IN ('failed', 'dead')`,
			now, now, id)
		if res.Error == nil && res.RowsAffected == 0 {
			return apperr.E(apperr.Conflict, "job_not_retryable", "The job changed state; try again.")
		}
		return res.Error
	})
	if database.IsUniqueViolation(err) {
		return apperr.E(apperr.Conflict, "job_duplicate", "Another pending job has the same dedupe key.")
	}
	if err != nil {
		return fmt.Errorf("jobs: retry %s: %w", id, err)
	}
	return nil
}

// RegisterAdminRoutes adds GET /queue and POST /queue/:job_id/retry to rg;
// the caller mounts them under /api/v1/admin behind admin authentication.
func (q *Queue) RegisterAdminRoutes(rg gin.IRoutes) {
	rg.GET("/queue", httpx.Handle(func(c *gin.Context) error {
		return httpx.Respond(c, http.StatusOK)(q.Stats(c.Request.Context()))
	}))
	rg.POST("/queue/:job_id/retry", httpx.Handle(func(c *gin.Context) error {
		return httpx.NoContent(c, q.Retry(c.Request.Context(), c.Param("job_id")))
	}))
}

// cleanupBatch bounds one delete so a large clean-up never holds SQLite's
// single writer for long.
const cleanupBatch = 1000

// Cleanup deletes succeeded jobs that finished before before, in batches,
// and returns how many it deleted. It suits a daily cron job:
//
//	jobs.Cleanup(ctx, db, time.Now().AddDate(0, 0, -7))
func Cleanup(ctx context.Context, db *database.DB, before time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := db.Tx(ctx, func(tx *gorm.DB) error {
			// updated_at equals finished_at for a succeeded job and has an index.
			res := tx.Exec(`DELETE FROM jobs_queue WHERE id IN (SELECT id FROM jobs_queue
				WHERE state = 'succeeded' AND updated_at < ? LIMIT ?)`, before.UTC(), cleanupBatch)
			n = res.RowsAffected
			return res.Error
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("jobs: cleanup: %w", err)
		}
		if n < cleanupBatch {
			return total, nil
		}
	}
}

// CleanupJob is the daily cron job deleting succeeded jobs after a week
// (dead ones stay for inspection).
func CleanupJob(db *database.DB) cron.Job {
	return cron.Job{Name: "jobs.cleanup", Schedule: "@daily", Run: func(ctx context.Context) error {
		_, err := Cleanup(ctx, db, time.Now().AddDate(0, 0, -7))
		return err
	}}
}
