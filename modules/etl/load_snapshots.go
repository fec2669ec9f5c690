package etl

import (
	"math"
	"time"

	"gorm.io/gorm"
)

// snapshotUsers writes the goal snapshots of users: of the queued ones
// (dirty: the first day their facts changed, 0 for all), every day from
// there; of the others, the days after their last snapshot.
func snapshotUsers(tx *gorm.DB, users []string, dirty map[string]int, now time.Time, st *Stats) error {
	var goals []dimGoal
	if err := tx.Where("user_key IN ?", users).Order("goal_id").Find(&goals).Error; err != nil {
		return err
	}
	zones, _, err := batchUsers(tx, users)
	if err != nil {
		return err
	}
	var redo []string
	byFrom := map[int][]string{} // the queued users by their first changed day
	for _, k := range users {
		if from, ok := dirty[k]; ok {
			redo = append(redo, k)
			byFrom[from] = append(byFrom[from], k)
		}
	}
	for from, keys := range byFrom {
		res := tx.Exec("DELETE FROM fact_goal_progress WHERE user_key IN ? AND date_key >= ?", keys, from)
		if res.Error != nil {
			return res.Error
		}
		st.table("fact_goal_progress").Written += int(res.RowsAffected)
	}
	type plan struct {
		first, from, last, need int
	}
	plans := make([]plan, len(goals))
	type want struct {
		users    map[string]bool
		from, to int
	}
	measures := map[string]*want{}
	for i := range goals {
		g := &goals[i]
		first, last := goalDays(*g, zones[g.UserKey], now)
		from := first // taken again whole
		if g.SnapshotThrough != nil {
			from = max(first, *g.SnapshotThrough+1) // extended
			if changed, ok := dirty[g.UserKey]; ok {
				from = max(first, min(from, changed)) // from the first day that changed
			}
		}
		need := windowStart(g.Period, from, first)
		if g.GoalType == MeasureWeightKG {
			need = addDays(first, -366) // the weight at the start
		}
		plans[i] = plan{first, from, last, need}
		if from > last {
			continue
		}
		w := measures[g.GoalType]
		if w == nil {
			w = &want{users: map[string]bool{}, from: need, to: last}
			measures[g.GoalType] = w
		}
		w.users[g.UserKey] = true
		w.from, w.to = min(w.from, need), max(w.to, last)
	}
	daily := map[string]map[string]map[int]float64{} // measure → user → day → value
	for m, w := range measures {
		vs, err := values(tx, m, mapKeys(w.users, func(k string) string { return k }), w.from, w.to, true)
		if err != nil {
			return err
		}
		byUser := map[string]map[int]float64{}
		for _, v := range vs {
			if byUser[v.UserKey] == nil {
				byUser[v.UserKey] = map[int]float64{}
			}
			byUser[v.UserKey][v.DateKey] = v.Value
		}
		daily[m] = byUser
	}
	var rows, dims [][]any
	for i, g := range goals {
		p := plans[i]
		if p.from <= p.last {
			rows = append(rows, snapshots(g, p.first, p.from, p.last, p.need, daily[g.GoalType][g.UserKey])...)
			g.SnapshotThrough = &p.last
		}
		dims = append(dims, []any{g.GoalID, g.UserKey, g.GoalType, g.Period, g.Target, g.TargetDate, g.Status,
			g.CreatedAt.UTC(), g.ChangedAt.UTC(), g.SnapshotThrough})
	}
	if err := upsert(tx, "fact_goal_progress", progressCols, progressKey, rows); err != nil {
		return err
	}
	st.table("fact_goal_progress").Written += len(rows)
	if err := upsert(tx, "dim_goal", goalCols, goalKey, dims); err != nil {
		return err
	}
	if len(redo) > 0 {
		return tx.Exec("DELETE FROM etl_dirty_users WHERE user_key IN ?", redo).Error
	}
	return nil
}

// windowStart is the first day of the period a goal counts on day d.
func windowStart(period string, d, first int) int {
	switch period {
	case "weekly":
		return weekStart(d)
	case "monthly":
		return monthStart(d)
	case "total":
		return first
	}
	return d // daily
}

// snapshots are a goal's rows of fact_goal_progress for the days [from,
// last], from its daily values since need: the sum over each day's period
// so far, or for weight the latest weight, reached coming from the weight
// at its start (losing weight when that is unknown), as the activity
// module judges goals.
func snapshots(g dimGoal, first, from, last, need int, daily map[int]float64) [][]any {
	var out [][]any
	var sum float64
	var weight, start *float64
	for d := need; d <= last; d = addDays(d, 1) {
		v, ok := daily[d]
		progress := 0.0
		achieved := false
		if g.GoalType == MeasureWeightKG {
			if ok {
				weight = &v
			}
			if d <= first || start == nil {
				start = weight
			}
			if weight != nil {
				progress = *weight
				if start != nil && *start < g.Target {
					achieved = progress >= g.Target
				} else {
					achieved = progress <= g.Target
				}
			}
		} else {
			if d == windowStart(g.Period, d, first) {
				sum = 0
			}
			sum += v
			progress = sum
			achieved = sum >= g.Target
		}
		if d >= from {
			out = append(out, []any{g.GoalID, d, g.UserKey, g.GoalType, g.Target, round2(progress), achieved})
		}
	}
	return out
}

// round2 rounds to hundredths: snapshots are for reading, and sums of the
// same values in another order must not differ.
func round2(v float64) float64 { return math.Round(v*100) / 100 }
