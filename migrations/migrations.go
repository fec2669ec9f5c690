// Package migrations embeds fitloop's numbered SQL migrations, one set per
// dialect: sqlite/ and postgres/ hold files with the same version numbers and
// the same tables and columns, written in each dialect's types (TIMESTAMP on
// SQLite, TIMESTAMPTZ on PostgreSQL; every timestamp is UTC). A test checks
// that the two sets agree.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// FS returns the migration files for a dialect ("sqlite" or "postgres").
func FS(dialect string) (fs.FS, error) {
	switch dialect {
	case "sqlite", "postgres":
		return fs.Sub(files, dialect)
	}
	return nil, fmt.Errorf("migrations: unknown dialect %q", dialect)
}
