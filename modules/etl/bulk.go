package etl

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database"
)

// upsertChunk is how many rows one prepared INSERT writes: large enough
// that a statement's round trip and step are shared by many rows, small
// enough that preparing it (once a transaction) is cheap — preparing a
// statement of thousands of rows costs SQLite more than running it.
const upsertChunk = 64

// preparer is a transaction that prepares statements (*sql.Tx).
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// upsert writes rows (each one value per column of cols) into table; a
// row whose key columns exist already replaces the other columns. Raw
// prepared statements, not gorm's CreateInBatches: the loader writes most
// of its rows here, and reflection would cost more than the database.
func upsert(tx *gorm.DB, table string, cols, key []string, rows [][]any) error {
	postgres := tx.Dialector.Name() == "postgres"
	err := execChunks(tx, rows, func(n int) string { return upsertSQL(postgres, table, cols, key, n) })
	if err != nil {
		return fmt.Errorf("etl: upsert into %s: %w", table, err)
	}
	return nil
}

// execChunks runs the statement of query(n) for each chunk of n rows (n
// is upsertChunk but for the last chunk), each statement prepared once.
func execChunks(tx *gorm.DB, rows [][]any, query func(n int) string) error {
	if len(rows) == 0 {
		return nil
	}
	pool, ok := tx.Statement.ConnPool.(preparer)
	if !ok {
		return errors.New("not in a transaction")
	}
	ctx := tx.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	prepared := map[int]*sql.Stmt{}
	defer func() {
		for _, s := range prepared {
			_ = s.Close()
		}
	}()
	args := make([]any, 0, upsertChunk*len(rows[0]))
	for chunk := range slices.Chunk(rows, upsertChunk) {
		stmt := prepared[len(chunk)]
		if stmt == nil {
			var err error
			if stmt, err = pool.PrepareContext(ctx, query(len(chunk))); err != nil {
				return err
			}
			prepared[len(chunk)] = stmt
		}
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// placeholders writes n tuples of the given placeholders ("?" or, on
// PostgreSQL, "$k" numbered on), each wrapped by wrap (e.g. a cast; "%s"
// for none).
func placeholders(b *strings.Builder, postgres bool, n int, wrap []string) {
	p := 0
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, w := range wrap {
			if j > 0 {
				b.WriteString(", ")
			}
			p++
			mark := "?"
			if postgres {
				mark = "$" + strconv.Itoa(p)
			}
			b.WriteString(strings.Replace(w, "%s", mark, 1))
		}
		b.WriteByte(')')
	}
}

// upsertSQL is the INSERT … ON CONFLICT of n rows.
func upsertSQL(postgres bool, table string, cols, key []string, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	placeholders(&b, postgres, n, slices.Repeat([]string{"%s"}, len(cols)))
	b.WriteString(conflictClause(cols, key))
	return b.String()
}

// conflictClause is the ON CONFLICT of an upsert: a row whose key exists
// replaces the other columns.
func conflictClause(cols, key []string) string {
	var set []string
	for _, c := range cols {
		if !slices.Contains(key, c) {
			set = append(set, c+" = excluded."+c)
		}
	}
	if len(set) == 0 {
		return " ON CONFLICT (" + strings.Join(key, ", ") + ") DO NOTHING"
	}
	return " ON CONFLICT (" + strings.Join(key, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
}

// rawKey holds a PostgreSQL transaction's raw connection in its context
// (Loader.tx).
type rawKey struct{}

// rawOf is tx's raw connection, or nil (SQLite).
func rawOf(tx *gorm.DB) database.Raw {
	r, _ := tx.Statement.Context.Value(rawKey{}).(database.Raw)
	return r
}

// copyInto writes rows into table with PostgreSQL's COPY straight into it,
// the fastest way in; when a row's key is there already (the COPY fails
// on the unique index) it takes the COPY back and upserts them with
// copyUpsert. For loads that mostly add rows.
func copyInto(tx *gorm.DB, raw database.Raw, table string, cols, key []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if err := tx.Exec("SAVEPOINT etl_copy").Error; err != nil {
		return fmt.Errorf("etl: copy into %s: %w", table, err)
	}
	err := copyRows(tx, raw, table, cols, rows)
	if err == nil {
		return tx.Exec("RELEASE SAVEPOINT etl_copy").Error
	}
	if !database.IsUniqueViolation(err) && !isPgUniqueViolation(err) {
		return fmt.Errorf("etl: copy into %s: %w", table, err)
	}
	if err := tx.Exec("ROLLBACK TO SAVEPOINT etl_copy").Error; err != nil {
		return fmt.Errorf("etl: copy into %s: %w", table, err)
	}
	return copyUpsert(tx, raw, table, cols, key, rows)
}

// isPgUniqueViolation reports a PostgreSQL unique_violation (23505).
func isPgUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}

// copyRows streams rows into table with COPY on the transaction's
// connection.
func copyRows(tx *gorm.DB, raw database.Raw, table string, cols []string, rows [][]any) error {
	return raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("not a pgx connection (%T)", dc)
		}
		_, err := c.Conn().CopyFrom(tx.Statement.Context, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	})
}

// copyUpsert is upsert through PostgreSQL's COPY: the rows are copied into
// a temporary table (no constraints), then moved into table with one
// INSERT … SELECT … ON CONFLICT. COPY sends the rows in pgx's binary
// format in one stream instead of as statements' parameters.
func copyUpsert(tx *gorm.DB, raw database.Raw, table string, cols, key []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	tmp := "etl_copy_" + table
	if err := tx.Exec("CREATE TEMP TABLE IF NOT EXISTS " + tmp + " (LIKE " + table + ") ON COMMIT DELETE ROWS").Error; err != nil {
		return fmt.Errorf("etl: copy into %s: %w", table, err)
	}
	if err := copyRows(tx, raw, tmp, cols, rows); err != nil {
		return fmt.Errorf("etl: copy into %s: %w", table, err)
	}
	list := strings.Join(cols, ", ")
	move := "INSERT INTO " + table + " (" + list + ") SELECT " + list + " FROM " + tmp + conflictClause(cols, key)
	if err := tx.Exec(move).Error; err != nil {
		return fmt.Errorf("etl: copy into %s: %w", table, err)
	}
	return tx.Exec("DELETE FROM " + tmp).Error
}
