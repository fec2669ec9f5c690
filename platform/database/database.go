// Package database opens fitloop's operational database — SQLite by default,
// PostgreSQL for several replicas — and applies the embedded migrations.
//
// Writes go through DB.Tx. On SQLite one writer connection serves every write,
// and concurrent Tx calls are group-committed: the writer runs several callers'
// functions in one transaction, each inside its own savepoint so one failure
// does not abort the others, commits once, then answers every caller. A caller
// returns only after its transaction is durable, so a 2xx is never sent
// before its commit. Reads use DB.Read: a pool of read-only connections on
// SQLite, the primary or a replica on PostgreSQL.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB is the operational database.
type DB struct {
	dialect string
	write   *gorm.DB
	read    *gorm.DB
	commit  *committer // SQLite only
	closers []func() error
	log     *slog.Logger
}

// Dialect is "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// Read returns a handle for queries outside a transaction.
func (db *DB) Read(ctx context.Context) *gorm.DB { return db.read.WithContext(ctx) }

// Tx runs fn in a write transaction and returns after it has committed (or
// failed). fn must do all its reads-for-update and writes through tx and must
// not keep it. On SQLite fn shares its transaction with other callers' work,
// isolated by a savepoint: it must not commit, roll back or change pragmas.
func (db *DB) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if db.commit != nil {
		return db.commit.do(ctx, fn)
	}
	// A panicking fn is an error on both dialects (the transaction rolls back).
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return safeCall(fn, tx) })
}

// Raw runs f on the driver's connection under a transaction (database/sql's
// Conn.Raw): for a driver's own bulk protocol, such as PostgreSQL's COPY
// through pgx.
type Raw func(f func(driverConn any) error) error

// TxRaw is Tx on PostgreSQL with the transaction's connection at hand: fn
// may run its own protocol on it (raw) between gorm's statements, in the
// same transaction. On SQLite it is Tx, and raw fails.
func (db *DB) TxRaw(ctx context.Context, fn func(tx *gorm.DB, raw Raw) error) error {
	if db.commit != nil {
		return db.Tx(ctx, func(tx *gorm.DB) error {
			return fn(tx, func(func(any) error) error { return errors.New("database: no raw connection on SQLite") })
		})
	}
	pool, err := db.write.DB()
	if err != nil {
		return err
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	tx := db.write.Session(&gorm.Session{Context: ctx, NewDB: true})
	tx.Statement.ConnPool = sqlTx
	if err := safeCall(func(tx *gorm.DB) error { return fn(tx, conn.Raw) }, tx); err != nil {
		return errors.Join(err, ignoreDone(sqlTx.Rollback()))
	}
	return sqlTx.Commit()
}

// ignoreDone is err unless the transaction had already ended.
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// SQL returns the writer's *sql.DB (migrations, health checks).
func (db *DB) SQL() (*sql.DB, error) { return db.write.DB() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.read.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Stats returns pool statistics for metrics: the writer's and the readers'.
func (db *DB) Stats() map[string]sql.DBStats {
	out := map[string]sql.DBStats{}
	if s, err := db.write.DB(); err == nil {
		out["write"] = s.Stats()
	}
	if db.read != db.write {
		if s, err := db.read.DB(); err == nil {
			out["read"] = s.Stats()
		}
	}
	return out
}

// Close stops the group committer (after the writes it holds) and closes every pool.
func (db *DB) Close() error {
	if db.commit != nil {
		db.commit.stop()
	}
	var errs []error
	for i := len(db.closers) - 1; i >= 0; i-- {
		errs = append(errs, db.closers[i]())
	}
	return errors.Join(errs...)
}

// IsUniqueViolation reports whether err is a unique-constraint failure:
// gorm.ErrDuplicatedKey (gorm translates its own calls' errors), or
// PostgreSQL's unique_violation from a raw connection (TxRaw: COPY).
func IsUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.Is(err, gorm.ErrDuplicatedKey) || errors.As(err, &pg) && pg.Code == pgUniqueViolation
}

// pgUniqueViolation is PostgreSQL's SQLSTATE unique_violation.
const pgUniqueViolation = "23505"

// IsNotFound reports whether err is gorm's record-not-found.
func IsNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

func closerOf(g *gorm.DB) func() error {
	return func() error {
		s, err := g.DB()
		if err != nil {
			return fmt.Errorf("database: close: %w", err)
		}
		return s.Close()
	}
}
