package activity

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// samplePlan is an AddSamples batch made ready before its transaction, on
// the caller's goroutine (on SQLite the transaction runs on the one writer,
// so the less it does the more batches it commits): the batch's own
// duplicates removed, rows cut into statement chunks with their arguments,
// rollups summed on the assumption that every sample is new.
type samplePlan struct {
	postgres bool
	userID   string
	samples  []Sample // in plan order, no two alike
	chunks   []sampleChunk
	slots    map[slotKey]*Slot
}

// sampleChunk is one insert statement: rows samples of one metric and
// source, with the arguments (user id, metric, source, then per row).
type sampleChunk struct {
	rows   int
	ids    bool // some sample has a sample id
	metric string
	args   []any
}

type slotKey struct {
	metric string
	start  int64
}

func newSamplePlan(postgres bool, userID string, samples []Sample) *samplePlan {
	p := &samplePlan{postgres: postgres, userID: userID, samples: uniqueSamples(samples), slots: map[slotKey]*Slot{}}
	for run := range runs(p.samples) {
		for _, size := range chunkSizes(len(run)) {
			p.chunks = append(p.chunks, newSampleChunk(userID, run[:size], p.slots))
			run = run[size:]
		}
	}
	return p
}

// runs yields the stretches of samples that share metric and source.
func runs(samples []Sample) func(yield func([]Sample) bool) {
	return func(yield func([]Sample) bool) {
		for len(samples) > 0 {
			n := 1
			for n < len(samples) && samples[n].Metric == samples[0].Metric && samples[n].Source == samples[0].Source {
				n++
			}
			if !yield(samples[:n]) {
				return
			}
			samples = samples[n:]
		}
	}
}

func newSampleChunk(userID string, samples []Sample, slots map[slotKey]*Slot) sampleChunk {
	ch := sampleChunk{rows: len(samples), metric: samples[0].Metric}
	ch.ids = slices.ContainsFunc(samples, func(sm Sample) bool { return sm.SampleID != "" })
	perRow := 2
	if ch.ids {
		perRow = 3
	}
	ch.args = make([]any, 0, 3+len(samples)*perRow)
	ch.args = append(ch.args, userID, samples[0].Metric, samples[0].Source)
	for i := range samples {
		sm := &samples[i]
		at := sm.RecordedAt.UnixMicro()
		ch.args = append(ch.args, at, sm.Value)
		if ch.ids {
			var sampleID any // NULL when absent: the sample-id index skips it
			if sm.SampleID != "" {
				sampleID = sm.SampleID
			}
			ch.args = append(ch.args, sampleID)
		}
		addToSlot(slots, sm.Metric, at, sm.Value)
	}
	return ch
}

// uniqueSamples returns samples in plan order (metric, source, time) without
// the ones that repeat an earlier one — same key, or same sample id — and
// copies only when it must. A fixed order also makes concurrent batches that
// overlap take PostgreSQL's row locks in the same order (no deadlock), and
// SQLite appends to its b-tree in order.
func uniqueSamples(samples []Sample) []Sample {
	if !slices.IsSortedFunc(samples, compareSamples) {
		samples = slices.Clone(samples)
		slices.SortStableFunc(samples, compareSamples) // stable: the first of equal keys stays first
	}
	var ids map[string]struct{}
	var out []Sample // nil until the first duplicate
	for i := range samples {
		sm := &samples[i]
		dup := i > 0 && compareSamples(samples[i-1], *sm) == 0
		if !dup && sm.SampleID != "" {
			if ids == nil {
				ids = make(map[string]struct{}, len(samples))
			}
			_, dup = ids[sm.SampleID]
			ids[sm.SampleID] = struct{}{}
		}
		switch {
		case dup && out == nil:
			out = slices.Clone(samples[:i:i])
		case !dup && out != nil:
			out = append(out, *sm)
		}
	}
	if out == nil {
		return samples
	}
	return out
}

func compareSamples(a, b Sample) int {
	return cmp.Or(strings.Compare(a.Metric, b.Metric), strings.Compare(a.Source, b.Source),
		a.RecordedAt.Compare(b.RecordedAt))
}

