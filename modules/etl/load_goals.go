package etl

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

var (
	goalCols = []string{"goal_id", "user_key", "goal_type", "period", "target", "target_date", "status", "created_at",
		"changed_at", "snapshot_through"}
	goalKey      = []string{"goal_id"}
	progressCols = []string{"goal_id", "date_key", "user_key", "goal_type", "target", "progress", "achieved"}
	progressKey  = []string{"goal_id", "date_key"}
)

// applyGoals upserts dim_goal and deletes the tombstoned goals with their
// snapshots; the goals' users are queued for new snapshots.
func (l *Loader) applyGoals(tx *gorm.DB, rows []GoalChange, st *Stats) error {
	c := st.table("dim_goal")
	c.Read += len(rows)
	keys := pseudonyms(l.key, rows, func(g GoalChange) string { return g.UserID })
	_, erased, err := l.batchUsers(tx, keys)
	if err != nil {
		return err
	}
	var keep [][]any
	var gone []string
	dirty := map[string]int{}
	for i, g := range rows {
		key := keys[i]
		if erased[key] {
			continue
		}
		dirty[key] = 0 // all of the user's goals again
		if g.Deleted {
			gone = append(gone, g.GoalID)
			continue
		}
		// snapshot_through is NULL: the snapshots are taken again whole.
		keep = append(keep, []any{g.GoalID, key, g.GoalType, g.Period, g.TargetValue, targetDate(g.TargetDate),
			g.Status, g.CreatedAt.UTC(), g.ChangedAt.UTC(), nil})
	}
	if err := upsert(tx, "dim_goal", goalCols, goalKey, keep); err != nil {
		return err
	}
	c.Written += len(keep)
	if len(gone) > 0 {
		res := tx.Exec("DELETE FROM fact_goal_progress WHERE goal_id IN ?", gone)
		if res.Error != nil {
			return res.Error
		}
		st.table("fact_goal_progress").Written += int(res.RowsAffected)
		if res = tx.Exec("DELETE FROM dim_goal WHERE goal_id IN ?", gone); res.Error != nil {
			return res.Error
		}
		c.Written += int(res.RowsAffected)
	}
	return markDirty(tx, dirty)
}

// targetDate is a YYYY-MM-DD date's key, or nil.
func targetDate(s string) *int {
	n, err := strconv.Atoi(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(s) != len(time.DateOnly) {
		return nil
	}
	return &n
}

// snapshotChunk is how many users' goals one transaction snapshots.
const snapshotChunk = 500

// snapshotGoals writes fact_goal_progress: the goals of a queued user
// again from the first day that changed, and the days since their last
// snapshot of the other active goals, up to today in their user's zone. Each chunk of users is
// one transaction that also takes them off the queue.
func (l *Loader) snapshotGoals(ctx context.Context, st *Stats) error {
	now := l.now()
	var dirty []struct {
		UserKey  string
		FromDate int
	}
	var stale []string
	err := l.guard(ctx, func(ctx context.Context) error {
		db := l.wh.Read(ctx)
		if err := db.Table("etl_dirty_users").Order("user_key").Find(&dirty).Error; err != nil {
			return err
		}
		var err error
		stale, err = staleUsers(db, now)
		return err
	})
	if err != nil {
		return err
	}
	queued := make(map[string]int, len(dirty))
	work := make([]string, 0, len(dirty)+len(stale))
	for _, d := range dirty {
		queued[d.UserKey] = d.FromDate
		work = append(work, d.UserKey)
	}
	for _, k := range stale {
		if _, ok := queued[k]; !ok {
			work = append(work, k)
		}
	}
	for chunk := range slices.Chunk(work, snapshotChunk) {
		err := l.tx(ctx, func(tx *gorm.DB) error { return snapshotUsers(tx, chunk, queued, now, st) })
		if err != nil {
			return err
		}
	}
	return nil
}

// staleUsers are the users with an active goal whose snapshots stop
// before its last day.
func staleUsers(db *gorm.DB, now time.Time) ([]string, error) {
	// No zone is ahead of UTC+14: no goal's today is later than that. A
	// user not loaded yet is in UTC, as batchUsers has it.
	latest := dateKey(now.UTC().Add(14 * time.Hour))
	rows, err := db.Raw(`SELECT g.user_key, g.status, g.target_date, g.created_at, g.changed_at, g.snapshot_through,
			COALESCE(u.timezone, 'UTC')
		FROM dim_goal g LEFT JOIN dim_user u ON u.user_key = g.user_key
		WHERE g.status = ? AND (g.snapshot_through IS NULL OR g.snapshot_through < ?)`, "active", latest).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g dimGoal
		var zone string
		if err := rows.Scan(&g.UserKey, &g.Status, &g.TargetDate, &g.CreatedAt, &g.ChangedAt, &g.SnapshotThrough, &zone); err != nil {
			return nil, err
		}
		first, last := goalDays(g, zoneOf(zone), now)
		if first <= last && (g.SnapshotThrough == nil || *g.SnapshotThrough < last) {
			out = append(out, g.UserKey)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return slices.Compact(slices.Sorted(slices.Values(out))), nil
}

// goalDays are the first and last days a goal has snapshots for: from its
// creation to today, its target date or, once it is no longer active, the
// day it changed, whichever comes first (in its user's zone).
func goalDays(g dimGoal, loc *time.Location, now time.Time) (first, last int) {
	first, last = dateKey(g.CreatedAt.In(loc)), today(now, loc)
	if g.TargetDate != nil {
		last = min(last, *g.TargetDate)
	}
	if g.Status != "active" {
		last = min(last, dateKey(g.ChangedAt.In(loc)))
	}
	return first, last
}
