package etl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/database"
)

// Run states and triggers.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusAbandoned = "abandoned" // its replica stopped before it finished

	TriggerCron  = "cron"
	TriggerAdmin = "admin"
	TriggerCLI   = "cli"

	// DefaultMaxRun is how long a run may take: it stops then (the next
	// one carries on from its watermarks), and a run still recorded as
	// running abandonGrace later is taken for abandoned (its replica
	// stopped mid-run).
	DefaultMaxRun = time.Hour
	// abandonGrace covers replicas' clocks and a batch committing as its
	// load stops: two loads never write at once (a batch merges a day's
	// staged rollups and writes the day back whole).
	abandonGrace = time.Minute
)

// ErrRunning is a load asked for while another one runs.
var ErrRunning = apperr.E(apperr.Conflict, "etl_running", "A warehouse load is running; try again when it ends.")

// Run is one load, as etl_runs keeps it.
type Run struct {
	ID         string     `json:"run_id"`
	Trigger    string     `json:"trigger"`
	Full       bool       `json:"full"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Stats      Stats      `json:"stats"`
	Error      string     `json:"error,omitempty"`
}

type runRow struct {
	ID         string `gorm:"primaryKey"`
	Trigger    string
	FullLoad   bool
	Status     string
	StartedAt  time.Time
	FinishedAt *time.Time
	Stats      string
	Error      string
	Replica    string
}

func (runRow) TableName() string { return "etl_runs" }

func (r *runRow) run() (*Run, error) {
	out := &Run{ID: r.ID, Trigger: r.Trigger, Full: r.FullLoad, Status: r.Status, StartedAt: r.StartedAt.UTC(),
		Error: r.Error, Stats: Stats{Tables: map[string]*Counts{}, Watermarks: map[string]Cursor{}}}
	if r.FinishedAt != nil {
		t := r.FinishedAt.UTC()
		out.FinishedAt = &t
	}
	if err := json.Unmarshal([]byte(r.Stats), &out.Stats); err != nil {
		return nil, fmt.Errorf("etl: run %s stats: %w", r.ID, err)
	}
	return out, nil
}

// Runner records loads in etl_runs (in the operational database, db) and
// lets one run at a time across replicas.
type Runner struct {
	db      *database.DB
	loader  *Loader
	replica string
	maxRun  time.Duration
	now     func() time.Time
	log     *slog.Logger
	bg      sync.WaitGroup
	bgCtx   context.Context
	cancel  context.CancelFunc
}

// NewRunner returns a Runner of loader's loads; maxRun 0 is DefaultMaxRun.
func NewRunner(db *database.DB, loader *Loader, replica string, maxRun time.Duration, log *slog.Logger) *Runner {
	if maxRun <= 0 {
		maxRun = DefaultMaxRun
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{db: db, loader: loader, replica: replica, maxRun: maxRun, now: loader.now, log: log,
		bgCtx: ctx, cancel: cancel}
}

// Run loads the warehouse once and records it; ErrRunning when a load is
// running already (on any replica). A failed load is recorded as failed
// and its error returned with the record.
func (r *Runner) Run(ctx context.Context, trigger string, full bool) (*Run, error) {
	row, err := r.start(ctx, trigger, full)
	if err != nil {
		return nil, err
	}
	return r.execute(ctx, row)
}

// Start records a run and loads in the background, until Close; it
// answers the run as started, or ErrWarehouseUnavailable while the
// warehouse's breaker is open.
func (r *Runner) Start(ctx context.Context, trigger string, full bool) (*Run, error) {
	if !r.loader.available() {
		return nil, ErrWarehouseUnavailable // it would fail at once
	}
	row, err := r.start(ctx, trigger, full)
	if err != nil {
		return nil, err
	}
	started, err := row.run()
	if err != nil {
		return nil, err
	}
	r.bg.Go(func() {
		if _, err := r.execute(r.bgCtx, row); err != nil {
			r.log.Error("etl: a load failed", "run_id", row.ID, "err", err)
		}
	})
	return started, nil
}

// Close stops background loads (they are recorded as failed) and waits.
func (r *Runner) Close() error {
	r.cancel()
	r.bg.Wait()
	return nil
}

// start records a running load, taking for abandoned a running one older
// than maxRun and abandonGrace.
func (r *Runner) start(ctx context.Context, trigger string, full bool) (*runRow, error) {
	now := r.now().UTC()
	row := &runRow{ID: uuid.Must(uuid.NewV7()).String(), Trigger: trigger, FullLoad: full, Status: StatusRunning,
		StartedAt: now, Stats: "{}", Replica: r.replica}
	err := r.db.Tx(ctx, func(tx *gorm.DB) error {
		err := tx.Model(&runRow{}).Where("status = ? AND started_at < ?", StatusRunning, now.Add(-r.maxRun-abandonGrace)).
			Updates(map[string]any{"status": StatusAbandoned, "finished_at": now,
				"error": "its replica stopped before it finished"}).Error
		if err != nil {
			return err
		}
		return tx.Create(row).Error
	})
	if database.IsUniqueViolation(err) {
		return nil, ErrRunning
	}
	if err != nil {
		return nil, fmt.Errorf("etl: record a run: %w", err)
	}
	return row, nil
}

// execute loads, for maxRun at most, and records the outcome of a started
// run.
func (r *Runner) execute(ctx context.Context, row *runRow) (*Run, error) {
	loadCtx, cancel := context.WithTimeout(ctx, r.maxRun)
	defer cancel()
	stats, loadErr := r.loader.Run(loadCtx, row.FullLoad)
	if errors.Is(loadErr, context.DeadlineExceeded) && ctx.Err() == nil {
		loadErr = fmt.Errorf("etl: the load stopped after etl.max_run (%s); the next one carries on: %w", r.maxRun, loadErr)
	}
	doc, err := json.Marshal(stats)
	if err != nil {
		return nil, errors.Join(loadErr, err)
	}
	end := r.now().UTC()
	row.FinishedAt, row.Stats, row.Status = &end, string(doc), StatusSucceeded
	if loadErr != nil {
		row.Status, row.Error = StatusFailed, loadErr.Error()
	}
	err = r.db.Tx(context.WithoutCancel(ctx), func(tx *gorm.DB) error {
		return tx.Model(&runRow{}).Where("id = ?", row.ID).
			Updates(map[string]any{"status": row.Status, "finished_at": end, "stats": row.Stats, "error": row.Error}).Error
	})
	if err != nil {
		return nil, errors.Join(loadErr, fmt.Errorf("etl: record the end of run %s: %w", row.ID, err))
	}
	out, err := row.run()
	if err != nil {
		return nil, err
	}
	return out, loadErr
}

// Runs lists runs newest first, after the run afterID when given (a
// validation error on the cursor when there is no such run), at most
// limit.
func (r *Runner) Runs(ctx context.Context, afterID string, limit int) ([]*Run, error) {
	q := r.db.Read(ctx).Order("started_at DESC, id DESC").Limit(limit)
	if afterID != "" {
		var b runRow
		if err := r.db.Read(ctx).Where("id = ?", afterID).Limit(1).Find(&b).Error; err != nil {
			return nil, err
		}
		if b.ID == "" {
			return nil, apperr.FieldError("cursor", "is not a cursor this server issued")
		}
		q = q.Where("started_at < ? OR (started_at = ? AND id < ?)", b.StartedAt, b.StartedAt, b.ID)
	}
	var rows []runRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]*Run, 0, len(rows))
	for i := range rows {
		run, err := rows[i].run()
		if err != nil {
			return nil, err
		}
		out = append(out, run)
	}
	return out, nil
}
