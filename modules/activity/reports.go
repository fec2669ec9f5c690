package activity

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
)

// Report periods.
const (
	ReportWeek  = "week"
	ReportMonth = "month"
)

// ReportQuery picks a report: Period week (Label like 2026-W47, an ISO
// week) or month (Label like 2026-11); an empty Label is the current one.
type ReportQuery struct {
	Period string
	Label  string
}

// Report is a user's week or month: daily totals per metric, workouts,
// goal attainment, and the change against the period before.
type Report struct {
	UserID   string           `json:"user_id"`
	Period   string           `json:"period"`
	Label    string           `json:"label"`
	Timezone string           `json:"timezone"`
	From     string           `json:"from"` // first day
	To       string           `json:"to"`   // last day, inclusive
	Previous string           `json:"previous"`
	Days     []ReportDay      `json:"days"`
	Metrics  []MetricChange   `json:"metrics"`
	Workouts WorkoutsReport   `json:"workouts"`
	Goals    []GoalAttainment `json:"goals"`
}

// ReportDay is one local day: each metric's total (sum) or mean (average)
// for the metrics with samples that day, and the ended workouts started.
type ReportDay struct {
	Date           string             `json:"date"`
	Metrics        map[string]float64 `json:"metrics"`
	Workouts       int64              `json:"workouts"`
	Duration       int64              `json:"duration"`
	CaloriesBurned float64            `json:"calories_burned"`
}

// MetricChange is a metric over the period against the previous one:
// values are sums or means by the metric's aggregation, nil without
// samples; ChangePercent is nil when the previous value is nil or 0.
type MetricChange struct {
	Metric        string   `json:"metric"`
	Unit          string   `json:"unit"`
	Aggregation   string   `json:"aggregation"`
	Value         *float64 `json:"value"`
	Previous      *float64 `json:"previous"`
	Change        *float64 `json:"change"`
	ChangePercent *float64 `json:"change_percent"`
}

// WorkoutsReport sums the period's workouts with the previous period's.
type WorkoutsReport struct {
	WorkoutTotals
	ByType   []TypeTotals        `json:"by_type"`
	Previous WorkoutTotals       `json:"previous"`
	Change   WorkoutTotalsChange `json:"change"`
}

// WorkoutTotalsChange is the period's totals minus the previous period's.
type WorkoutTotalsChange struct {
	TotalWorkouts       int64   `json:"total_workouts"`
	TotalDuration       int64   `json:"total_duration"`
	TotalCaloriesBurned float64 `json:"total_calories_burned"`
	TotalDistanceKM     float64 `json:"total_distance_km"`
}

// GoalAttainment tells how an active goal went in the period: for a daily
// goal, the days met of the days so far; for a goal of the report's period
// (weekly in a weekly report, monthly in a monthly one) or a total goal,
// whether it is met. Value is the mean per day (daily goals) or the
// period's value. Goals of longer periods than the report's are left out.
type GoalAttainment struct {
	GoalID      string   `json:"goal_id"`
	GoalType    string   `json:"goal_type"`
	Period      string   `json:"period"`
	TargetValue float64  `json:"target_value"`
	Baseline    *float64 `json:"baseline"`
	Value       float64  `json:"value"`
	Periods     int      `json:"periods"`
	PeriodsMet  int      `json:"periods_met"`
}