func addToSlot(slots map[slotKey]*Slot, metric string, at int64, value float64) {
	k := slotKey{metric, slotStart(at)}
	sl := slots[k]
	if sl == nil {
		slots[k] = &Slot{Sum: value, Count: 1, Min: value, Max: value}
		return
	}
	sl.Sum += value
	sl.Count++
	sl.Min = min(sl.Min, value)
	sl.Max = max(sl.Max, value)
}

// sampleTx runs a plan's statements on the write transaction.
type sampleTx struct {
	ctx      context.Context
	postgres bool
	conn     gorm.ConnPool
	tx       *sql.Tx        // nil when the pool is not a plain *sql.Tx
	prepared *preparedStmts // SQLite only
	at       time.Time      // the slots' changed_at
}

// newSampleTx is called inside the transaction, so the stamp it takes is
// the time the write runs (on SQLite, on the one writer: in commit order).
func newSampleTx(tx *gorm.DB, postgres bool, prepared *preparedStmts) *sampleTx {
	t := &sampleTx{ctx: tx.Statement.Context, postgres: postgres, conn: tx.Statement.ConnPool, prepared: prepared,
		at: changeStamp()}
	t.tx, _ = t.conn.(*sql.Tx)
	return t
}

// stmt returns the transaction's copy of a prepared statement, or nil.
func (t *sampleTx) stmt(kind stmtKind, rows int) *sql.Stmt {
	if t.tx == nil || t.prepared == nil {
		return nil
	}
	return t.tx.StmtContext(t.ctx, t.prepared[kind][bits.TrailingZeros(uint(rows))])
}

func (t *sampleTx) exec(kind stmtKind, rows int, args []any) (sql.Result, error) {
	if st := t.stmt(kind, rows); st != nil {
		defer st.Close()
		return st.ExecContext(t.ctx, args...)
	}
	return t.conn.ExecContext(t.ctx, stmtText(t.postgres, kind, rows), args...)
}

// query runs a statement that returns rows; done releases them.
func (t *sampleTx) query(kind stmtKind, rows int, args []any) (res *sql.Rows, done func(), err error) {
	st := t.stmt(kind, rows)
	if st == nil {
		res, err = t.conn.QueryContext(t.ctx, stmtText(t.postgres, kind, rows), args...)
		if err != nil {
			return nil, nil, err
		}
		return res, func() { _ = res.Close() }, nil
	}
	res, err = st.QueryContext(t.ctx, args...)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return res, func() { _ = res.Close(); _ = st.Close() }, nil
}

// errSomeRepeated says a plain insert met stored duplicates.
var errSomeRepeated = errors.New("some samples repeat stored ones")

// run stores the plan and returns how many samples it inserted.
//
// SQLite first tries plain INSERTs, whose row counts tell whether every
// sample was new: then the rollups summed beforehand are exact. If some were
// not (a client sending samples again), the inserts are rolled back to a
// savepoint and run again with RETURNING, which names the inserted rows to
// sum. Returning and scanning every row through cgo cost about 1 µs of CPU
// per sample, most of it on the writer (BenchmarkAddSamples: 2.8 against
// 1.8 µs a sample). PostgreSQL always uses RETURNING: there the savepoint
// would cost round trips, and the rows are cheap.
func (p *samplePlan) run(t *sampleTx) (int, error) {
	if !p.postgres {
		if _, err := t.conn.ExecContext(t.ctx, "SAVEPOINT activity_add_samples"); err != nil {
			return 0, err
		}
		n, err := p.insertPlain(t)
		if !errors.Is(err, errSomeRepeated) {
			return n, err
		}
	}
	slots := map[slotKey]*Slot{}
	n := 0
	for _, ch := range p.chunks {
		inserted, err := insertReturningChunk(t, ch, slots)
		if err != nil {
			return 0, err
		}
		n += inserted
	}
	if !p.postgres {
		if _, err := t.conn.ExecContext(t.ctx, "RELEASE activity_add_samples"); err != nil {
			return 0, err
		}
	}
	return n, p.upsertRollups(t, slots)
}

