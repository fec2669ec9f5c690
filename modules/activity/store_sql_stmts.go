package activity

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"sync"
)

// maxChunkRows is the most rows one statement of AddSamples carries. Chunks
// are powers of two (a 1,000-sample batch runs 512+256+128+64+32+8), so a
// few dozen statement texts cover every batch and each is prepared once.
// 512 rows of at most 3 placeholders stay far below SQLite's 32,766
// variables and PostgreSQL's 65,535 parameters.
const maxChunkRows = 512

// numSizes counts the chunk sizes 1, 2, 4, … maxChunkRows.
const numSizes = 10

// chunkSizes splits n rows into descending powers of two up to maxChunkRows.
func chunkSizes(n int) []int {
	var out []int
	for n > 0 {
		size := min(maxChunkRows, 1<<(bits.Len(uint(n))-1))
		out = append(out, size)
		n -= size
	}
	return out
}

// The statements AddSamples runs. Every row of one statement has the same
// user, metric and source (placeholders 1, 2 and 3), so a row binds only
// its time, value and, for the "ID" kinds, its sample id: SQLite binds text
// by copying it, and binding the same metric and source a thousand times was
// a tenth of the writer's time.
const (
	insertPlain       stmtKind = iota // no sample ids in the chunk
	insertPlainID                     // sample ids (NULL where absent)
	insertReturning                   // as insertPlain, naming the inserted rows
	insertReturningID                 // as insertPlainID, naming the inserted rows
	upsertSlots                       // 15-minute rollups of one metric, stamped (placeholder 3)
	upsertHours                       // hourly rollups of one metric
	numKinds
)

type stmtKind int

// rollupTables are the tables of upsertSlots and upsertHours, in that order.
var rollupTables = [...]string{"activity_metric_slots", "activity_metric_hours"}

// insertKind is the insert statement for a chunk with or without sample ids.
func insertKind(returning, ids bool) stmtKind {
	k := insertPlain
	if returning {
		k = insertReturning
	}
	if ids {
		k++
	}
	return k
}

// stmtSQL builds the text of a statement of rows rows.
func stmtSQL(postgres bool, kind stmtKind, rows int) string {
	mark := byte('?')
	least, greatest := "MIN", "MAX" // SQLite's scalar forms
	if postgres {
		mark, least, greatest = '$', "LEAST", "GREATEST"
	}
	var b strings.Builder
	b.Grow(rows*40 + 400)
	next := 0
	ph := func(n int) {
		b.WriteByte(mark)
		b.WriteString(strconv.Itoa(n))
	}
	fresh := func() { // the next new placeholder
		b.WriteByte(',')
		ph(next)
		next++
	}
	if kind == upsertSlots || kind == upsertHours {
		// The 15-minute slots carry the change feed's stamp: placeholder 3,
		// bound once per statement, set on insert and on update alike.
		stamped := kind == upsertSlots
		table := rollupTables[kind-upsertSlots]
		b.WriteString("INSERT INTO " + table + " (user_id, metric, slot_start, value_sum, value_count, value_min, value_max")
		next = 3
		if stamped {
			b.WriteString(", changed_at")
			next = 4
		}
		b.WriteString(") VALUES ")
		for r := range rows {
			if r > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(")
			ph(1)
			b.WriteByte(',')
			ph(2)
			for range 5 {
				fresh()
			}
			if stamped {
				b.WriteByte(',')
				ph(3)
			}
			b.WriteByte(')')
		}
		b.WriteString(" ON CONFLICT (user_id, metric, slot_start) DO UPDATE SET" +
			" value_sum = " + table + ".value_sum + excluded.value_sum," +
			" value_count = " + table + ".value_count + excluded.value_count," +
			" value_min = " + least + "(" + table + ".value_min, excluded.value_min)," +
			" value_max = " + greatest + "(" + table + ".value_max, excluded.value_max)")
		if stamped {
			b.WriteString(", changed_at = excluded.changed_at")
		}
		return b.String()
	}
	ids := kind == insertPlainID || kind == insertReturningID
	b.WriteString("INSERT INTO activity_samples (user_id, metric, source, recorded_at, value, sample_id) VALUES ")
	next = 4
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(")
		ph(1)
		b.WriteByte(',')
		ph(2)
		b.WriteByte(',')
		ph(3)
		fresh() // recorded_at
		fresh() // value
		if ids {
			fresh()
		} else {
			b.WriteString(",NULL")
		}
		b.WriteByte(')')
	}
	// Without a conflict target DO NOTHING covers the primary key and the
	// sample-id index alike.
	b.WriteString(" ON CONFLICT DO NOTHING")
	if kind == insertReturning || kind == insertReturningID {
		b.WriteString(" RETURNING recorded_at, value")
	}
	return b.String()
}

// stmtTexts holds every statement text, built once: [postgres][kind][size index].
var stmtTexts = sync.OnceValue(func() (t [2][numKinds][numSizes]string) {
	for d, postgres := range []bool{false, true} {
		for k := range numKinds {
			for i := range numSizes {
				t[d][k][i] = stmtSQL(postgres, k, 1<<i)
			}
		}
	}
	return t
})

func stmtText(postgres bool, kind stmtKind, rows int) string {
	d := 0
	if postgres {
		d = 1
	}
	return stmtTexts()[d][kind][bits.TrailingZeros(uint(rows))]
}

// preparedStmts are one database's statements, as stmtTexts.
type preparedStmts [numKinds][numSizes]*sql.Stmt

// stmtCache holds AddSamples' statements prepared on SQLite's writer
// connection. Parsing and compiling a 512-row INSERT cost SQLite more than
// running it; prepared once, a batch only binds and steps. They are prepared
// outside any transaction: the writer has one connection, which the group
// committer holds while a transaction runs. (On PostgreSQL pgx keeps its own
// per-connection statement cache keyed by the text, so the fixed texts are
// enough.)
type stmtCache struct {
	mu    sync.Mutex
	stmts *preparedStmts
}

// prepare prepares every statement AddSamples may run on db, once.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB) (*preparedStmts, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stmts != nil {
		return c.stmts, nil
	}
	var stmts preparedStmts
	for k := range numKinds {
		for i := range numSizes {
			st, err := db.PrepareContext(ctx, stmtText(false, k, 1<<i))
			if err != nil {
				stmts.close()
				return nil, fmt.Errorf("prepare: %w", err)
			}
			stmts[k][i] = st
		}
	}
	c.stmts = &stmts
	return c.stmts, nil
}

func (p *preparedStmts) close() {
	for k := range p {
		for _, st := range p[k] {
			if st != nil {
				_ = st.Close()
			}
		}
	}
}
