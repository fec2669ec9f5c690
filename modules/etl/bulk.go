package etl

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gorm.io/gorm"
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
	b.WriteString(" ON CONFLICT (" + strings.Join(key, ", ") + ") DO ")
	var set []string
	for _, c := range cols {
		if !slices.Contains(key, c) {
			set = append(set, c+" = excluded."+c)
		}
	}
	if len(set) == 0 {
		b.WriteString("NOTHING")
	} else {
		b.WriteString("UPDATE SET " + strings.Join(set, ", "))
	}
	return b.String()
}
