package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// unfinished lists the states a dedupe key is unique among; it matches the
// predicate of the jobs_queue_dedupe index.
const unfinished = "('queued', 'running', 'failed')"

// Enqueue adds job to the queue through the caller's transaction tx, so the
// job is committed (and can run) only if the caller's change commits. With a
// DedupeKey that an unfinished job already holds, it adds nothing and returns
// that job's ID. It stamps times with time.Now; see Queue.Enqueue for the
// queue's clock.
func Enqueue(ctx context.Context, tx *gorm.DB, job Job) (string, error) {
	return enqueue(ctx, tx, job, time.Now().UTC().Truncate(time.Microsecond))
}

// Enqueue is the package Enqueue with the queue's clock.
func (q *Queue) Enqueue(ctx context.Context, tx *gorm.DB, job Job) (string, error) {
	return enqueue(ctx, tx, job, q.now())
}

func enqueue(ctx context.Context, tx *gorm.DB, job Job, now time.Time) (string, error) {
	if job.Kind == "" {
		return "", errors.New("jobs: enqueue: empty kind")
	}
	if job.MaxAttempts < 0 {
		return "", fmt.Errorf("jobs: enqueue %s: negative max attempts", job.Kind)
	}
	payload, err := json.Marshal(job.Payload)
	if err != nil {
		return "", fmt.Errorf("jobs: enqueue %s: payload: %w", job.Kind, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("jobs: enqueue %s: id: %w", job.Kind, err)
	}
	runAt := job.RunAt.UTC().Truncate(time.Microsecond)
	if job.RunAt.IsZero() {
		runAt = now
	}
	var key *string
	if job.DedupeKey != "" {
		key = &job.DedupeKey
	}
	tx = tx.WithContext(ctx)
	// DO NOTHING without a conflict target covers the partial dedupe index on
	// both dialects and, unlike a failed INSERT, does not abort a PostgreSQL
	// transaction; it waits for a concurrent insert of the same key to settle.
	res := tx.Exec(`INSERT INTO jobs_queue (id, kind, payload, state, attempts, max_attempts, run_at,
		dedupe_key, last_error, created_at, updated_at)
		VALUES (?, ?, ?, 'queued', 0, ?, ?, ?, '', ?, ?) ON CONFLICT DO NOTHING`,
		id.String(), job.Kind, string(payload), job.MaxAttempts, runAt, key, now, now)
	if res.Error != nil {
		return "", fmt.Errorf("jobs: enqueue %s: %w", job.Kind, res.Error)
	}
	if res.RowsAffected == 1 {
		return id.String(), nil
	}
	var existing []string
	err = tx.Raw(`SELECT id FROM jobs_queue WHERE dedupe_key = ? AND state IN `+unfinished+` LIMIT 1`,
		job.DedupeKey).Scan(&existing).Error
	if err != nil {
		return "", fmt.Errorf("jobs: enqueue %s: find duplicate: %w", job.Kind, err)
	}
	if len(existing) == 0 {
		return "", fmt.Errorf("jobs: enqueue %s: insert ignored without a pending duplicate", job.Kind)
	}
	return existing[0], nil
}
