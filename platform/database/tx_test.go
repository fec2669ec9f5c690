package database_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

// TestTx checks the contract of DB.Tx that holds on every dialect, with or
// without group commit.
func TestTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		createScratch(t, db)

		t.Run("commits_a_write_that_returns_nil", func(t *testing.T) {
			require.NoError(t, db.Tx(ctx, func(tx *gorm.DB) error { return insertScratch(tx, 1) }))
			assert.Contains(t, scratchIDs(t, db), 1)
		})

		t.Run("rolls_back_a_write_that_returns_an_error", func(t *testing.T) {
			err := db.Tx(ctx, func(tx *gorm.DB) error {
				require.NoError(t, insertScratch(tx, 2))
				return errBoom
			})
			assert.ErrorIs(t, err, errBoom)
			assert.NotContains(t, scratchIDs(t, db), 2)
		})

		t.Run("reports_a_duplicate_key_as_a_unique_violation", func(t *testing.T) {
			require.NoError(t, db.Tx(ctx, func(tx *gorm.DB) error { return insertScratch(tx, 3) }))
			err := db.Tx(ctx, func(tx *gorm.DB) error { return insertScratch(tx, 3) })
			assert.True(t, database.IsUniqueViolation(err), "got %v", err)
		})

		t.Run("returns_the_context_error_when_cancelled_before_it_starts", func(t *testing.T) {
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			err := db.Tx(cancelled, func(tx *gorm.DB) error { return insertScratch(tx, 4) })
			assert.ErrorIs(t, err, context.Canceled)
			assert.NotContains(t, scratchIDs(t, db), 4)
		})

		t.Run("commits_concurrent_writes", func(t *testing.T) {
			errs := together(50, func(i int) error {
				return db.Tx(ctx, func(tx *gorm.DB) error { return insertScratch(tx, 100+i) })
			})
			for i, err := range errs {
				assert.NoError(t, err, "write %d", i)
			}
			ids := scratchIDs(t, db)
			for i := range 50 {
				assert.Contains(t, ids, 100+i)
			}
		})

		t.Run("answers_ping", func(t *testing.T) {
			assert.NoError(t, db.Ping(ctx))
			assert.NotEmpty(t, db.Stats())
		})
	})
}
