package users

import (
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// goalTombstoneRow marks a deleted goal for the goal feed.
type goalTombstoneRow struct {
	GoalID    string `gorm:"primaryKey"`
	UserID    string
	DeletedAt time.Time // a plain time: gorm's soft delete is not involved
}

func (goalTombstoneRow) TableName() string { return "users_goal_tombstones" }

// accountChangeRow is the part of users_accounts the account feed reads:
// nothing personal is even selected.
type accountChangeRow struct {
	ID               string
	Role             string
	Timezone         string
	Disabled         bool
	LeaderboardOptIn bool
	DeletedAt        *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// afterCursor keeps the rows strictly after c in (at, id) order. The
// redundant "at >= ?" lets both dialects range-scan the (at, id) index. The
// time is bound in UTC: SQLite compares TIMESTAMP text, which orders as
// time only when every value has the same zone, and the module writes UTC.
func afterCursor(q *gorm.DB, at, id string, c ChangeCursor) *gorm.DB {
	if c.At.IsZero() && c.ID == "" {
		return q
	}
	t := c.At.UTC()
	return q.Where(at+" >= ? AND ("+at+" > ? OR "+id+" > ?)", t, t, c.ID)
}

// accountChanges reads accounts written after the cursor, in (updated_at,
// id) order, through users_accounts_changes.
func (s *store) accountChanges(q *gorm.DB, after ChangeCursor, limit int) ([]accountChangeRow, error) {
	var rows []accountChangeRow
	err := afterCursor(q.Table("users_accounts"), "updated_at", "id", after).
		Select("id, role, timezone, disabled, leaderboard_opt_in, deleted_at, created_at, updated_at").
		Order("updated_at, id").Limit(limit).Scan(&rows).Error
	return rows, translate(err, nil)
}

// goalChanges reads goals written after the cursor, in (updated_at, id)
// order, through users_goals_changes.
func (s *store) goalChanges(q *gorm.DB, after ChangeCursor, limit int) ([]goalRow, error) {
	var rows []goalRow
	err := afterCursor(q.Model(&goalRow{}), "updated_at", "id", after).
		Order("updated_at, id").Limit(limit).Find(&rows).Error
	return rows, translate(err, nil)
}

// goalTombstones reads goal tombstones after the cursor, in (deleted_at,
// goal_id) order, through users_goal_tombstones_changes.
func (s *store) goalTombstones(q *gorm.DB, after ChangeCursor, limit int) ([]goalTombstoneRow, error) {
	var rows []goalTombstoneRow
	err := afterCursor(q.Model(&goalTombstoneRow{}), "deleted_at", "goal_id", after).
		Order("deleted_at, goal_id").Limit(limit).Find(&rows).Error
	return rows, translate(err, nil)
}

// tombstoneBatch bounds the ids of one statement (SQLite allows 32,766
// parameters, PostgreSQL 65,535).
const tombstoneBatch = 500

// deleteGoals deletes the goals matching where (a condition on users_goals
// with its args), leaving a tombstone stamped now for each, in the caller's
// transaction, and returns how many it deleted. Every deletion of a goal
// goes through it, so the goal feed sees them all.
func (s *store) deleteGoals(tx *gorm.DB, now time.Time, where string, args ...any) (int, error) {
	var stones []goalTombstoneRow
	err := tx.Table("users_goals").Select("id AS goal_id, user_id").Where(where, args...).Order("id").Scan(&stones).Error
	if err != nil {
		return 0, translate(err, nil)
	}
	for batch := range slices.Chunk(stones, tombstoneBatch) {
		ids := make([]string, len(batch))
		for i := range batch {
			batch[i].DeletedAt = now
			ids[i] = batch[i].GoalID
		}
		err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "goal_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"user_id", "deleted_at"})}).Create(&batch).Error
		if err != nil {
			return 0, translate(err, nil)
		}
		if err := tx.Where("id IN ?", ids).Delete(&goalRow{}).Error; err != nil {
			return 0, translate(err, nil)
		}
	}
	return len(stones), nil
}

// dropGoalTombstone forgets that a goal was deleted: it is stored again.
func (s *store) dropGoalTombstone(tx *gorm.DB, goalID string) error {
	return translate(tx.Where("goal_id = ?", goalID).Delete(&goalTombstoneRow{}).Error, nil)
}
