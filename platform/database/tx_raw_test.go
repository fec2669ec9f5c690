package database_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

// TxRaw's raw connection is the transaction's: what COPY writes through it
// commits and rolls back with the transaction's statements. SQLite has
// none, and TxRaw is Tx there.
func TestTxRaw(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		createScratch(t, db)
		copyRows := func(raw database.Raw, ids ...int) error {
			return raw(func(dc any) error {
				rows := make([][]any, len(ids))
				for i, id := range ids {
					rows[i] = []any{int32(id), "copied"}
				}
				_, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{"scratch"}, []string{"id", "note"}, pgx.CopyFromRows(rows))
				return err
			})
		}
		if db.Dialect() == database.SQLite {
			err := db.TxRaw(ctx, func(tx *gorm.DB, raw database.Raw) error {
				assert.Error(t, raw(func(any) error { return nil }))
				return insertScratch(tx, 1)
			})
			require.NoError(t, err)
			assert.Equal(t, []int{1}, scratchIDs(t, db))
			return
		}
		require.NoError(t, db.TxRaw(ctx, func(tx *gorm.DB, raw database.Raw) error {
			if err := insertScratch(tx, 1); err != nil {
				return err
			}
			if err := copyRows(raw, 2, 3); err != nil {
				return err
			}
			var n int
			require.NoError(t, tx.Raw("SELECT COUNT(*) FROM scratch").Scan(&n).Error)
			assert.Equal(t, 3, n, "the copied rows are in the transaction")
			return nil
		}))
		assert.Equal(t, []int{1, 2, 3}, scratchIDs(t, db))
		boom := errors.New("boom")
		err := db.TxRaw(ctx, func(tx *gorm.DB, raw database.Raw) error {
			require.NoError(t, insertScratch(tx, 4))
			require.NoError(t, copyRows(raw, 5))
			return boom
		})
		require.ErrorIs(t, err, boom)
		assert.Equal(t, []int{1, 2, 3}, scratchIDs(t, db), "both rolled back")
		err = db.TxRaw(ctx, func(tx *gorm.DB, raw database.Raw) error { return copyRows(raw, 3) })
		assert.True(t, database.IsUniqueViolation(err), "a raw COPY's duplicate key: %v", err)
		err = db.TxRaw(ctx, func(tx *gorm.DB, raw database.Raw) error { panic("in a write") })
		assert.ErrorContains(t, err, "panicked")
	})
}
