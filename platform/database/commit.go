package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"gorm.io/gorm"
)

// ErrClosed is returned by Tx after Close.
var ErrClosed = errors.New("database: closed")

type writeReq struct {
	ctx  context.Context
	fn   func(tx *gorm.DB) error
	done chan error
}

// committer owns SQLite's single writer connection and group-commits.
type committer struct {
	db     *gorm.DB
	max    int
	log    *slog.Logger
	queue  chan *writeReq
	quit   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	mu     sync.RWMutex // guards closed against sends racing stop
	closed bool
}

func newCommitter(db *gorm.DB, max int, log *slog.Logger) *committer {
	c := &committer{db: db, max: max, log: log, queue: make(chan *writeReq, max*4), quit: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c
}

func (c *committer) do(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return ErrClosed
	}
	select {
	case c.queue <- req:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued the write may commit; wait for the answer even if ctx ends,
	// so the caller never reports failure for a write that became durable.
	return <-req.done
}

func (c *committer) stop() {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		close(c.queue)
		c.mu.Unlock()
		c.wg.Wait()
	})
}

func (c *committer) loop() {
	defer c.wg.Done()
	batch := make([]*writeReq, 0, c.max)
	for first := range c.queue {
		batch = append(batch[:0], first)
		// Take whatever else is already waiting: writes that queued while the
		// previous batch was committing share the next fsync.
	fill:
		for len(batch) < c.max {
			select {
			case r, ok := <-c.queue:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		c.run(batch)
	}
}

// run executes one batch in one transaction. Statements run without the
// callers' contexts: cancelling one would interrupt SQLite mid-transaction and
// roll back everyone's work. A caller whose context ended before its turn is
// skipped instead.
func (c *committer) run(batch []*writeReq) {
	results := make([]error, len(batch))
	tx := c.db.Begin()
	if tx.Error != nil {
		c.answer(batch, results, fmt.Errorf("database: begin: %w", tx.Error))
		return
	}
	applied := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if len(batch) == 1 {
			results[i] = safeCall(r.fn, tx)
		} else {
			results[i] = c.inSavepoint(tx, r.fn)
		}
		if results[i] == nil {
			applied++
		}
	}
	if applied == 0 {
		tx.Rollback()
		c.answer(batch, results, nil)
		return
	}
	if err := tx.Commit().Error; err != nil {
		c.log.Error("group commit failed", slog.Int("batch", len(batch)), slog.String("error", err.Error()))
		tx.Rollback()
		c.answer(batch, results, fmt.Errorf("database: commit: %w", err))
		return
	}
	c.answer(batch, results, nil)
}

func (c *committer) inSavepoint(tx *gorm.DB, fn func(tx *gorm.DB) error) error {
	if err := tx.Exec("SAVEPOINT w").Error; err != nil {
		return fmt.Errorf("database: savepoint: %w", err)
	}
	if err := safeCall(fn, tx); err != nil {
		if rbErr := tx.Exec("ROLLBACK TO w").Error; rbErr != nil {
			return errors.Join(err, rbErr)
		}
		_ = tx.Exec("RELEASE w").Error
		return err
	}
	return tx.Exec("RELEASE w").Error
}

// answer sends each caller its result; a commit failure replaces the success
// of those whose work was in the failed transaction.
func (c *committer) answer(batch []*writeReq, results []error, commitErr error) {
	for i, r := range batch {
		err := results[i]
		if err == nil && commitErr != nil {
			err = commitErr
		}
		r.done <- err
	}
}

func safeCall(fn func(tx *gorm.DB) error, tx *gorm.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("database: write panicked: %v", r)
		}
	}()
	return fn(tx.Session(&gorm.Session{NewDB: true}))
}
