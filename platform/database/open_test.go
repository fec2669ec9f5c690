package database_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

type pragmas struct {
	JournalMode string
	Synchronous int
	ForeignKeys int
	BusyTimeout int
	QueryOnly   int
}

func readPragmas(tb testing.TB, conn *gorm.DB) pragmas {
	tb.Helper()
	var p pragmas
	for dest, q := range map[any]string{
		&p.JournalMode: "PRAGMA journal_mode",
		&p.Synchronous: "PRAGMA synchronous",
		&p.ForeignKeys: "PRAGMA foreign_keys",
		&p.BusyTimeout: "PRAGMA busy_timeout",
		&p.QueryOnly:   "PRAGMA query_only",
	} {
		require.NoError(tb, conn.Raw(q).Scan(dest).Error, q)
	}
	return p
}

func TestOpenSQLite(t *testing.T) {
	t.Parallel()
	want := pragmas{JournalMode: "wal", Synchronous: 2, ForeignKeys: 1, BusyTimeout: 5000}

	t.Run("sets_the_pragmas_on_the_writer", func(t *testing.T) {
		t.Parallel()
		db := dbtest.New(t)
		var got pragmas
		require.NoError(t, db.Tx(context.Background(), func(tx *gorm.DB) error {
			got = readPragmas(t, tx)
			return nil
		}))
		assert.Equal(t, want, got)
	})

	t.Run("sets_the_pragmas_on_the_readers_and_makes_them_read_only", func(t *testing.T) {
		t.Parallel()
		db := dbtest.New(t)
		readers := want
		readers.QueryOnly = 1
		assert.Equal(t, readers, readPragmas(t, db.Read(context.Background())))
		err := db.Read(context.Background()).Exec(`CREATE TABLE nope (id INTEGER)`).Error
		assert.Error(t, err, "readers refuse writes")
	})

	t.Run("opens_a_path_with_characters_special_in_uris", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "a dir #1 100%25 ?x=y", "fitloop.db")
		db, err := database.OpenSQLite(path, config.Default().Database.SQLite, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, db.Close()) })
		createScratch(t, db)
		require.NoError(t, db.Tx(context.Background(), func(tx *gorm.DB) error { return insertScratch(tx, 1) }))
		assert.Equal(t, []int{1}, scratchIDs(t, db), "readers open the same file as the writer")
		readers := want
		readers.QueryOnly = 1
		assert.Equal(t, readers, readPragmas(t, db.Read(context.Background())), "no pragma is lost")
		_, err = os.Stat(path)
		assert.NoError(t, err, "the database file is at the path asked for")
	})
}

// TestBackgroundCheckpoint: with checkpoint_interval set (the default), a
// connection of its own copies committed pages from the WAL into the
// database file while the writer only checkpoints itself past 10,000 pages;
// with 0 the writer keeps SQLite's own 1,000.
func TestBackgroundCheckpoint(t *testing.T) {
	t.Parallel()
	open := func(t *testing.T, every time.Duration) (*database.DB, string) {
		path := filepath.Join(t.TempDir(), "fitloop.db")
		cfg := config.Default().Database.SQLite
		cfg.CheckpointInterval = every
		db, err := database.OpenSQLite(path, cfg, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, db.Close()) })
		return db, path
	}
	writerThreshold := func(t *testing.T, db *database.DB) (pages int) {
		require.NoError(t, db.Tx(context.Background(), func(tx *gorm.DB) error {
			return tx.Raw("PRAGMA wal_autocheckpoint").Scan(&pages).Error
		}))
		return pages
	}
	size := func(path string) int64 {
		fi, err := os.Stat(path)
		if err != nil {
			return 0
		}
		return fi.Size()
	}

	t.Run("copies_the_wal_beside_the_writer", func(t *testing.T) {
		t.Parallel()
		db, path := open(t, 20*time.Millisecond)
		assert.Equal(t, 10000, writerThreshold(t, db))
		createScratch(t, db)
		before := size(path)
		require.NoError(t, db.Tx(context.Background(), func(tx *gorm.DB) error {
			for i := range 500 {
				if err := insertScratch(tx, i); err != nil {
					return err
				}
			}
			return nil
		}))
		require.Eventually(t, func() bool { return size(path) > before }, 10*time.Second, 10*time.Millisecond,
			"the rows reach the database file though the writer never reached its own threshold")
		assert.Len(t, scratchIDs(t, db), 500)
	})
	t.Run("zero_leaves_it_to_the_writer", func(t *testing.T) {
		t.Parallel()
		db, _ := open(t, 0)
		assert.Equal(t, 1000, writerThreshold(t, db))
	})
}
