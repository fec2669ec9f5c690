package activity

import (
	"context"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/migrations"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

// TestSQLSlotChangesMigration checks 00017: the slots stored before it are
// in the metric feed, stamped with the migration's time, before every
// later write; its Down drops the column and the index.
func TestSQLSlotChangesMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, dialect := range []string{database.SQLite, database.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := dbtest.Empty(t, dialect)
			fsys, err := migrations.FS(dialect)
			require.NoError(t, err)
			_, err = db.Migrate(ctx, migrationsBefore(t, fsys, "00017"))
			require.NoError(t, err)
			require.NoError(t, db.Tx(ctx, func(tx *gorm.DB) error {
				for _, start := range []time.Time{ct0, ct0.Add(SlotSize), time.Unix(-900, 0)} {
					err := tx.Exec(`INSERT INTO activity_metric_slots
						(user_id, metric, slot_start, value_sum, value_count, value_min, value_max)
						VALUES ('u-migrated', 'steps', ?, 10, 2, 4, 6)`, start.UnixMicro()).Error
					if err != nil {
						return err
					}
				}
				return nil
			}))

			before := time.Now().Truncate(time.Second)
			upTo17 := migrationsBefore(t, fsys, "00018") // later migrations stay out of the way
			applied, err := db.Migrate(ctx, upTo17)
			require.NoError(t, err)
			require.Equal(t, 1, applied)
			store := NewSQLStore(db)
			contractAdd(t, store, "u-new", []Sample{contractSample("steps", 0, 1, "phone", "")}, 1, 0)
			contractAdd(t, store, "u-migrated", []Sample{contractSample("steps", time.Minute, 5, "phone", "")}, 1, 0)

			got := metricFeed(t, store, ChangeCursor{}, pages(2), "u-migrated", "u-new")
			require.Len(t, got, 4)
			migrated := got[0].ChangedAt
			assert.False(t, migrated.Before(before), "stamped with the migration's time: %v", migrated)
			assert.Equal(t, migrated, got[1].ChangedAt)
			assert.Equal(t, []MetricSlotChange{
				{UserID: "u-migrated", Metric: "steps", SlotStart: time.Unix(-900, 0).UTC(), Sum: 10, Count: 2, Min: 4, Max: 6,
					ChangedAt: migrated},
				{UserID: "u-migrated", Metric: "steps", SlotStart: ct0.Add(SlotSize), Sum: 10, Count: 2, Min: 4, Max: 6,
					ChangedAt: migrated},
				{UserID: "u-new", Metric: "steps", SlotStart: ct0, Sum: 1, Count: 1, Min: 1, Max: 1, ChangedAt: got[2].ChangedAt},
				{UserID: "u-migrated", Metric: "steps", SlotStart: ct0, Sum: 15, Count: 3, Min: 4, Max: 6,
					ChangedAt: got[3].ChangedAt},
			}, got, "the stored slots first, then the writes after the migration")

			sqlDB, err := db.SQL()
			require.NoError(t, err)
			gooseDialect := goose.DialectSQLite3
			if dialect == database.Postgres {
				gooseDialect = goose.DialectPostgres
			}
			p, err := goose.NewProvider(gooseDialect, sqlDB, upTo17, goose.WithTableName("schema_migrations"))
			require.NoError(t, err)
			res, err := p.Down(ctx)
			require.NoError(t, err)
			require.Equal(t, "00017_activity_slot_changes.sql", res.Source.Path)
			assert.Error(t, db.Read(ctx).Exec("SELECT changed_at FROM activity_metric_slots").Error)
		})
	}
}
