package etl

import (
	"maps"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// applyUsers upserts dim_user and takes erased users out with their facts.
func (l *Loader) applyUsers(tx *gorm.DB, rows []UserChange, st *Stats) error {
	l.known = nil // the users change
	c := st.table("dim_user")
	c.Read += len(rows)
	var keep []dimUser
	var gone, back []string
	for _, u := range rows {
		key := pseudonym(l.key, u.UserID)
		if u.Deleted {
			gone = append(gone, key)
			continue
		}
		back = append(back, key) // if erased here: a closing that was undone
		keep = append(keep, dimUser{UserKey: key, Role: u.Role, SignupDate: dateKey(inZone(u.SignupAt, u.Timezone)),
			Timezone: u.Timezone, ChangedAt: u.ChangedAt.UTC()})
	}
	if len(keep) > 0 {
		moved, err := movedZones(tx, keep)
		if err != nil {
			return err
		}
		// leaderboard_opt_in is not in the feed yet; an upsert keeps it.
		err = tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "user_key"}},
			DoUpdates: clause.AssignmentColumns([]string{"role", "signup_date", "timezone", "changed_at"})}).
			CreateInBatches(keep, 500).Error
		if err != nil {
			return err
		}
		c.Written += len(keep)
		for _, u := range moved {
			if err := l.redate(tx, u, st); err != nil {
				return err
			}
		}
	}
	if len(back) > 0 {
		res := tx.Exec("DELETE FROM etl_erased_users WHERE user_key IN ?", back)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected > 0 {
			// The feed reports a closed account as deleted, and a failed
			// erasure reopens it: its facts, taken out, come back only by
			// reading the fact feeds again from the start (idempotently).
			// Rare, so simple.
			if err := tx.Exec("DELETE FROM etl_watermarks WHERE source <> ?", SourceUsers).Error; err != nil {
				return err
			}
			st.Reread = true
		}
	}
	if len(gone) > 0 {
		erased := make([]erasedUser, len(gone))
		for i, k := range gone {
			erased[i] = erasedUser{UserKey: k, ErasedAt: l.now().UTC()}
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(erased, 500).Error; err != nil {
			return err
		}
		for _, t := range userTables {
			res := tx.Exec("DELETE FROM "+t+" WHERE user_key IN ?", gone)
			if res.Error != nil {
				return res.Error
			}
			st.table(t).Written += int(res.RowsAffected)
		}
		res := tx.Exec("DELETE FROM dim_user WHERE user_key IN ?", gone)
		if res.Error != nil {
			return res.Error
		}
		c.Written += int(res.RowsAffected)
	}
	return nil
}

// movedZones are the users among keep whose time zone differs from the
// one their facts were dated in: dim_user's, or UTC for a user not loaded
// yet who has facts (loaded before their user: a rare race with the users
// feed; a user's first load has none, and needs no redating).
func movedZones(tx *gorm.DB, keep []dimUser) ([]dimUser, error) {
	keys := make([]string, len(keep))
	for i, u := range keep {
		keys[i] = u.UserKey
	}
	var old []dimUser
	if err := tx.Select("user_key", "timezone").Where("user_key IN ?", keys).Find(&old).Error; err != nil {
		return nil, err
	}
	was := make(map[string]string, len(old))
	for _, u := range old {
		was[u.UserKey] = u.Timezone
	}
	var moved, unknown []dimUser
	for _, u := range keep {
		before, ok := was[u.UserKey]
		switch {
		case !ok && zoneOf(u.Timezone) != time.UTC:
			unknown = append(unknown, u)
		case ok && zoneOf(before) != zoneOf(u.Timezone):
			moved = append(moved, u)
		}
	}
	if len(unknown) == 0 {
		return moved, nil
	}
	keys = keys[:0]
	for _, u := range unknown {
		keys = append(keys, u.UserKey)
	}
	withFacts := map[string]bool{}
	for _, t := range userTables {
		var found []string
		if err := tx.Table(t).Distinct("user_key").Where("user_key IN ?", keys).Pluck("user_key", &found).Error; err != nil {
			return nil, err
		}
		for _, k := range found {
			withFacts[k] = true
		}
	}
	for _, u := range unknown {
		if withFacts[u.UserKey] {
			moved = append(moved, u)
		}
	}
	return moved, nil
}

// redate dates a user's facts again in their time zone, which changed:
// facts are dated by the user's local day as it is now, whenever they were
// loaded. Rare (a move, or facts loaded before their user), so row by row.
func (l *Loader) redate(tx *gorm.DB, u dimUser, st *Stats) error {
	var facts []factWorkout
	if err := tx.Select("workout_id", "start_time").Where("user_key = ?", u.UserKey).Find(&facts).Error; err != nil {
		return err
	}
	loc := zoneOf(u.Timezone)
	dates := map[int]dimDate{}
	for _, f := range facts {
		d := dateRow(f.StartTime.In(loc))
		dates[d.DateKey] = d
		if err := tx.Model(&factWorkout{}).Where("workout_id = ?", f.WorkoutID).Update("date_key", d.DateKey).Error; err != nil {
			return err
		}
	}
	st.table("fact_workouts").Written += len(facts)
	sessions, err := redateSessions(tx, u.UserKey, loc, st)
	if err != nil {
		return err
	}
	maps.Copy(dates, sessions)
	if err := upsertDims(tx, dates, nil); err != nil {
		return err
	}
	if err := l.redateMetrics(tx, u.UserKey, loc, st); err != nil {
		return err
	}
	// Goals' days move with the zone: their snapshots are taken again.
	if err := tx.Exec("DELETE FROM fact_goal_progress WHERE user_key = ?", u.UserKey).Error; err != nil {
		return err
	}
	if err := tx.Exec("UPDATE dim_goal SET snapshot_through = NULL WHERE user_key = ?", u.UserKey).Error; err != nil {
		return err
	}
	return markDirty(tx, map[string]int{u.UserKey: 0})
}