// Report implements Service.
func (s *service) Report(ctx context.Context, userID string, q ReportQuery) (*Report, error) {
	u, err := s.forUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	loc := location(u)
	now := s.now()
	from, label, err := reportStart(q, localDay(now, loc))
	if err != nil {
		return nil, err
	}
	end, prev := from.AddDate(0, 0, 7), from.AddDate(0, 0, -7)
	if q.Period == ReportMonth {
		end, prev = from.AddDate(0, 1, 0), from.AddDate(0, -1, 0)
	}
	cur, err := s.periodData(ctx, userID, from, end, true)
	if err != nil {
		return nil, err
	}
	before, err := s.periodData(ctx, userID, prev, from, false)
	if err != nil {
		return nil, err
	}
	r := &Report{UserID: userID, Period: q.Period, Label: label, Timezone: loc.String(),
		From: from.Format(time.DateOnly), To: end.AddDate(0, 0, -1).Format(time.DateOnly),
		Previous: periodLabel(q.Period, prev), Days: cur.days}
	for i, m := range Metrics {
		r.Metrics = append(r.Metrics, change(m, cur.totals[i], before.totals[i]))
	}
	r.Workouts = WorkoutsReport{WorkoutTotals: cur.workouts.all, ByType: cur.workouts.types(),
		Previous: before.workouts.all}
	a, b := cur.workouts.all, before.workouts.all
	r.Workouts.Change = WorkoutTotalsChange{TotalWorkouts: a.TotalWorkouts - b.TotalWorkouts,
		TotalDuration: a.TotalDuration - b.TotalDuration, TotalCaloriesBurned: round1(a.TotalCaloriesBurned - b.TotalCaloriesBurned),
		TotalDistanceKM: math.Round((a.TotalDistanceKM-b.TotalDistanceKM)*1000) / 1000}
	if r.Goals, err = s.attainment(ctx, u, q.Period, cur, now); err != nil {
		return nil, err
	}
	return r, nil
}

// reportStart resolves a report's first local day and its label.
func reportStart(q ReportQuery, today time.Time) (time.Time, string, error) {
	loc := today.Location()
	switch q.Period {
	case ReportWeek:
		if q.Label == "" {
			monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
			return monday, periodLabel(ReportWeek, monday), nil
		}
		var y, w int
		if _, err := fmt.Sscanf(q.Label, "%4d-W%2d", &y, &w); err == nil && len(q.Label) == 8 && y >= 2000 && y < 2200 {
			jan4 := time.Date(y, time.January, 4, 0, 0, 0, 0, loc)
			monday := jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)+7*(w-1))
			if iy, iw := monday.ISOWeek(); iy == y && iw == w {
				return monday, q.Label, nil
			}
		}
		return time.Time{}, "", apperr.FieldError("week", "must be an ISO week such as 2026-W47")
	case ReportMonth:
		if q.Label == "" {
			first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, loc)
			return first, periodLabel(ReportMonth, first), nil
		}
		t, err := time.ParseInLocation("2006-01", q.Label, loc)
		if err != nil || t.Year() < 2000 || t.Year() >= 2200 {
			return time.Time{}, "", apperr.FieldError("month", "must be a month such as 2026-11")
		}
		return t, q.Label, nil
	}
	return time.Time{}, "", fmt.Errorf("activity: report period %q", q.Period)
}

