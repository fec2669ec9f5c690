package database

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/config"
)

// These tests build one batch on purpose: a first write holds the committer
// until every other write is in its queue, so the next batch takes them all.

func openBatchDB(tb testing.TB) *DB {
	tb.Helper()
	db, err := OpenSQLite(filepath.Join(tb.TempDir(), "fitloop.db"), config.Default().Database.SQLite, slog.New(slog.DiscardHandler))
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, db.Close()) })
	require.NoError(tb, db.Tx(context.Background(), func(tx *gorm.DB) error {
		return tx.Exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
			CREATE TABLE child (id INTEGER PRIMARY KEY,
				parent_id INTEGER NOT NULL REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`).Error
	}))
	return db
}

// batch runs fns as one group-committed batch and returns their errors.
// Before the batch runs, beforeRun is called with every write queued.
func batch(tb testing.TB, db *DB, ctxs []context.Context, fns []func(tx *gorm.DB) error, beforeRun func()) []error {
	tb.Helper()
	held, release := make(chan struct{}), make(chan struct{})
	var holder error
	var wg sync.WaitGroup
	wg.Go(func() {
		holder = db.Tx(context.Background(), func(tx *gorm.DB) error {
			close(held)
			<-release
			return nil
		})
	})
	<-held
	errs := make([]error, len(fns))
	for i, fn := range fns {
		wg.Go(func() { errs[i] = db.Tx(ctxs[i], fn) })
	}
	require.Eventually(tb, func() bool { return len(db.commit.queue) == len(fns) },
		10*time.Second, time.Millisecond, "every write is queued behind the held one")
	beforeRun()
	close(release)
	wg.Wait()
	require.NoError(tb, holder)
	return errs
}

func insertParent(id int) func(tx *gorm.DB) error {
	return func(tx *gorm.DB) error { return tx.Exec(`INSERT INTO parent (id) VALUES (?)`, id).Error }
}

func parentIDs(tb testing.TB, db *DB) []int {
	tb.Helper()
	var ids []int
	require.NoError(tb, db.Read(context.Background()).Raw(`SELECT id FROM parent ORDER BY id`).Scan(&ids).Error)
	return ids
}

func TestCommitterBatch(t *testing.T) {
	t.Parallel()
	background := func(n int) []context.Context {
		ctxs := make([]context.Context, n)
		for i := range ctxs {
			ctxs[i] = context.Background()
		}
		return ctxs
	}

	t.Run("isolates_failing_panicking_and_cancelled_writes_from_their_batch_mates", func(t *testing.T) {
		t.Parallel()
		db := openBatchDB(t)
		ctxs := background(6)
		cancelled, cancel := context.WithCancel(context.Background())
		ctxs[4] = cancelled
		var ranCancelled bool
		fns := []func(tx *gorm.DB) error{
			insertParent(1),
			func(tx *gorm.DB) error { _ = insertParent(2)(tx); return errBoom },
			insertParent(3),
			func(tx *gorm.DB) error { _ = insertParent(4)(tx); panic("on purpose") },
			func(tx *gorm.DB) error { ranCancelled = true; return insertParent(5)(tx) },
			insertParent(6),
		}
		errs := batch(t, db, ctxs, fns, cancel)

		assert.NoError(t, errs[0])
		assert.ErrorIs(t, errs[1], errBoom)
		assert.NoError(t, errs[2])
		assert.ErrorContains(t, errs[3], "panicked")
		assert.ErrorIs(t, errs[4], context.Canceled, "a caller whose context ended while queued is skipped")
		assert.False(t, ranCancelled, "a skipped write never runs")
		assert.NoError(t, errs[5])
		assert.Equal(t, []int{1, 3, 6}, parentIDs(t, db))
	})

	t.Run("rolls_back_a_batch_where_every_write_fails", func(t *testing.T) {
		t.Parallel()
		db := openBatchDB(t)
		fail := func(tx *gorm.DB) error { _ = insertParent(9)(tx); return errBoom }
		errs := batch(t, db, background(3), []func(tx *gorm.DB) error{fail, fail, fail}, func() {})
		for _, err := range errs {
			assert.ErrorIs(t, err, errBoom)
		}
		assert.Empty(t, parentIDs(t, db))
	})

	t.Run("reports_a_failed_commit_to_every_write_of_the_batch", func(t *testing.T) {
		t.Parallel()
		db := openBatchDB(t)
		orphan := func(tx *gorm.DB) error {
			// The deferred foreign key passes here and fails at COMMIT.
			return tx.Exec(`INSERT INTO child (id, parent_id) VALUES (1, 404)`).Error
		}
		errs := batch(t, db, background(3), []func(tx *gorm.DB) error{insertParent(1), orphan, insertParent(2)}, func() {})
		for i, err := range errs {
			assert.ErrorContains(t, err, "commit", "write %d must not be told it committed", i)
		}
		assert.Empty(t, parentIDs(t, db))

		require.NoError(t, db.Tx(context.Background(), insertParent(3)), "the writer recovers")
		assert.Equal(t, []int{3}, parentIDs(t, db))
	})
}

var errBoom = errors.New("boom")
