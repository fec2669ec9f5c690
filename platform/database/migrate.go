package database

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/config"
)

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
}

// migrationsTable records the applied versions of fitloop's own schema.
const migrationsTable = "schema_migrations"

func (db *DB) provider(fsys fs.FS) (*goose.Provider, error) {
	return db.providerFor(fsys, migrationsTable)
}

func (db *DB) providerFor(fsys fs.FS, table string) (*goose.Provider, error) {
	sqlDB, err := db.SQL()
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	if db.dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, sqlDB, fsys, goose.WithTableName(table))
	if err != nil {
		return nil, fmt.Errorf("database: migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration in fsys, one transaction per file,
// and returns how many it applied.
func (db *DB) Migrate(ctx context.Context, fsys fs.FS) (int, error) {
	return db.MigrateTable(ctx, fsys, migrationsTable)
}

// MigrateTable is Migrate for a schema of its own that records its versions
// in table, so that it can share a database with fitloop's schema (the
// reporting warehouse may be given the operational PostgreSQL database).
func (db *DB) MigrateTable(ctx context.Context, fsys fs.FS, table string) (int, error) {
	p, err := db.providerFor(fsys, table)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("database: migrate: %w", err)
	}
	return len(res), nil
}

// MigrationStatuses lists every migration in fsys and whether it is applied.
func (db *DB) MigrationStatuses(ctx context.Context, fsys fs.FS) ([]MigrationStatus, error) {
	p, err := db.provider(fsys)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("database: migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	return out, nil
}

// Pending reports whether any migration in fsys is not applied.
func (db *DB) Pending(ctx context.Context, fsys fs.FS) (bool, error) {
	p, err := db.provider(fsys)
	if err != nil {
		return false, err
	}
	return p.HasPending(ctx)
}

// PendingCheck is a readiness check: an error while a migration in fsys is
// not applied (another replica may be applying it).
func (db *DB) PendingCheck(fsys fs.FS) func(context.Context) error {
	return func(ctx context.Context) error {
		if pending, err := db.Pending(ctx, fsys); err != nil || pending {
			return errors.Join(err, errors.New("migrations pending"))
		}
		return nil
	}
}

// MigrateCommand is `fitloop migrate up|status`: it applies the pending
// migrations (up) or lists every migration with its state, writing to out.
func (db *DB) MigrateCommand(ctx context.Context, fsys fs.FS, up bool, out io.Writer) error {
	if up {
		n, err := db.Migrate(ctx, fsys)
		if err == nil {
			fmt.Fprintf(out, "applied %d migration(s)\n", n)
		}
		return err
	}
	st, err := db.MigrationStatuses(ctx, fsys)
	for _, m := range st {
		state := "pending"
		if m.Applied {
			state = "applied"
		}
		fmt.Fprintf(out, "%05d  %-8s %s\n", m.Version, state, m.Name)
	}
	return err
}

// Migrations gives a dialect's migration files (the migrations package's
// FS satisfies it).
type Migrations func(dialect string) (fs.FS, error)

// OpenMigrated opens the database and applies its pending migrations,
// logging how many ran.
func OpenMigrated(ctx context.Context, cfg config.Database, dataDir string, log *slog.Logger, files Migrations) (*DB, error) {
	db, err := Open(cfg, dataDir, log)
	if err != nil {
		return nil, err
	}
	fsys, err := files(db.Dialect())
	if err == nil {
		var n int
		if n, err = db.Migrate(ctx, fsys); n > 0 {
			log.Info("migrations applied", slog.Int("count", n))
		}
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// RunMigrateCommand opens the database without migrating it and runs
// `migrate up` or `migrate status` (args), writing to out. Other args are
// an apperr Invalid with the usage.
func RunMigrateCommand(ctx context.Context, cfg config.Database, dataDir string, log *slog.Logger, files Migrations, args []string, out io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "status") {
		return apperr.E(apperr.Invalid, "usage", "usage: fitloop migrate up|status")
	}
	up := args[0] == "up"
	db, err := Open(cfg, dataDir, log)
	if err != nil {
		return err
	}
	defer db.Close()
	fsys, err := files(db.Dialect())
	if err != nil {
		return err
	}
	return db.MigrateCommand(ctx, fsys, up, out)
}
