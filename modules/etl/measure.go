package etl

import (
	"strings"
	"time"

	"gorm.io/gorm"
)

// Measures are what goals, the leaderboard and trends count, each as the
// activity module measures a goal of that type: the day's samples of the
// metric plus what each finished workout of the day adds. weight_kg is the
// day's average weight.
const (
	MeasureSteps          = "steps"
	MeasureCaloriesBurned = "calories_burned"
	MeasureWorkouts       = "workouts"
	MeasureActiveMinutes  = "active_minutes"
	MeasureDistanceKM     = "distance_km"
	MeasureWeightKG       = "weight_kg"
)

// workoutPart is what a finished workout adds to a measure ("": nothing).
var workoutPart = map[string]string{
	MeasureSteps:          "",
	MeasureCaloriesBurned: "calories_burned",
	MeasureWorkouts:       "CAST(1 AS DOUBLE PRECISION)",
	MeasureActiveMinutes:  "CAST(duration_s AS DOUBLE PRECISION) / 60",
	MeasureDistanceKM:     "COALESCE(distance_km, 0)",
	MeasureWeightKG:       "",
}

// value is a measure's total for a user, on a day (DateKey 0: over the
// whole range).
type value struct {
	UserKey string
	DateKey int
	Value   float64
}

// values totals measure over the days [from, to] (date keys) for users
// (nil: everyone), per user and day, or per user when byDay is false.
func values(db *gorm.DB, measure string, users []string, from, to int, byDay bool) ([]value, error) {
	cond := " AND date_key BETWEEN ? AND ?"
	args := []any{from, to}
	if users != nil {
		cond += " AND user_key IN ?"
		args = append(args, users)
	}
	col := "sum_value"
	if measure == MeasureWeightKG {
		col = "avg_value"
	}
	metric := "metric = ?"
	if users != nil && db.Dialector.Name() == "sqlite" {
		// For some users, walk their primary key (user, day, metric):
		// without statistics SQLite would take the (metric, day) index and
		// read every user's days (the unary + keeps it off that index).
		metric = "+metric = ?"
	}
	var q strings.Builder
	q.WriteString("SELECT user_key, ")
	group := "user_key"
	if byDay {
		q.WriteString("date_key")
		group += ", date_key"
	} else {
		q.WriteString("0")
	}
	q.WriteString(" AS date_key, SUM(v) AS value FROM (SELECT user_key, date_key, " + col +
		" AS v FROM fact_daily_metrics WHERE " + metric + cond)
	all := append([]any{measure}, args...)
	if part := workoutPart[measure]; part != "" {
		q.WriteString(" UNION ALL SELECT user_key, date_key, " + part + " FROM fact_workouts WHERE end_time IS NOT NULL" + cond)
		all = append(all, args...)
	}
	q.WriteString(") m GROUP BY " + group)
	rows, err := db.Raw(q.String(), all...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []value
	for rows.Next() {
		var v value
		if err := rows.Scan(&v.UserKey, &v.DateKey, &v.Value); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Date keys as days: calendar arithmetic in UTC, where every day has 24
// hours.

// dayOf is the day of a date key.
func dayOf(key int) time.Time {
	return time.Date(key/10000, time.Month(key/100%100), key%100, 0, 0, 0, 0, time.UTC)
}

// addDays is the date key n days after key.
func addDays(key, n int) int { return dateKey(dayOf(key).AddDate(0, 0, n)) }

// weekStart is the Monday of key's ISO week.
func weekStart(key int) int {
	d := dayOf(key)
	return dateKey(d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)))
}

// monthStart is the first day of key's month.
func monthStart(key int) int { return key/100*100 + 1 }

// today is the date key of now in loc.
func today(now time.Time, loc *time.Location) int { return dateKey(now.In(loc)) }
