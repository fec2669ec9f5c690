package saga

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

// countingDB counts the write transactions that go through it.
type countingDB struct {
	*database.DB
	n atomic.Int64
}

func (c *countingDB) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	c.n.Add(1)
	return c.DB.Tx(ctx, fn)
}

// TestTransactionsPerSaga pins what one Start of a two-step saga costs in
// commits — a local effect, then a call elsewhere that writes nothing here —
// since on SQLite every sequential commit is an fsync the caller waits for.
func TestTransactionsPerSaga(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		require.NoError(t, db.Tx(context.Background(), func(tx *gorm.DB) error {
			return tx.Exec(`CREATE TABLE saga_test_goals (id TEXT PRIMARY KEY)`).Error
		}))
		c := &countingDB{DB: db}
		external := Step{Name: "notify", Action: func(context.Context, *Execution) error { return nil }}
		once := Step{Name: "store", Action: func(ctx context.Context, ex *Execution) error {
			return c.Tx(ctx, func(tx *gorm.DB) error {
				first, err := Once(tx, ex.Key())
				if err != nil || !first {
					return err
				}
				return tx.Exec(`INSERT INTO saga_test_goals (id) VALUES (?)`, ex.Key()).Error
			})
		}}
		inTx := Step{Name: "store", TxAction: func(_ context.Context, tx *gorm.DB, ex *Execution) error {
			return tx.Exec(`INSERT INTO saga_test_goals (id) VALUES (?)`, ex.Key()).Error
		}}
		reg := NewRegistry()
		require.NoError(t, reg.Register(Definition{Name: "count.once", Version: 1, Steps: []Step{once, external}}))
		require.NoError(t, reg.Register(Definition{Name: "count.tx", Version: 1, Steps: []Step{inTx, external}}))
		o, err := New(Options{DB: db, Registry: reg, Replica: "count",
			Config: config.Sagas{Lease: time.Minute, ResumeInterval: time.Minute}})
		require.NoError(t, err)
		t.Cleanup(o.Close)
		o.store.db = c

		for _, tc := range []struct {
			saga string
			txs  int64
		}{
			// Insert+lease+started, the step's own Tx, succeeded+started,
			// succeeded+completed+released. (Each save was its own commit
			// before, with an acquire after the insert: 8.)
			{"count.once", 4},
			// The effect commits with succeeded+started: 3.
			{"count.tx", 3},
		} {
			c.n.Store(0)
			_, err := o.Start(context.Background(), tc.saga, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.txs, c.n.Load(), "%s: transactions per Start", tc.saga)
		}
	})
}
