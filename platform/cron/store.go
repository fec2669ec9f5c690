package cron

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database"
)

// Status is the state of a run.
type Status string

// Run statuses.
const (
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusTimedOut  Status = "timed_out"
	StatusPanicked  Status = "panicked"
	// StatusSkipped marks a slot claimed while the job's previous run was
	// still going; the job did not run.
	StatusSkipped Status = "skipped"
)

// Run is one row of run history.
type Run struct {
	ID         string     `json:"id"`
	Job        string     `json:"job"`
	Slot       time.Time  `json:"slot"`
	Manual     bool       `json:"manual"`
	Replica    string     `json:"replica"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Status     Status     `json:"status"`
	Error      string     `json:"error"`
}

// TableName is the run history table.
func (Run) TableName() string { return "cron_runs" }

// store holds the scheduler's queries.
type store struct{ db *database.DB }

// claim inserts the claim row for (job, slot) and, when this replica wins it,
// the run row, in one transaction. It reports whether the claim was won. When
// running reports another run of the job as still going (on any replica), the
// run row is recorded as skipped instead of running.
func (s store) claim(ctx context.Context, run *Run, running func(tx *gorm.DB) (bool, error)) (bool, error) {
	won := false
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		won = false
		res := tx.Exec(`INSERT INTO cron_claims (job, slot, replica, claimed_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (job, slot) DO NOTHING`, run.Job, run.Slot, run.Replica, run.StartedAt)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return nil
		}
		won = true
		busy, err := running(tx)
		if err != nil {
			return err
		}
		run.Status, run.Error, run.FinishedAt = StatusRunning, "", nil
		if busy {
			run.Status, run.Error, run.FinishedAt = StatusSkipped, "the previous run was still going", &run.StartedAt
		}
		return tx.Create(run).Error
	})
	if err != nil {
		return false, fmt.Errorf("cron: claim %s at %s: %w", run.Job, run.Slot.Format(time.RFC3339Nano), err)
	}
	return won, nil
}

// busyElsewhere reports whether the job has a run marked running that started
// after since (older ones belong to a replica that died mid-run).
func busyElsewhere(tx *gorm.DB, job string, since time.Time) (bool, error) {
	var n int64
	err := tx.Model(&Run{}).Where("job = ? AND status = ? AND started_at > ?", job, StatusRunning, since).Count(&n).Error
	return n > 0, err
}

func (s store) insert(ctx context.Context, run *Run) error {
	if err := s.db.Tx(ctx, func(tx *gorm.DB) error { return tx.Create(run).Error }); err != nil {
		return fmt.Errorf("cron: record run of %s: %w", run.Job, err)
	}
	return nil
}

func (s store) finish(ctx context.Context, run *Run) error {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Run{}).Where("id = ?", run.ID).
			Updates(map[string]any{"status": run.Status, "error": run.Error, "finished_at": run.FinishedAt}).Error
	})
	if err != nil {
		return fmt.Errorf("cron: finish run of %s: %w", run.Job, err)
	}
	return nil
}

// interrupt marks the runs this replica left running (it died mid-run) as failed.
func (s store) interrupt(ctx context.Context, replica string, now time.Time) error {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Run{}).Where("replica = ? AND status = ?", replica, StatusRunning).
			Updates(map[string]any{"status": StatusFailed, "error": "interrupted: the replica stopped mid-run", "finished_at": now}).Error
	})
	if err != nil {
		return fmt.Errorf("cron: mark interrupted runs: %w", err)
	}
	return nil
}

// lastRun returns the job's latest run, or nil.
func (s store) lastRun(ctx context.Context, job string) (*Run, error) {
	var runs []Run
	err := s.db.Read(ctx).Where("job = ?", job).Order("started_at DESC").Limit(1).Find(&runs).Error
	if err != nil {
		return nil, fmt.Errorf("cron: last run of %s: %w", job, err)
	}
	if len(runs) == 0 {
		return nil, nil
	}
	return &runs[0], nil
}

// Runs returns the job's latest runs, newest first.
func (s *Scheduler) Runs(ctx context.Context, job string, limit int) ([]Run, error) {
	var runs []Run
	err := s.store.db.Read(ctx).Where("job = ?", job).Order("started_at DESC").Limit(limit).Find(&runs).Error
	if err != nil {
		return nil, fmt.Errorf("cron: runs of %s: %w", job, err)
	}
	return runs, nil
}

// cleanup deletes finished runs and claims older than before.
func (s store) cleanup(ctx context.Context, before time.Time) error {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("started_at < ? AND status <> ?", before, StatusRunning).Delete(&Run{}).Error; err != nil {
			return err
		}
		return tx.Exec(`DELETE FROM cron_claims WHERE slot < ?`, before).Error
	})
	if err != nil {
		return fmt.Errorf("cron: cleanup: %w", err)
	}
	return nil
}
