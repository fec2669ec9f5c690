package etl

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrationsTable records the warehouse schema's versions, apart from the
// operational schema's when both share a PostgreSQL database.
const migrationsTable = "etl_schema_migrations"

// Migrations returns the warehouse's migration files for a dialect.
func Migrations(dialect string) (fs.FS, error) {
	switch dialect {
	case database.SQLite, database.Postgres:
		return fs.Sub(migrationFiles, "migrations/"+dialect)
	}
	return nil, fmt.Errorf("etl: unknown dialect %q", dialect)
}

// warehouseCacheKiB is a SQLite warehouse's page cache (the operational
// database keeps 16 MB): loads write all over its indexes.
const warehouseCacheKiB = 256 << 10

// OpenWarehouse opens the warehouse database and applies its pending
// migrations. An empty SQLite DSN is dataDir/warehouse.db. A SQLite
// warehouse commits with synchronous=NORMAL: a power cut may take its last
// loads back (never half of one: each batch moves its watermark in its own
// transaction), and the next load reads them again.
func OpenWarehouse(ctx context.Context, cfg config.Database, dataDir string, log *slog.Logger) (*database.DB, error) {
	if cfg.Driver != database.Postgres && cfg.DSN == "" {
		cfg.DSN = filepath.Join(dataDir, "warehouse.db")
	}
	cfg.SQLite.Synchronous = "normal"
	db, err := database.Open(cfg, dataDir, log)
	if err != nil {
		return nil, fmt.Errorf("etl: open the warehouse: %w", err)
	}
	if db.Dialect() == database.SQLite { // on the one writer connection, which is never replaced
		var w *sql.DB
		if w, err = db.SQL(); err == nil {
			_, err = w.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", warehouseCacheKiB))
		}
	}
	fsys, err2 := Migrations(db.Dialect())
	if err = errors.Join(err, err2); err == nil {
		var n int
		if n, err = db.MigrateTable(ctx, fsys, migrationsTable); n > 0 {
			log.Info("warehouse migrations applied", slog.Int("count", n))
		}
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("etl: migrate the warehouse: %w", err)
	}
	return db, nil
}
