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
	return insert(tx, table, cols, rows, conflictClause(cols, key))
}

// insertNew writes the rows whose key is not in table yet.
func insertNew(tx *gorm.DB, table string, cols, key []string, rows [][]any) error {
	return insert(tx, table, cols, rows, conflictClause(key, key))
}

func insert(tx *gorm.DB, table string, cols []string, rows [][]any, clause string) error {
	postgres := tx.Dialector.Name() == "postgres"
	err := queryChunks(tx, rows, func(n int) string { return insertSQL(postgres, table, cols, n, clause) }, nil)
	if err != nil {
		return fmt.Errorf("etl: write into %s: %w", table, err)
	}
	return nil
}

// queryChunks runs the statement of query(n) for each chunk of n rows (n
// is upsertChunk but for the last chunk), each statement prepared once;
// with scan, it is a query and scan is called with each row it returns.
func queryChunks(tx *gorm.DB, rows [][]any, query func(n int) string, scan func(*sql.Rows) error) error {
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
		if scan == nil {
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return err
			}
			continue
		}
		rows, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		if err := scanRows(rows, scan); err != nil {
			return err
		}
	}
	return nil
}

// scanRows calls scan with each of rows, then closes them.
func scanRows(rows *sql.Rows, scan func(*sql.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// write upserts rows into table as upsert does: added are rows known to
// be new (their keys are not in the table), changed the others. On
// PostgreSQL (unless noCopy) through COPY: added straight into the table
// (copyInto), changed through a temporary table (copyUpsert).
func (l *Loader) write(tx *gorm.DB, table string, cols, key []string, added, changed [][]any) error {
	raw := rawOf(tx)
	if raw == nil || l.noCopy {
		return upsert(tx, table, cols, key, append(added, changed...))
	}
	if err := copyInto(tx, raw, table, cols, key, added); err != nil {
		return err
	}
	return copyUpsert(tx, raw, table, cols, key, changed)
}

// copyInto writes rows into table with PostgreSQL's COPY straight into it,
// the fastest way in. Should a row's key be there after all (the COPY
// fails on the unique index), it takes the COPY back and upserts them
// with copyUpsert.
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
	if !database.IsUniqueViolation(err) {
		return fmt.Errorf("etl: copy into %s: %w", table, err)
	}
	if err := tx.Exec("ROLLBACK TO SAVEPOINT etl_copy").Error; err != nil {
		return fmt.Errorf("etl: copy into %s: %w", table, err)
	}
	return copyUpsert(tx, raw, table, cols, key, rows)
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

// insertSQL is the INSERT of n rows, then clause (ON CONFLICT …).
func insertSQL(postgres bool, table string, cols []string, n int, clause string) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	placeholders(&b, postgres, n, slices.Repeat([]string{"%s"}, len(cols)))
	b.WriteString(clause)
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
