package etl

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/breaker"
	"github.com/fitloop/fitloop/platform/changefeed"
	"github.com/fitloop/fitloop/platform/database"
)

// Loader defaults.
const (
	DefaultBatch = 5000            // changes read and written per transaction
	DefaultLag   = 5 * time.Minute // how far before its watermark a run re-reads a feed
	MaxBatch     = changefeed.MaxLimit
)

// Source names: the keys of etl_watermarks.
const (
	SourceUsers    = "users"
	SourceGoals    = "goals"
	SourceWorkouts = "workouts"
	SourceMetrics  = "metrics"
	SourceSessions = "sessions"
)

// Loader runs loads into the warehouse.
type Loader struct {
	wh      *database.DB
	breaker *breaker.Breaker // nil: calls unguarded
	feeds   Feeds
	key     []byte
	batch   int
	lag     time.Duration
	now     func() time.Time
	// crash, set by tests, fails a batch after its rows are written and
	// before its transaction commits, as a process dying mid-run would.
	crash func(source string) error
	// noCopy, set by benchmarks, stages rows with batched INSERTs on
	// PostgreSQL too, instead of COPY.
	noCopy bool
	// known caches the users of the fact feeds' batches (Loader.batchUsers).
	known map[string]knownUser
	// pace is how long a load pauses after each batch, in times the batch
	// took (0: none; LoaderDeps.Pace).
	pace float64
}

// LoaderDeps is what a Loader needs.
type LoaderDeps struct {
	Warehouse    *database.DB     // migrated (OpenWarehouse)
	Breaker      *breaker.Breaker // around every warehouse call; nil: none
	Feeds        Feeds
	PseudonymKey []byte           // the users' pseudonyms' key; at least 16 bytes
	Batch        int              // DefaultBatch when 0
	Lag          time.Duration    // DefaultLag when 0; negative: none
	Now          func() time.Time // time.Now when nil
	// Pace makes a load pause after each batch Pace times as long as the
	// batch took (1: the load takes about half a core); 0: no pauses.
	Pace float64
}

