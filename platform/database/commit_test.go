package database_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

var errBoom = errors.New("boom")

// together runs fn(i) for i in [0, n) on n goroutines released at once, so
// their writes queue up and share batches, and returns each call's error.
func together(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func TestGroupCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("commits_every_concurrent_write", func(t *testing.T) {
		t.Parallel()
		db := dbtest.New(t)
		createScratch(t, db)
		errs := together(200, func(i int) error {
			return db.Tx(ctx, func(tx *gorm.DB) error { return insertScratch(tx, i) })
		})
		for i, err := range errs {
			assert.NoError(t, err, "write %d", i)
		}
		assert.Len(t, scratchIDs(t, db), 200)
	})

	t.Run("undoes_failed_and_panicking_writes_but_commits_their_batch_mates", func(t *testing.T) {
		t.Parallel()
		db := dbtest.New(t)
		createScratch(t, db)
		var want []int
		for i := range 200 {
			if i%7 != 3 && i%11 != 5 {
				want = append(want, i)
			}
		}
		errs := together(200, func(i int) error {
			return db.Tx(ctx, func(tx *gorm.DB) error {
				if err := insertScratch(tx, i); err != nil {
					return err
				}
				switch {
				case i%7 == 3:
					return errBoom
				case i%11 == 5:
					panic("write panicked on purpose")
				}
				return nil
			})
		})
		for i, err := range errs {
			switch {
			case i%7 == 3:
				assert.ErrorIs(t, err, errBoom, "write %d", i)
			case i%11 == 5:
				assert.ErrorContains(t, err, "panicked", "write %d", i)
			default:
				assert.NoError(t, err, "write %d", i)
			}
		}
		assert.Equal(t, want, scratchIDs(t, db))
	})

	t.Run("returns_the_context_error_without_writing_when_cancelled_before_queueing", func(t *testing.T) {
		t.Parallel()
		db := dbtest.New(t)
		createScratch(t, db)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		called := false
		err := db.Tx(cancelled, func(tx *gorm.DB) error {
			called = true
			return insertScratch(tx, 1)
		})
		assert.ErrorIs(t, err, context.Canceled)
		assert.False(t, called, "fn never runs")
		assert.Empty(t, scratchIDs(t, db))
	})

	t.Run("returns_ErrClosed_after_close", func(t *testing.T) {
		t.Parallel()
		db := dbtest.New(t)
		require.NoError(t, db.Close())
		err := db.Tx(ctx, func(tx *gorm.DB) error { return nil })
		assert.ErrorIs(t, err, database.ErrClosed)
	})

	t.Run("shows_each_committed_write_to_the_next_read", func(t *testing.T) {
		t.Parallel()
		db := dbtest.New(t)
		createScratch(t, db)
		for i := range 50 {
			require.NoError(t, db.Tx(ctx, func(tx *gorm.DB) error { return insertScratch(tx, i) }))
			require.Len(t, scratchIDs(t, db), i+1, "after write %d", i)
		}
	})

	t.Run("keeps_every_acknowledged_write_when_closed_mid_flight", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "fitloop.db")
		cfg := config.Default().Database.SQLite
		db, err := database.OpenSQLite(path, cfg, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		createScratch(t, db)
		errs := together(201, func(i int) error {
			if i == 200 {
				return db.Close()
			}
			return db.Tx(ctx, func(tx *gorm.DB) error { return insertScratch(tx, i) })
		})
		require.NoError(t, errs[200], "close")
		var acked []int
		for i, err := range errs[:200] {
			if err == nil {
				acked = append(acked, i)
			} else {
				assert.ErrorIs(t, err, database.ErrClosed, "write %d", i)
			}
		}

		db, err = database.OpenSQLite(path, cfg, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, db.Close()) })
		assert.ElementsMatch(t, acked, scratchIDs(t, db), "exactly the acknowledged writes are in the file")
	})
}
