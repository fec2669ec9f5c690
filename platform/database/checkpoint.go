package database

import (
	"database/sql"
	"log/slog"
	"strconv"
	"sync"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// writerCheckpointPages is the WAL size (in pages) at which the writer
// checkpoints itself when a background checkpointer runs: a backstop the
// checkpointer normally keeps it far from.
const writerCheckpointPages = 10000

// writerDriver is mattn's driver with the writer connection's own
// checkpoint threshold set on every connection it opens, so a reopened
// writer keeps it.
const writerDriver = "sqlite3_fitloop_writer"

func init() {
	sql.Register(writerDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA wal_autocheckpoint="+strconv.Itoa(writerCheckpointPages), nil)
		return err
	}})
}

// checkpointer copies the WAL into the database file from a connection of
// its own every interval (PRAGMA wal_checkpoint(PASSIVE): it never blocks
// the writer or readers). Left to the writer, that copy runs inside a
// commit every 1,000 pages (4 MB) and the writes queued behind it wait;
// here it runs beside the writer on another core, copies a page rewritten
// by many commits once, and the writer only checkpoints itself if the WAL
// outgrows writerCheckpointPages. Durability does not depend on it: every
// commit is in the WAL, fsynced per the synchronous setting, before it is
// acknowledged.
type checkpointer struct {
	conn *sql.DB
	log  *slog.Logger
	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
	err  error
}

func startCheckpointer(dsn string, every time.Duration, log *slog.Logger) (*checkpointer, error) {
	conn, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	c := &checkpointer{conn: conn, log: log, stop: make(chan struct{})}
	c.done.Add(1)
	go c.loop(every)
	return c, nil
}

func (c *checkpointer) loop(every time.Duration) {
	defer c.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		_, err := c.conn.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		if err != nil && !failing && c.log != nil {
			c.log.Warn("database: background checkpoint failed; the writer checkpoints itself", slog.String("error", err.Error()))
		}
		failing = err != nil
	}
}

// close stops the loop and closes its connection (once; DB.Close may be
// called again).
func (c *checkpointer) close() error {
	c.once.Do(func() {
		close(c.stop)
		c.done.Wait()
		c.err = c.conn.Close()
	})
	return c.err
}