// insertPlain is run's first way on SQLite; on errSomeRepeated the work is
// rolled back to the savepoint, which stays open.
func (p *samplePlan) insertPlain(t *sampleTx) (int, error) {
	n := int64(0)
	for _, ch := range p.chunks {
		res, err := t.exec(insertKind(false, ch.ids), ch.rows, ch.args)
		if err != nil {
			return 0, err
		}
		affected, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		n += affected
	}
	if n < int64(len(p.samples)) {
		if _, err := t.conn.ExecContext(t.ctx, "ROLLBACK TO activity_add_samples"); err != nil {
			return 0, err
		}
		return 0, errSomeRepeated
	}
	if _, err := t.conn.ExecContext(t.ctx, "RELEASE activity_add_samples"); err != nil {
		return 0, err
	}
	return int(n), p.upsertRollups(t, p.slots)
}

func insertReturningChunk(t *sampleTx, ch sampleChunk, slots map[slotKey]*Slot) (int, error) {
	rows, done, err := t.query(insertKind(true, ch.ids), ch.rows, ch.args)
	if err != nil {
		return 0, err
	}
	defer done()
	n := 0
	var at int64
	var value float64
	for rows.Next() {
		if err := rows.Scan(&at, &value); err != nil {
			return 0, err
		}
		addToSlot(slots, ch.metric, at, value)
		n++
	}
	return n, rows.Err()
}

// upsertRollups adds rollups to activity_metric_slots, stamping each slot's
// changed_at (the metric change feed), and the same summed per hour to
// activity_metric_hours: for 1,000 per-minute samples about 68 slot rows
// and 17 hour rows. Each table gets one statement per metric and chunk, in
// key order, slots first, so that concurrent transactions lock rows in the
// same order.
func (p *samplePlan) upsertRollups(t *sampleTx, slots map[slotKey]*Slot) error {
	keys := make([]slotKey, 0, len(slots))
	for k := range slots {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b slotKey) int {
		return cmp.Or(strings.Compare(a.metric, b.metric), cmp.Compare(a.start, b.start))
	})
	if err := p.upsert(t, upsertSlots, keys, slots); err != nil {
		return err
	}
	hourKeys, hours := hourRollups(keys, slots)
	return p.upsert(t, upsertHours, hourKeys, hours)
}

// hourRollups sums slots, whose keys are sorted, per hour; the hours' keys
// come out sorted too.
func hourRollups(keys []slotKey, slots map[slotKey]*Slot) ([]slotKey, map[slotKey]*Slot) {
	var hourKeys []slotKey
	hours := make(map[slotKey]*Slot, len(keys)/3+1)
	for _, k := range keys {
		sl, hk := slots[k], slotKey{k.metric, hourStart(k.start)}
		h := hours[hk]
		if h == nil {
			hourKeys = append(hourKeys, hk)
			hours[hk] = &Slot{Sum: sl.Sum, Count: sl.Count, Min: sl.Min, Max: sl.Max}
			continue
		}
		h.Sum += sl.Sum
		h.Count += sl.Count
		h.Min, h.Max = min(h.Min, sl.Min), max(h.Max, sl.Max)
	}
	return hourKeys, hours
}

// upsert runs kind (upsertSlots or upsertHours) over the rollups of keys,
// sorted by metric.
func (p *samplePlan) upsert(t *sampleTx, kind stmtKind, keys []slotKey, rollups map[slotKey]*Slot) error {
	for len(keys) > 0 {
		n := 1
		for n < len(keys) && keys[n].metric == keys[0].metric {
			n++
		}
		for _, size := range chunkSizes(n) {
			args := make([]any, 0, 3+size*5)
			args = append(args, p.userID, keys[0].metric)
			if kind == upsertSlots {
				args = append(args, t.at)
			}
			for _, k := range keys[:size] {
				r := rollups[k]
				args = append(args, k.start, r.Sum, r.Count, r.Min, r.Max)
			}
			if _, err := t.exec(kind, size, args); err != nil {
				return fmt.Errorf("rollups: %w", err)
			}
			keys, n = keys[size:], n-size
		}
	}
	return nil
}
