package etl

import (
	"context"
	"slices"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
)

// Trend windows.
const (
	DefaultTrendWeeks = 12
	MaxTrendWeeks     = 104
	movingWeeks       = 4  // the moving average's window
	paceDays          = 28 // the pace of a goal's projection: the average day of the last four weeks
)

// Week is one ISO week of a trend (Monday to Sunday, the user's days).
type Week struct {
	WeekStart     string  `json:"week_start"`
	Total         float64 `json:"total"`
	MovingAverage float64 `json:"moving_average"` // over this week and the 3 before
}

// Fit is the least-squares line through the weekly totals.
type Fit struct {
	SlopePerWeek float64 `json:"slope_per_week"`
	Intercept    float64 `json:"intercept"` // the line's value at the first week
	Direction    string  `json:"direction"` // up, down or flat (a slope under 1 % of the mean a week)
}

// Projection is an active goal at the current pace.
type Projection struct {
	GoalID      string  `json:"goal_id"`
	GoalType    string  `json:"goal_type"`
	Period      string  `json:"period"`
	Target      float64 `json:"target"`
	Progress    float64 `json:"progress"`     // in its current period, as of the last load
	DailyPace   float64 `json:"daily_pace"`   // the average day of the last 28
	ProjectedAt *string `json:"projected_at"` // when it is reached at that pace; null: not within its period (or date), or no pace
	OnTrack     bool    `json:"on_track"`
	Achieved    bool    `json:"achieved"`
}

// Trends is GET /users/{user_id}/trends's answer.
type Trends struct {
	UserID string       `json:"user_id"`
	Metric string       `json:"metric"`
	Weeks  []Week       `json:"weeks"`
	Trend  Fit          `json:"trend"`
	Goals  []Projection `json:"goals"`
}

// Trends are a user's weekly totals of metric over the last weeks (the
// current one included), their moving average and linear trend, and the
// projected completion of each of their active goals.
func (a *Analytics) Trends(ctx context.Context, userID, metric string, weeks int) (*Trends, error) {
	v := apperr.Validation{}
	v.Check(slices.Contains(TrendMetrics, metric), "metric", "must be one of steps, calories_burned, workouts, active_minutes, distance_km")
	v.Check(weeks >= 1 && weeks <= MaxTrendWeeks, "weeks", "must be 1 to 104")
	if err := v.Err(); err != nil {
		return nil, err
	}
	key := a.key(userID)
	out := &Trends{UserID: userID, Metric: metric, Weeks: []Week{}, Goals: []Projection{}}
	err := a.read(ctx, func(db *gorm.DB) error {
		loc, _, err := zoneOfUser(db, key)
		if err != nil {
			return err
		}
		to := today(a.l.now(), loc)
		first := addDays(weekStart(to), -7*(weeks-1))
		daily, err := values(db, metric, []string{key}, first, to, true)
		if err != nil {
			return err
		}
		totals := make([]float64, weeks)
		for _, d := range daily {
			i := int(dayOf(weekStart(d.DateKey)).Sub(dayOf(first)).Hours() / 24 / 7)
			totals[i] += d.Value
		}
		avg := movingAverage(totals, movingWeeks)
		for i, t := range totals {
			out.Weeks = append(out.Weeks, Week{WeekStart: day(addDays(first, 7*i)), Total: round2(t), MovingAverage: avg[i]})
		}
		out.Trend = fit(totals)
		out.Goals, err = projections(db, key, to)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fit is the trend of totals.
func fit(totals []float64) Fit {
	slope, intercept := linearFit(totals)
	mean := 0.0
	for _, t := range totals {
		mean += t / float64(len(totals))
	}
	f := Fit{SlopePerWeek: round2(slope), Intercept: round2(intercept), Direction: "flat"}
	switch {
	case mean == 0 && slope == 0, mean != 0 && abs(slope) < abs(mean)/100:
	case slope > 0:
		f.Direction = "up"
	case slope < 0:
		f.Direction = "down"
	}
	return f
}

func abs(x float64) float64 { return max(x, -x) }

// projections project each active goal of the user from its latest
// snapshot and the pace of its measure over the last paceDays days.
func projections(db *gorm.DB, key string, to int) ([]Projection, error) {
	var goals []dimGoal
	if err := db.Where("user_key = ? AND status = ?", key, "active").Order("goal_id").Find(&goals).Error; err != nil {
		return nil, err
	}
	out := []Projection{}
	paces := map[string]float64{}
	for _, g := range goals {
		p := Projection{GoalID: g.GoalID, GoalType: g.GoalType, Period: g.Period, Target: g.Target}
		var latest []struct {
			Progress float64
			Achieved bool
		}
		err := db.Table("fact_goal_progress").Select("progress", "achieved").Where("goal_id = ?", g.GoalID).
			Order("date_key DESC").Limit(1).Find(&latest).Error
		if err != nil {
			return nil, err
		}
		if len(latest) == 1 {
			p.Progress, p.Achieved = latest[0].Progress, latest[0].Achieved
		}
		if g.GoalType == MeasureWeightKG { // not a sum: no pace to project
			p.OnTrack = p.Achieved
			out = append(out, p)
			continue
		}
		pace, ok := paces[g.GoalType]
		if !ok {
			vs, err := values(db, g.GoalType, []string{key}, addDays(to, 1-paceDays), to, false)
			if err != nil {
				return nil, err
			}
			if len(vs) == 1 {
				pace = vs[0].Value / paceDays
			}
			paces[g.GoalType] = pace
		}
		p.DailyPace = round2(pace)
		project(&p, g, to)
		out = append(out, p)
	}
	return out, nil
}

// project sets when p is reached at its pace, and whether that is within
// its period (or by its target date).
func project(p *Projection, g dimGoal, to int) {
	if p.Achieved {
		p.OnTrack, p.ProjectedAt = true, ptr(day(to))
		return
	}
	if p.DailyPace <= 0 {
		return
	}
	if g.Period == "daily" { // a day at the usual pace reaches it, or not
		if p.DailyPace >= p.Target {
			p.OnTrack, p.ProjectedAt = true, ptr(day(to))
		}
		return
	}
	at := addDays(to, daysUntil(p.Target-p.Progress, p.DailyPace))
	end := 0 // the last day it may be reached; 0: none
	switch g.Period {
	case "daily":
		end = to
	case "weekly":
		end = addDays(weekStart(to), 6)
	case "monthly":
		end = addDays(monthStart(addDays(monthStart(to), 31)), -1)
	}
	if g.TargetDate != nil && (end == 0 || *g.TargetDate < end) {
		end = *g.TargetDate
	}
	if end != 0 && at > end {
		return
	}
	p.OnTrack, p.ProjectedAt = true, ptr(day(at))
}

func ptr[T any](v T) *T { return &v }