// NewLoader checks deps and returns a Loader.
func NewLoader(d LoaderDeps) (*Loader, error) {
	switch {
	case d.Warehouse == nil || d.Feeds.Users == nil:
		return nil, errors.New("etl: the loader needs a warehouse and the users feed")
	case len(d.PseudonymKey) < 16:
		return nil, errors.New("etl: the pseudonym key must be at least 16 bytes")
	case d.Batch < 0 || d.Batch > MaxBatch:
		return nil, fmt.Errorf("etl: batch must be 1 to %d", MaxBatch)
	}
	l := &Loader{wh: d.Warehouse, breaker: d.Breaker, feeds: d.Feeds, key: d.PseudonymKey,
		batch: d.Batch, lag: d.Lag, now: d.Now, pace: d.Pace}
	if l.batch == 0 {
		l.batch = DefaultBatch
	}
	if l.lag == 0 {
		l.lag = DefaultLag
	}
	l.lag = max(l.lag, 0)
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

// Counts are one table's rows in a run.
type Counts struct {
	Read    int `json:"read"`
	Written int `json:"written"` // upserted or deleted
}

// Stats are what a run did, by source, and where it left each feed.
type Stats struct {
	Tables     map[string]*Counts `json:"tables"`
	Watermarks map[string]Cursor  `json:"watermarks"`
	// Reread: an account came back after being taken out, so the fact
	// feeds were read again from the start.
	Reread bool `json:"reread,omitempty"`
}

func (s *Stats) table(name string) *Counts {
	if s.Tables[name] == nil {
		s.Tables[name] = &Counts{}
	}
	return s.Tables[name]
}

// Run loads what changed since the last run, source by source (users
// first, so facts find their user's time zone). With full, it empties the
// warehouse and loads everything again, in one transaction per batch like
// any run: a crash midway leaves a consistent, partly loaded warehouse
// that the next run completes. Fact tables that start empty get their
// secondary indexes after the feeds (deferredIndexes).
func (l *Loader) Run(ctx context.Context, full bool) (*Stats, error) {
	st := &Stats{Tables: map[string]*Counts{}, Watermarks: map[string]Cursor{}}
	l.known = nil
	if full {
		if err := l.reset(ctx); err != nil {
			return st, err
		}
	}
	steps := []func() error{
		func() error { return l.dropIndexesOfEmptyFacts(ctx) },
		func() error { return pump(ctx, l, st, SourceUsers, l.feeds.Users, l.applyUsers) },
		func() error { return pump(ctx, l, st, SourceGoals, l.feeds.Goals, l.applyGoals) },
		func() error { return pump(ctx, l, st, SourceWorkouts, l.feeds.Workouts, l.applyWorkouts) },
		func() error { return pump(ctx, l, st, SourceMetrics, l.feeds.Metrics, l.applyMetrics) },
		func() error { return pump(ctx, l, st, SourceSessions, l.feeds.Sessions, l.applySessions) },
		func() error { return l.buildIndexes(ctx) },
		func() error { return l.snapshotGoals(ctx, st) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return st, err
		}
	}
	return st, nil
}

// reset empties the warehouse's tables and watermarks in one transaction.
func (l *Loader) reset(ctx context.Context) error {
	return l.tx(ctx, func(tx *gorm.DB) error {
		for _, t := range append(slices.Clone(userTables), "dim_user", "dim_workout_type", "etl_watermarks", "etl_erased_users") {
			if err := tx.Exec("DELETE FROM " + t).Error; err != nil {
				return fmt.Errorf("etl: empty %s: %w", t, err)
			}
		}
		return nil
	})
}

// pump moves one feed into the warehouse: batch by batch from a lag window
// before its watermark, each batch applied and the watermark moved in one
// transaction. A nil feed has nothing to move.
func pump[T any](ctx context.Context, l *Loader, st *Stats, source string, fetch Feed[T],
	apply func(*gorm.DB, []T, *Stats) error) error {
	if fetch == nil {
		return nil
	}
	mark, readAt, err := l.readMark(ctx, source)
	if err != nil {
		return err
	}
	from := mark
	if l.lag > 0 && !mark.At.IsZero() {
		// A change this load's feed did not show yet was committed after the
		// previous load began reading it, so its changed_at is at most a lag
		// before that: re-read from a lag before the watermark or that
		// beginning, whichever is later. (After a burst of changes long ago,
		// nothing is read twice.)
		if start := maxTime(mark.At, readAt).Add(-l.lag); start.Before(mark.At) {
			from = Cursor{At: start}
		}
	}
	began := l.now().UTC() // this load's first read of the feed
	// Unpaced (fitloop etl run), the next page is read while this one is
	// written: the source and the warehouse work at once. Paced (in the
	// server), the load reads and writes in turn, so that it never takes
	// both cores of a small machine from the API, and the pause after a
	// batch counts the read of the next page too.
	prefetch := l.pace <= 0
	type page struct {
		rows []T
		last Cursor
		err  error
	}
	read := func(from Cursor) <-chan page {
		ch := make(chan page, 1) // a page read for a load that failed is dropped
		fetchPage := func() {
			rows, last, err := fetch(ctx, from, l.batch)
			ch <- page{rows, last, err}
		}
		if !prefetch {
			fetchPage()
			return ch
		}
		go fetchPage()
		return ch
	}
	next := read(from)
	defer func() { // no read outlives the load
		if next != nil {
			<-next
		}
	}()
	for {
		p := <-next
		next = nil
		if p.err != nil {
			return fmt.Errorf("etl: read %s: %w", source, p.err)
		}
		rows, last := p.rows, p.last
		if len(rows) == 0 {
			break
		}
		more := len(rows) == l.batch
		if more && prefetch {
			next = read(last)
		}
		err := l.paced(ctx, func() error {
			err := l.tx(ctx, func(tx *gorm.DB) error {
				if err := apply(tx, rows, st); err != nil {
					return err
				}
				if l.crash != nil {
					if err := l.crash(source); err != nil {
						return err // the batch's rows were written: the transaction takes them back
					}
				}
				if !last.After(mark) {
					return nil // re-read inside the lag window: the watermark stays
				}
				return tx.Clauses(clause.OnConflict{UpdateAll: true}).
					Create(&watermarkRow{Source: source, ChangedAt: last.At.UTC(), ID: last.ID, UpdatedAt: began}).Error
			})
			if err == nil && more && !prefetch {
				next = read(last)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("etl: load %s: %w", source, err)
		}
		if last.After(mark) {
			mark = last
		}
		if len(rows) < l.batch {
			break
		}
	}
	if mark.At.IsZero() {
		return nil
	}
	st.Watermarks[source] = mark
	// The feed was read to its end: the next load's lag window may start
	// from this one's beginning even when no batch moved the watermark.
	return l.tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&watermarkRow{}).Where("source = ? AND updated_at < ?", source, began).Update("updated_at", began).Error
	})
}

