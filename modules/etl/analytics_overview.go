package etl

import (
	"context"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
)

// Overview windows.
const (
	DefaultOverviewDays = 30
	MaxOverviewDays     = 366
	topTypes            = 5
)

// DayActivity is one day of the overview.
type DayActivity struct {
	Date        string `json:"date"`
	ActiveUsers int    `json:"active_users"` // with a workout or any sample that day
	Workouts    int    `json:"workouts"`
}

// TypeCount is a workout type's workouts.
type TypeCount struct {
	WorkoutType string `json:"workout_type"`
	Workouts    int    `json:"workouts"`
}

// Attainment is how many goals were met.
type Attainment struct {
	Goals    int     `json:"goals"`    // goals with a snapshot in the window
	Achieved int     `json:"achieved"` // of them, achieved on their last day in it
	Rate     float64 `json:"rate"`     // achieved / goals (0 without goals)
}

// Overview is GET /admin/analytics/overview's answer.
type Overview struct {
	From              string        `json:"from"`
	To                string        `json:"to"`
	DailyActiveUsers  int           `json:"daily_active_users"`  // on the last day
	WeeklyActiveUsers int           `json:"weekly_active_users"` // over the last 7 days
	Days              []DayActivity `json:"days"`
	TopWorkoutTypes   []TypeCount   `json:"top_workout_types"`
	GoalAttainment    Attainment    `json:"goal_attainment"`
}

// Overview sums up the last days (users' local days, up to today in UTC).
func (a *Analytics) Overview(ctx context.Context, days int) (*Overview, error) {
	if days < 1 || days > MaxOverviewDays {
		return nil, apperr.FieldError("days", "must be 1 to 366")
	}
	to := dateKey(a.l.now().UTC())
	from := addDays(to, 1-days)
	out := &Overview{From: day(from), To: day(to), Days: []DayActivity{}, TopWorkoutTypes: []TypeCount{}}
	err := a.read(ctx, func(db *gorm.DB) error {
		active := `SELECT user_key, date_key FROM fact_workouts WHERE date_key BETWEEN ? AND ?
			UNION SELECT user_key, date_key FROM fact_daily_metrics WHERE date_key BETWEEN ? AND ?`
		var perDay []struct {
			DateKey int
			N       int
		}
		err := db.Raw("SELECT date_key, COUNT(*) AS n FROM ("+active+") a GROUP BY date_key", from, to, from, to).
			Scan(&perDay).Error
		if err != nil {
			return err
		}
		var workouts []struct {
			DateKey int
			N       int
		}
		err = db.Raw("SELECT date_key, COUNT(*) AS n FROM fact_workouts WHERE date_key BETWEEN ? AND ? GROUP BY date_key",
			from, to).Scan(&workouts).Error
		if err != nil {
			return err
		}
		byDay := map[int]*DayActivity{}
		for d := from; d <= to; d = addDays(d, 1) {
			out.Days = append(out.Days, DayActivity{Date: day(d)})
		}
		for i := range out.Days {
			byDay[addDays(from, i)] = &out.Days[i]
		}
		for _, r := range perDay {
			byDay[r.DateKey].ActiveUsers = r.N
		}
		for _, r := range workouts {
			byDay[r.DateKey].Workouts = r.N
		}
		out.DailyActiveUsers = byDay[to].ActiveUsers
		week := addDays(to, -6)
		err = db.Raw("SELECT COUNT(DISTINCT user_key) FROM ("+active+") a", week, to, week, to).
			Scan(&out.WeeklyActiveUsers).Error
		if err != nil {
			return err
		}
		err = db.Raw(`SELECT workout_type, COUNT(*) AS workouts FROM fact_workouts WHERE date_key BETWEEN ? AND ?
			GROUP BY workout_type ORDER BY workouts DESC, workout_type LIMIT ?`, from, to, topTypes).
			Scan(&out.TopWorkoutTypes).Error
		if err != nil {
			return err
		}
		return db.Raw(`SELECT COUNT(*) AS goals, COALESCE(SUM(CASE WHEN p.achieved THEN 1 ELSE 0 END), 0) AS achieved
			FROM fact_goal_progress p JOIN (SELECT goal_id, MAX(date_key) AS last FROM fact_goal_progress
				WHERE date_key BETWEEN ? AND ? GROUP BY goal_id) l ON l.goal_id = p.goal_id AND l.last = p.date_key`,
			from, to).Scan(&out.GoalAttainment).Error
	})
	if err != nil {
		return nil, err
	}
	if g := out.GoalAttainment; g.Goals > 0 {
		out.GoalAttainment.Rate = round2(float64(g.Achieved) / float64(g.Goals))
	}
	return out, nil
}
