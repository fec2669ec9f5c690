package etl

import (
	"context"

	"gorm.io/gorm"
)

// factIndex is a secondary index of a fact table the feeds write, as its
// migration (migrations/*/00001_warehouse.sql) creates it.
type factIndex struct{ name, table, columns string }

// deferredIndexes are the fact tables' secondary indexes that nothing
// reads while the feeds load: the analytics routes read them, and the goal
// snapshots, which come after the feeds. A load that finds such a table
// empty (a full load, or the first) drops its indexes and builds them
// after the feeds, once, in one sorted pass; written row by row, a batch
// of users' days would touch pages all over an index ordered by day.
var deferredIndexes = []factIndex{
	{"fact_workouts_user_date", "fact_workouts", "user_key, date_key"},
	{"fact_workouts_date", "fact_workouts", "date_key"},
	{"fact_daily_metrics_metric_date", "fact_daily_metrics", "metric, date_key"},
	{"fact_group_sessions_date", "fact_group_sessions", "date_key"},
}

// dropIndexesOfEmptyFacts drops the deferred indexes of the fact tables
// that are empty. The others are created if missing: a load cut short
// before buildIndexes leaves its tables without them. One transaction an
// index, so that a load never holds two tables' locks at once (an
// analytics query reading both could deadlock with it on PostgreSQL).
func (l *Loader) dropIndexesOfEmptyFacts(ctx context.Context) error {
	for _, ix := range deferredIndexes {
		err := l.tx(ctx, func(tx *gorm.DB) error {
			var found []int
			if err := tx.Raw("SELECT 1 FROM " + ix.table + " LIMIT 1").Scan(&found).Error; err != nil {
				return err
			}
			if len(found) > 0 {
				return tx.Exec(ix.create()).Error
			}
			return tx.Exec("DROP INDEX IF EXISTS " + ix.name).Error
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// buildIndexes creates the deferred indexes that are missing, each in a
// transaction of its own.
func (l *Loader) buildIndexes(ctx context.Context) error {
	for _, ix := range deferredIndexes {
		if err := l.tx(ctx, func(tx *gorm.DB) error { return tx.Exec(ix.create()).Error }); err != nil {
			return err
		}
	}
	return nil
}

func (ix factIndex) create() string {
	return "CREATE INDEX IF NOT EXISTS " + ix.name + " ON " + ix.table + " (" + ix.columns + ")"
}