// paced runs a step of a load, then (with a pace set) pauses pace times
// as long as the step took, so that a load in the server leaves the API
// its share of the CPU.
func (l *Loader) paced(ctx context.Context, step func() error) error {
	start := time.Now()
	if err := step(); err != nil || l.pace <= 0 {
		return err
	}
	pause := time.NewTimer(time.Duration(float64(time.Since(start)) * l.pace))
	defer pause.Stop()
	select {
	case <-pause.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ErrWarehouseUnavailable answers while the warehouse's breaker is open.
var ErrWarehouseUnavailable = apperr.E(apperr.Unavailable, "warehouse_unavailable",
	"The reporting warehouse is unavailable; try again later.")

// guard runs a warehouse call through the breaker: while the warehouse is
// down, calls fail at once instead of each waiting for a time-out.
func (l *Loader) guard(ctx context.Context, fn func(context.Context) error) error {
	if l.breaker == nil {
		return fn(ctx)
	}
	err := l.breaker.Do(ctx, fn)
	if errors.Is(err, breaker.ErrOpen) {
		return fmt.Errorf("%w: %w", ErrWarehouseUnavailable, err)
	}
	return err
}

// tx is one guarded warehouse transaction. On PostgreSQL it commits
// without waiting for the WAL to reach the disk (synchronous_commit off,
// for this transaction only): a crash of the server loses at most the last
// batches, their watermarks with them, and the next load writes them again
// — as on SQLite, whose warehouse runs with synchronous=NORMAL. A load
// commits a transaction a batch; waiting for a flush each time would bound
// it by the disk.
func (l *Loader) tx(ctx context.Context, fn func(*gorm.DB) error) error {
	return l.guard(ctx, func(ctx context.Context) error {
		return l.wh.TxRaw(ctx, func(tx *gorm.DB, raw database.Raw) error {
			if l.wh.Dialect() == database.Postgres {
				if err := tx.Exec("SET LOCAL synchronous_commit = off").Error; err != nil {
					return err
				}
				tx = tx.WithContext(context.WithValue(tx.Statement.Context, rawKey{}, raw)) // for copyRows
			}
			return fn(tx)
		})
	})
}

// available reports whether the warehouse's breaker lets calls through.
func (l *Loader) available() bool { return l.breaker == nil || l.breaker.State() != breaker.StateOpen }

// readMark returns how far source has been loaded (zero: not yet), and
// when the load that moved it last began reading the feed.
func (l *Loader) readMark(ctx context.Context, source string) (Cursor, time.Time, error) {
	var w watermarkRow
	err := l.guard(ctx, func(ctx context.Context) error {
		return l.wh.Read(ctx).Where("source = ?", source).Limit(1).Find(&w).Error
	})
	if err != nil {
		return Cursor{}, time.Time{}, fmt.Errorf("etl: read the %s watermark: %w", source, err)
	}
	return Cursor{At: w.ChangedAt, ID: w.ID}, w.UpdatedAt, nil
}
