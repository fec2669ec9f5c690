package database_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// createScratch adds a table the tests write to; it is not part of the schema.
func createScratch(tb testing.TB, db *database.DB) {
	tb.Helper()
	err := db.Tx(context.Background(), func(tx *gorm.DB) error {
		return tx.Exec(`CREATE TABLE scratch (id INTEGER PRIMARY KEY, note TEXT NOT NULL)`).Error
	})
	require.NoError(tb, err)
}

func insertScratch(tx *gorm.DB, id int) error {
	return tx.Exec(`INSERT INTO scratch (id, note) VALUES (?, ?)`, id, "row").Error
}

// scratchIDs returns the ids in scratch, read outside any transaction.
func scratchIDs(tb testing.TB, db *database.DB) []int {
	tb.Helper()
	var ids []int
	require.NoError(tb, db.Read(context.Background()).Raw(`SELECT id FROM scratch ORDER BY id`).Scan(&ids).Error)
	return ids
}