func periodLabel(period string, from time.Time) string {
	if period == ReportMonth {
		return from.Format("2006-01")
	}
	y, w := from.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// periodData is what a report needs of [from, end): per metric, its day
// buckets and its total; the workouts, by day and in sum.
type periodData struct {
	from, end time.Time
	starts    []time.Time // each day's local midnight, and end
	days      []ReportDay
	buckets   [][]Bucket // per Metrics index, per day
	totals    []Bucket   // per Metrics index: the whole period
	extra     []map[string]float64
	workouts  workoutStats
}

func (s *service) periodData(ctx context.Context, userID string, from, end time.Time, daily bool) (*periodData, error) {
	starts := bucketStarts("day", from, end)
	whole := []time.Time{from, end}
	p := &periodData{from: from, end: end, starts: starts, days: make([]ReportDay, len(starts)-1),
		extra: make([]map[string]float64, len(starts)-1)}
	for i := range p.days {
		p.days[i] = ReportDay{Date: starts[i].Format(time.DateOnly), Metrics: map[string]float64{}}
		p.extra[i] = map[string]float64{}
	}
	bounds := whole
	if daily {
		bounds = starts
	}
	for _, m := range Metrics {
		aggs, err := s.store.Buckets(ctx, userID, m.Name, bounds)
		if err != nil {
			return nil, err
		}
		p.totals = append(p.totals, toBucket(m, foldSlots(aggs, whole)[0]))
		if !daily {
			continue
		}
		days := toBuckets(m, aggs)
		p.buckets = append(p.buckets, days)
		for i, b := range days {
			if b.Count > 0 {
				p.days[i].Metrics[m.Name] = round3(b.Value)
			}
		}
	}
	err := s.store.EachWorkout(ctx, userID, from.UTC(), end.UTC(), func(w *Workout) error {
		p.workouts.add(w)
		if w.Active() {
			return nil
		}
		i := dayIndex(starts, w.StartTime)
		d := &p.days[i]
		d.Workouts++
		d.Duration += w.Duration
		d.CaloriesBurned = round1(d.CaloriesBurned + w.CaloriesBurned)
		for _, typ := range []string{GoalWorkouts, GoalCaloriesBurned, GoalActiveMinutes, GoalDistanceKM} {
			p.extra[i][typ] += workoutCounts(typ, w)
		}
		return nil
	})
	return p, err
}

// dayIndex is the day of starts that t falls in.
func dayIndex(starts []time.Time, t time.Time) int {
	for i := len(starts) - 2; i > 0; i-- {
		if !t.Before(starts[i]) {
			return i
		}
	}
	return 0
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// change compares a metric's period totals.
func change(m Metric, cur, prev Bucket) MetricChange {
	c := MetricChange{Metric: m.Name, Unit: m.Unit, Aggregation: m.Aggregation}
	if cur.Count > 0 {
		c.Value = ptr(round3(cur.Value))
	}
	if prev.Count > 0 {
		c.Previous = ptr(round3(prev.Value))
	}
	if c.Value != nil && c.Previous != nil {
		c.Change = ptr(round3(*c.Value - *c.Previous))
		if *c.Previous != 0 {
			c.ChangePercent = ptr(round1(*c.Change / *c.Previous * 100))
		}
	}
	return c
}

// dayValue is a goal type's value on day i: the metric's day total (or
// mean, for weight) plus what the day's workouts add.
func (p *periodData) dayValue(goalType string, i int) (float64, bool) {
	v, seen := p.extra[i][goalType]
	for j, m := range Metrics {
		if m.Name == goalType && p.buckets[j][i].Count > 0 {
			v += p.buckets[j][i].Value
			seen = true
		}
	}
	return v, seen
}

// attainment evaluates the user's active goals over a report's period.
func (s *service) attainment(ctx context.Context, u *UserBasics, period string, p *periodData, now time.Time) ([]GoalAttainment, error) {
	goals, err := s.users.ActiveGoals(ctx, GoalQuery{UserID: u.UserID, Limit: alertPage})
	if err != nil {
		return nil, err
	}
	out := []GoalAttainment{}
	today := localDay(now, p.from.Location())
	for _, g := range goals {
		own := (g.Period == PeriodWeekly && period == ReportWeek) || (g.Period == PeriodMonthly && period == ReportMonth)
		if g.Period != PeriodDaily && g.Period != PeriodTotal && !own {
			continue
		}
		a := GoalAttainment{GoalID: g.GoalID, GoalType: g.GoalType, Period: g.Period, TargetValue: g.TargetValue}
		if a.Baseline, err = s.planBaseline(ctx, g.GoalID); err != nil {
			return nil, err
		}
		var sum float64
		var last *float64
		for i := range p.days {
			if p.starts[i].After(today) {
				break
			}
			v, seen := p.dayValue(g.GoalType, i)
			if seen {
				last = &v
			}
			sum += v
			if g.Period == PeriodDaily {
				a.Periods++
				if seen && reached(g.GoalType, v, g.TargetValue, a.Baseline) {
					a.PeriodsMet++
				}
			}
		}
		switch {
		case g.Period == PeriodDaily && a.Periods > 0:
			a.Value = round1(sum / float64(a.Periods))
		case g.GoalType == GoalWeightKG && last != nil:
			a.Value = *last
		case g.Period == PeriodTotal:
			// A total goal counts from its creation to the period's end.
			if sum, err = s.goalValue(ctx, u.UserID, g.GoalType, localDay(g.CreatedAt, today.Location()), earlier(p.end, now)); err != nil {
				return nil, err
			}
			a.Value = round1(sum)
		default:
			a.Value = round1(sum)
		}
		if g.Period != PeriodDaily {
			a.Periods = 1
			if reached(g.GoalType, a.Value, g.TargetValue, a.Baseline) {
				a.PeriodsMet = 1
			}
		}
		out = append(out, a)
	}
	return out, nil
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
