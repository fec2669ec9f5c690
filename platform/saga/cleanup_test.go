package saga_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/saga"
)

func TestCleanup(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		reg := saga.NewRegistry()
		require.NoError(t, reg.Register(saga.Definition{Name: "cleanup.ok", Version: 1, Steps: []saga.Step{
			{Name: "a", Action: func(context.Context, *saga.Execution) error { return nil }},
		}}))
		orch, err := saga.New(saga.Options{DB: db, Registry: reg, Replica: "cleanup-test"})
		require.NoError(t, err)
		defer orch.Close()
		old, err := orch.Start(ctx, "cleanup.ok", map[string]int{"n": 1})
		require.NoError(t, err)
		recent, err := orch.Start(ctx, "cleanup.ok", map[string]int{"n": 2})
		require.NoError(t, err)
		parked := "01900000-0000-7000-8000-0000000000aa"
		week := time.Now().UTC().Add(-7 * 24 * time.Hour)
		require.NoError(t, db.Tx(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec(`UPDATE saga_instances SET finished_at = ? WHERE id = ?`, week, old).Error; err != nil {
				return err
			}
			if err := tx.Exec(`INSERT INTO saga_instances (id, name, version, state, step, data, last_error, attempts,
				lease_owner, lease_version, created_at, updated_at) VALUES (?, 'cleanup.ok', 1, 'needs_attention', 0, '{}', 'x', 1, '', 0, ?, ?)`,
				parked, week, week).Error; err != nil {
				return err
			}
			return tx.Exec(`INSERT INTO saga_effects (idem_key, created_at) VALUES (?, ?), (?, ?)`,
				old+":a", week, parked+":a", week).Error
		}))

		n, err := saga.Cleanup(ctx, db, time.Now().Add(-24*time.Hour))
		require.NoError(t, err)
		assert.Equal(t, 1, n, "only the old finished saga goes")
		_, err = orch.FindByID(ctx, old)
		assert.Error(t, err, "the old saga is deleted")
		_, err = orch.FindByID(ctx, recent)
		assert.NoError(t, err, "a recent saga stays")
		_, err = orch.FindByID(ctx, parked)
		assert.NoError(t, err, "a saga that needs attention stays")
		var keys []string
		require.NoError(t, db.Read(ctx).Table("saga_effects").Order("idem_key").Pluck("idem_key", &keys).Error)
		assert.Equal(t, []string{parked + ":a"}, keys, "effects of finished sagas go, a parked saga's stay")
	})
}
