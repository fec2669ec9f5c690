package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database"
)

// errLeaseLost means another worker owns the job now (its lease expired and
// it was claimed again), so this worker's result is discarded.
var errLeaseLost = errors.New("jobs: lease lost")

// maxErrorLen bounds last_error; a handler's error can be arbitrarily long.
const maxErrorLen = 2000

// claimed is one job a worker holds; Owner and Attempts fence its writes.
type claimed struct {
	ID          string
	Kind        string
	Payload     string
	Attempts    int
	MaxAttempts int
	Owner       string `gorm:"-"`
}

// claimSQL takes up to n due jobs of one kind: queued or failed ones whose
// run_at has come, and running ones whose lease expired (their worker died).
// The %s fill in the row-locking clause: SKIP LOCKED on PostgreSQL lets replicas claim
// side by side without taking the same row; SQLite needs none, the single
// writer runs this transaction alone. On PostgreSQL, ARRAY(subquery) is an
// init plan run exactly once, so LIMIT bounds the claim.
const claimSQL = `UPDATE jobs_queue
SET state = 'running', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1, updated_at = ?
WHERE id %s (SELECT id FROM jobs_queue
	WHERE kind = ? AND ((state IN ('queued', 'failed') AND run_at <= ?) OR (state = 'running' AND lease_expires_at < ?))
	ORDER BY run_at LIMIT ? %s)%s
RETURNING id, kind, payload, attempts, max_attempts`

func (q *Queue) claimStatement() string {
	if q.db.Dialect() == database.Postgres {
		return fmt.Sprintf(claimSQL, "= ANY(ARRAY", "FOR UPDATE SKIP LOCKED", ")")
	}
	return fmt.Sprintf(claimSQL, "IN", "", "")
}

// dueSQL tells whether claimSQL would find anything.
const dueSQL = `SELECT id FROM jobs_queue WHERE kind = ? AND
	((state IN ('queued', 'failed') AND run_at <= ?) OR (state = 'running' AND lease_expires_at < ?)) LIMIT 1`

// claim leases up to n due jobs of kind to this queue. An idle poll only
// reads: it takes a write transaction (on SQLite, the one writer) only when
// a job is due.
func (q *Queue) claim(ctx context.Context, kind string, n int) ([]claimed, error) {
	now := q.now()
	var due []string
	if err := q.db.Read(ctx).Raw(dueSQL, kind, now, now).Scan(&due).Error; err != nil {
		return nil, fmt.Errorf("jobs: claim %s: %w", kind, err)
	}
	if len(due) == 0 {
		return nil, nil
	}
	var jobs []claimed
	err := q.db.Tx(ctx, func(tx *gorm.DB) error {
		jobs = jobs[:0]
		return tx.Raw(q.claimStatement(), q.owner, now.Add(q.cfg.Lease), now, kind, now, now, n).Scan(&jobs).Error
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: claim %s: %w", kind, err)
	}
	for i := range jobs {
		jobs[i].Owner = q.owner
		if jobs[i].MaxAttempts <= 0 {
			jobs[i].MaxAttempts = q.cfg.MaxAttempts
		}
	}
	return jobs, nil
}

// fenced runs an UPDATE of the job c that applies only while c's claim still
// holds, and reports errLeaseLost when it does not.
func (q *Queue) fenced(ctx context.Context, c claimed, set string, args ...any) error {
	args = append(args, c.ID, c.Owner, c.Attempts)
	var affected int64
	err := q.db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE jobs_queue SET `+set+
			` WHERE id = ? AND state = 'running' AND lease_owner = ? AND attempts = ?`, args...)
		affected = res.RowsAffected
		return res.Error
	})
	switch {
	case err != nil:
		return fmt.Errorf("jobs: update %s: %w", c.ID, err)
	case affected == 0:
		return errLeaseLost
	}
	return nil
}

// extendLease is the heartbeat of a running job.
func (q *Queue) extendLease(ctx context.Context, c claimed) error {
	now := q.now()
	return q.fenced(ctx, c, `lease_expires_at = ?, updated_at = ?`, now.Add(q.cfg.Lease), now)
}

// succeed marks the job done.
func (q *Queue) succeed(ctx context.Context, c claimed) error {
	now := q.now()
	return q.fenced(ctx, c, `state = 'succeeded', lease_owner = NULL, lease_expires_at = NULL,
		finished_at = ?, updated_at = ?`, now, now)
}

// fail records a failed attempt: failed with a retry time, or dead. It
// returns the state written.
func (q *Queue) fail(ctx context.Context, c claimed, cause error) (string, error) {
	now := q.now()
	msg := cause.Error()
	if len(msg) > maxErrorLen {
		// Cut at a byte count, then drop a split rune: PostgreSQL refuses
		// invalid UTF-8, and the result write would fail with it.
		msg = strings.ToValidUTF8(msg[:maxErrorLen], "")
	}
	if IsPermanent(cause) || c.Attempts >= c.MaxAttempts {
		return StateDead, q.fenced(ctx, c, `state = 'dead', lease_owner = NULL, lease_expires_at = NULL,
			last_error = ?, finished_at = ?, updated_at = ?`, msg, now, now)
	}
	runAt := now.Add(backoff(c.Attempts, q.cfg.BackoffBase, q.cfg.BackoffMax))
	return StateFailed, q.fenced(ctx, c, `state = 'failed', lease_owner = NULL, lease_expires_at = NULL,
		last_error = ?, run_at = ?, updated_at = ?`, msg, runAt, now)
}

// writeContext bounds a result write that must not be cut short by the
// queue stopping: the handler's work is done and its outcome should land.
func writeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
