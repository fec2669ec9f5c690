package etl

import (
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// applyWorkouts upserts fact_workouts, dated by the user's local day, and
// deletes the tombstoned ones.
func (l *Loader) applyWorkouts(tx *gorm.DB, rows []WorkoutChange, st *Stats) error {
	c := st.table("fact_workouts")
	c.Read += len(rows)
	keys := pseudonyms(l.key, rows, func(w WorkoutChange) string { return w.UserID })
	zones, erased, err := l.batchUsers(tx, keys)
	if err != nil {
		return err
	}
	facts := make([][]any, 0, len(rows))
	dates := map[int]dimDate{}
	types := map[string]bool{}
	var gone []string
	dirty, err := formerDays(tx, rows) // a moved or deleted workout changes its former day too
	if err != nil {
		return err
	}
	for i, w := range rows {
		key := keys[i]
		if erased[key] {
			continue // read after its user's erasure: stays out
		}
		if w.Deleted {
			gone = append(gone, w.ID)
			continue
		}
		local := w.StartTime.In(zones[key])
		d := dateRow(local)
		dates[d.DateKey] = d
		dirtyFrom(dirty, key, d.DateKey)
		types[w.WorkoutType] = true
		facts = append(facts, []any{w.ID, key, d.DateKey, w.WorkoutType, w.StartTime.UTC(), utcPtr(w.EndTime),
			w.Duration, w.CaloriesBurned, w.DistanceKM, w.AvgHeartRate, w.Source, w.ChangedAt.UTC()})
	}
	if err := upsertDims(tx, dates, types); err != nil {
		return err
	}
	if err := upsert(tx, "fact_workouts", workoutCols, workoutKey, facts); err != nil {
		return err
	}
	c.Written += len(facts)
	if len(gone) > 0 {
		res := tx.Exec("DELETE FROM fact_workouts WHERE workout_id IN ?", gone)
		if res.Error != nil {
			return res.Error
		}
		c.Written += int(res.RowsAffected)
	}
	return markDirty(tx, dirty)
}

// formerDays are, by user, the first of the days the batch's workouts had
// in fact_workouts before it.
func formerDays(tx *gorm.DB, rows []WorkoutChange) (map[string]int, error) {
	ids := make([]string, len(rows))
	for i, w := range rows {
		ids[i] = w.ID
	}
	var former []struct {
		UserKey string
		DateKey int
	}
	if err := tx.Table("fact_workouts").Select("user_key", "date_key").Where("workout_id IN ?", ids).Find(&former).Error; err != nil {
		return nil, err
	}
	days := map[string]int{}
	for _, f := range former {
		dirtyFrom(days, f.UserKey, f.DateKey)
	}
	return days, nil
}

var (
	workoutCols = []string{"workout_id", "user_key", "date_key", "workout_type", "start_time", "end_time", "duration_s",
		"calories_burned", "distance_km", "avg_heart_rate", "source", "changed_at"}
	workoutKey = []string{"workout_id"}
)

// utcPtr is *t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// batchUsers is batchUsers for a fact feed's batch, through a cache kept
// for the fact feeds of one run: dim_user and etl_erased_users change only
// while the users feed loads, which clears it (applyUsers).
func (l *Loader) batchUsers(tx *gorm.DB, batch []string) (map[string]*time.Location, map[string]bool, error) {
	if l.known == nil {
		l.known = map[string]knownUser{}
	}
	var missing []string
	for _, k := range batch {
		if _, ok := l.known[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		zones, erased, err := batchUsers(tx, missing)
		if err != nil {
			return nil, nil, err
		}
		for k, z := range zones {
			l.known[k] = knownUser{z, erased[k]}
		}
	}
	zones := make(map[string]*time.Location, len(batch))
	erased := map[string]bool{}
	for _, k := range batch {
		u := l.known[k]
		zones[k] = u.zone
		if u.erased {
			erased[k] = true
		}
	}
	return zones, erased, nil
}

// knownUser is what the fact feeds need of a user.
type knownUser struct {
	zone   *time.Location // their facts' days; UTC when not loaded yet
	erased bool
}

// batchUsers finds the time zones of a batch's users (by pseudonym) in
// dim_user (UTC for a user not loaded yet) and which of them were erased.
func batchUsers(tx *gorm.DB, batch []string) (map[string]*time.Location, map[string]bool, error) {
	keys := slices.Compact(slices.Sorted(slices.Values(batch)))
	var users []dimUser
	if err := tx.Select("user_key", "timezone").Where("user_key IN ?", keys).Find(&users).Error; err != nil {
		return nil, nil, err
	}
	var gone []string
	if err := tx.Model(&erasedUser{}).Where("user_key IN ?", keys).Pluck("user_key", &gone).Error; err != nil {
		return nil, nil, err
	}
	zones := make(map[string]*time.Location, len(keys))
	for _, k := range keys {
		zones[k] = time.UTC
	}
	for _, u := range users {
		zones[u.UserKey] = zoneOf(u.Timezone)
	}
	erased := make(map[string]bool, len(gone))
	for _, k := range gone {
		erased[k] = true
	}
	return zones, erased, nil
}

// upsertDims adds the dates and workout types a batch refers to.
func upsertDims(tx *gorm.DB, dates map[int]dimDate, types map[string]bool) error {
	if len(dates) > 0 { // most batches' dates are there: raw, not through gorm's reflection
		rows := make([][]any, 0, len(dates))
		for _, d := range dates {
			rows = append(rows, []any{d.DateKey, d.Day, d.Year, d.Quarter, d.Month, d.IsoYear, d.IsoWeek, d.DayOfWeek, d.IsWeekend})
		}
		cols := []string{"date_key", "day", "year", "quarter", "month", "iso_year", "iso_week", "day_of_week", "is_weekend"}
		if err := insertNew(tx, "dim_date", cols, cols[:1], rows); err != nil {
			return err
		}
	}
	if len(types) > 0 {
		rows := make([]dimWorkoutType, 0, len(types))
		for t := range types {
			rows = append(rows, dimWorkoutType{WorkoutType: t})
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
			return err
		}
	}
	return nil
}
