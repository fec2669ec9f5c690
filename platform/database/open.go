package database

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/plugin/dbresolver"

	"github.com/fitloop/fitloop/platform/config"
)

// Open connects to the configured database. It does not migrate.
func Open(cfg config.Database, dataDir string, log *slog.Logger) (*DB, error) {
	switch cfg.Driver {
	case Postgres:
		return openPostgres(cfg, log)
	default:
		path := cfg.DSN
		if path == "" {
			path = filepath.Join(dataDir, "fitloop.db")
		}
		return OpenSQLite(path, cfg.SQLite, log)
	}
}

func gormConfig() *gorm.Config {
	return &gorm.Config{
		Logger:                 logger.Discard,
		TranslateError:         true,
		SkipDefaultTransaction: true, // every write already runs in DB.Tx
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
}

// OpenSQLite opens a SQLite file with one writer connection (behind the group
// committer) and a pool of read-only connections.
func OpenSQLite(path string, cfg config.SQLite, log *slog.Logger) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("database: create %s: %w", dir, err)
		}
	}
	// WAL lets readers run beside the writer; busy_timeout turns lock waits
	// into waits instead of SQLITE_BUSY; synchronous=FULL fsyncs the WAL on
	// every commit so an acknowledged write survives power loss; txlock=immediate
	// takes the write lock at BEGIN so a transaction never fails on upgrade.
	params := url.Values{}
	params.Set("_journal_mode", "WAL")
	params.Set("_busy_timeout", fmt.Sprint(cfg.BusyTimeout.Milliseconds()))
	params.Set("_foreign_keys", "1")
	params.Set("_synchronous", strings.ToUpper(cfg.Synchronous))
	params.Set("_txlock", "immediate")
	params.Set("_cache_size", "-16000")
	// In a file: URI, '?' and '#' would end the path and '%' would start an
	// escape, so a directory named "100%" or "#1" would open another file
	// with the pragmas lost.
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	writeDSN := uri + "?" + params.Encode()
	params.Set("_query_only", "1")
	params.Del("_txlock")
	readDSN := uri + "?" + params.Encode()

	writer := sqlite.Open(writeDSN)
	if cfg.CheckpointInterval > 0 {
		writer = sqlite.New(sqlite.Config{DriverName: writerDriver, DSN: writeDSN})
	}
	w, err := gorm.Open(writer, gormConfig())
	if err != nil {
		return nil, fmt.Errorf("database: open sqlite %s: %w", path, err)
	}
	db := &DB{dialect: SQLite, write: w, log: log, closers: []func() error{closerOf(w)}}
	ws, err := w.DB()
	if err != nil {
		return nil, err
	}
	ws.SetMaxOpenConns(1) // SQLite has one writer; a second connection would only wait on the lock
	ws.SetMaxIdleConns(1)
	ws.SetConnMaxLifetime(0)
	if err := ws.Ping(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("database: open sqlite %s: %w", path, err)
	}
	rcfg := gormConfig()
	// Readers reuse prepared statements: the hot read paths are a handful of
	// point queries, and preparing them once per connection halves their cost.
	rcfg.PrepareStmt = true
	r, err := gorm.Open(sqlite.Open(readDSN), rcfg)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("database: open sqlite readers: %w", err)
	}
	db.read = r
	db.closers = append(db.closers, closerOf(r))
	rs, _ := r.DB()
	readers := cfg.Readers
	if readers == 0 {
		// One reader per CPU: queries run in cgo on OS threads, and more
		// readers than cores only add contention (p99 of a point read at 50
		// connections: 14 ms with 2 readers, 23 ms with 4, on 2 cores).
		readers = runtime.GOMAXPROCS(0)
	}
	rs.SetMaxOpenConns(readers)
	rs.SetMaxIdleConns(readers)
	rs.SetConnMaxIdleTime(5 * time.Minute)
	if cfg.CheckpointInterval > 0 {
		params.Del("_query_only")
		cp, err := startCheckpointer(uri+"?"+params.Encode(), cfg.CheckpointInterval, log)
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("database: open sqlite checkpointer: %w", err)
		}
		db.closers = append(db.closers, cp.close) // closed first
	}
	db.commit = newCommitter(w, cfg.GroupCommitMax, log)
	return db, nil
}

// openPostgres opens the primary (a multi-host DSN with
// target_session_attrs=read-write follows a failover) and registers read
// replicas through dbresolver: queries outside transactions go to a replica.
func openPostgres(cfg config.Database, log *slog.Logger) (*DB, error) {
	g, err := gorm.Open(postgres.Open(cfg.DSN), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("database: open postgres: %w", err)
	}
	s, err := g.DB()
	if err != nil {
		return nil, err
	}
	s.SetMaxOpenConns(cfg.Postgres.MaxOpenConns)
	s.SetMaxIdleConns(cfg.Postgres.MaxIdleConns)
	s.SetConnMaxLifetime(cfg.Postgres.ConnMaxLifetime)
	if len(cfg.Postgres.Replicas) > 0 {
		var dials []gorm.Dialector
		for _, dsn := range cfg.Postgres.Replicas {
			dials = append(dials, postgres.Open(dsn))
		}
		err := g.Use(dbresolver.Register(dbresolver.Config{Replicas: dials, Policy: dbresolver.RandomPolicy{}}).
			SetMaxOpenConns(cfg.Postgres.MaxOpenConns).
			SetMaxIdleConns(cfg.Postgres.MaxIdleConns).
			SetConnMaxLifetime(cfg.Postgres.ConnMaxLifetime))
		if err != nil {
			return nil, fmt.Errorf("database: replicas: %w", err)
		}
	}
	return &DB{dialect: Postgres, write: g, read: g, log: log, closers: []func() error{closerOf(g)}}, nil
}
