// Package dbtest gives tests a real, freshly migrated database: SQLite in the
// test's temporary directory, or PostgreSQL from testkit. Each runs one test
// body against both, so a store is proven on every backend it supports.
//
// A package that uses PostgreSQL (NewPostgres, Each) needs
//
//	func TestMain(m *testing.M) { testkit.Main(m) }
package dbtest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/fitloop/fitloop/migrations"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/testkit"
)

// New returns a freshly migrated SQLite database in tb.TempDir(), with the
// default settings, closed when the test ends.
func New(tb testing.TB) *database.DB {
	tb.Helper()
	return migrated(tb, Empty(tb, database.SQLite))
}

// NewPostgres returns a freshly migrated database of its own on the test
// binary's PostgreSQL server (see testkit.Postgres: skipped without one,
// failed on CI), closed and dropped when the test ends.
func NewPostgres(tb testing.TB) *database.DB {
	tb.Helper()
	return migrated(tb, Empty(tb, database.Postgres))
}

// Each runs fn as the subtests "sqlite" and "postgres", each with its own
// freshly migrated database.
func Each(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	t.Run(database.SQLite, func(t *testing.T) { fn(t, New(t)) })
	t.Run(database.Postgres, func(t *testing.T) { fn(t, NewPostgres(t)) })
}

// Empty returns a new database of the dialect ("sqlite" or "postgres") with
// nothing in it, not even migrations, closed when the test ends.
func Empty(tb testing.TB, dialect string) *database.DB {
	tb.Helper()
	cfg := config.Default().Database
	cfg.Driver = dialect
	switch dialect {
	case database.SQLite: // an empty DSN puts the file in the data directory
	case database.Postgres:
		cfg.DSN = testkit.Postgres(tb)
	default:
		tb.Fatalf("dbtest: unknown dialect %q", dialect)
	}
	db, err := database.Open(cfg, tb.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatalf("dbtest: open %s: %v", dialect, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("dbtest: close %s: %v", dialect, err)
		}
	})
	return db
}

func migrated(tb testing.TB, db *database.DB) *database.DB {
	tb.Helper()
	fsys, err := migrations.FS(db.Dialect())
	if err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	if _, err := db.Migrate(context.Background(), fsys); err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	return db
}
