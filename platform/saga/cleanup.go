package saga

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/cron"
	"github.com/fitloop/fitloop/platform/database"
)

// cleanupBatch bounds one delete, so the cleanup never holds the writer long.
const cleanupBatch = 500

// Cleanup deletes sagas that ended completed or compensated before the given
// time, with their step logs, and the effect keys of sagas that can no longer
// run (finished or gone). Sagas parked as needs_attention are kept until an
// operator deals with them, and so are their effect keys. It returns the
// number of sagas deleted.
func Cleanup(ctx context.Context, db *database.DB, before time.Time) (int, error) {
	total := 0
	for {
		var n int64
		err := db.Tx(ctx, func(tx *gorm.DB) error {
			var ids []string
			if err := tx.Model(&instanceRow{}).
				Where("state IN ? AND finished_at < ?", []State{Completed, Compensated}, before.UTC()).
				Limit(cleanupBatch).Pluck("id", &ids).Error; err != nil {
				return err
			}
			if len(ids) == 0 {
				return nil
			}
			if err := tx.Where("saga_id IN ?", ids).Delete(&stepRow{}).Error; err != nil {
				return err
			}
			res := tx.Where("id IN ?", ids).Delete(&instanceRow{})
			n = res.RowsAffected
			return res.Error
		})
		if err != nil {
			return total, fmt.Errorf("saga: cleanup: %w", err)
		}
		total += int(n)
		if n < cleanupBatch {
			break
		}
	}
	// An effect key is "<saga id>:<step>"; saga ids are 36-character UUIDs.
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`DELETE FROM saga_effects WHERE created_at < ? AND substr(idem_key, 1, 36) NOT IN
			(SELECT id FROM saga_instances WHERE state IN (?, ?, ?))`,
			before.UTC(), Running, Compensating, NeedsAttention).Error
	})
	if err != nil {
		return total, fmt.Errorf("saga: cleanup effects: %w", err)
	}
	return total, nil
}

// CleanupJob is the daily cron job deleting finished sagas older than
// retention.
func CleanupJob(db *database.DB, retention time.Duration) cron.Job {
	return cron.Job{Name: "saga.cleanup", Schedule: "@daily", Run: func(ctx context.Context) error {
		_, err := Cleanup(ctx, db, time.Now().Add(-retention))
		return err
	}}
}
