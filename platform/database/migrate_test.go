package database_test

import (
	"context"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/migrations"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

func migrationFiles(tb testing.TB, dialect string) (fs.FS, []string) {
	tb.Helper()
	fsys, err := migrations.FS(dialect)
	require.NoError(tb, err)
	names, err := fs.Glob(fsys, "*.sql")
	require.NoError(tb, err)
	require.NotEmpty(tb, names)
	return fsys, names
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, dialect := range []string{database.SQLite, database.Postgres} {
		t.Run("applies_every_migration_once_on_"+dialect, func(t *testing.T) {
			t.Parallel()
			db := dbtest.Empty(t, dialect)
			fsys, names := migrationFiles(t, dialect)

			pending, err := db.Pending(ctx, fsys)
			require.NoError(t, err)
			assert.True(t, pending, "a fresh database has pending migrations")

			applied, err := db.Migrate(ctx, fsys)
			require.NoError(t, err)
			assert.Equal(t, len(names), applied)

			statuses, err := db.MigrationStatuses(ctx, fsys)
			require.NoError(t, err)
			require.Len(t, statuses, len(names))
			for i, s := range statuses {
				assert.Equal(t, names[i], s.Name)
				assert.True(t, s.Applied, "%s applied", s.Name)
			}

			pending, err = db.Pending(ctx, fsys)
			require.NoError(t, err)
			assert.False(t, pending)

			applied, err = db.Migrate(ctx, fsys)
			require.NoError(t, err)
			assert.Zero(t, applied, "a second run applies nothing")
		})
	}
}

func TestMigrationSets(t *testing.T) {
	t.Parallel()

	t.Run("have_the_same_versions_in_both_dialects", func(t *testing.T) {
		_, lite := migrationFiles(t, database.SQLite)
		_, pg := migrationFiles(t, database.Postgres)
		assert.Equal(t, lite, pg)
	})

	t.Run("create_the_same_tables_columns_and_indexes_in_both_dialects", func(t *testing.T) {
		t.Parallel()
		lite, pg := dbtest.New(t), dbtest.NewPostgres(t)
		liteColumns, liteIndexes := sqliteColumns(t, lite), sqliteIndexes(t, lite)
		require.NotEmpty(t, liteColumns)
		require.NotEmpty(t, liteIndexes)
		assert.Equal(t, liteColumns, postgresColumns(t, pg), "tables and columns (NOT NULL marked)")
		assert.Equal(t, liteIndexes, postgresIndexes(t, pg), "indexes (true when unique)")
	})
}

type column struct {
	TableName  string
	ColumnName string
	NotNull    bool
}

// tables maps each table to its columns in order, "name" or "name NOT NULL".
func tables(cols []column) map[string][]string {
	out := map[string][]string{}
	for _, c := range cols {
		name := c.ColumnName
		if c.NotNull {
			name += " NOT NULL"
		}
		out[c.TableName] = append(out[c.TableName], name)
	}
	return out
}

func sqliteColumns(tb testing.TB, db *database.DB) map[string][]string {
	tb.Helper()
	var cols []column
	// SQLite lets a non-integer PRIMARY KEY hold NULL; PostgreSQL does not, and
	// the application never stores one, so a key column counts as NOT NULL.
	require.NoError(tb, db.Read(context.Background()).Raw(`
		SELECT m.name AS table_name, p.name AS column_name, (p."notnull" = 1 OR p.pk > 0) AS not_null
		FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'schema_migrations'
		ORDER BY m.name, p.cid`).Scan(&cols).Error)
	return tables(cols)
}

func postgresColumns(tb testing.TB, db *database.DB) map[string][]string {
	tb.Helper()
	var cols []column
	require.NoError(tb, db.Read(context.Background()).Raw(`
		SELECT table_name, column_name, is_nullable = 'NO' AS not_null
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'
		ORDER BY table_name, ordinal_position`).Scan(&cols).Error)
	return tables(cols)
}

type index struct {
	Name   string
	Unique bool
}

func indexes(list []index) map[string]bool {
	out := map[string]bool{}
	for _, i := range list {
		out[i.Name] = i.Unique
	}
	return out
}

// sqliteIndexes lists the indexes made by CREATE INDEX (origin "c"), not the
// ones behind PRIMARY KEY or UNIQUE constraints.
func sqliteIndexes(tb testing.TB, db *database.DB) map[string]bool {
	tb.Helper()
	var list []index
	require.NoError(tb, db.Read(context.Background()).Raw(`
		SELECT i.name AS name, i."unique" = 1 AS "unique"
		FROM sqlite_master m JOIN pragma_index_list(m.name) i
		WHERE m.type = 'table' AND i.origin = 'c'`).Scan(&list).Error)
	return indexes(list)
}

func postgresIndexes(tb testing.TB, db *database.DB) map[string]bool {
	tb.Helper()
	var list []index
	require.NoError(tb, db.Read(context.Background()).Raw(`
		SELECT c.relname AS name, x.indisunique AS "unique"
		FROM pg_index x
		JOIN pg_class c ON c.oid = x.indexrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema()
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)`).Scan(&list).Error)
	return indexes(list)
}
