package activity

import (
	"context"
	"math"
	"time"
)

// Goal types the users module knows (users.GoalTypes); the module measures
// each from samples and workouts.
const (
	GoalSteps          = "steps"
	GoalCaloriesBurned = "calories_burned"
	GoalWorkouts       = "workouts"
	GoalActiveMinutes  = "active_minutes"
	GoalDistanceKM     = "distance_km"
	GoalWeightKG       = "weight_kg"
)

// Goal periods.
const (
	PeriodDaily   = "daily"
	PeriodWeekly  = "weekly"
	PeriodMonthly = "monthly"
	PeriodTotal   = "total"
)

// GoalSpec is a goal as the module measures it (main.go adapts the users
// module's GoalSpec and goals to it).
type GoalSpec struct {
	GoalID      string
	UserID      string
	GoalType    string
	Period      string
	TargetValue float64
	TargetDate  string // YYYY-MM-DD, the user's last day
	CreatedAt   time.Time
	Timezone    string // the user's IANA zone
	Quiet       QuietHours
}

// Progress is how far a user is toward a goal in its current period.
type Progress struct {
	Current float64
	// Expected is where an even pace would have the user by now (for a
	// daily goal, evenly over the waking hours); nil for weight goals
	// without a starting weight.
	Expected *float64
	// ProjectedDate is the user's local date the goal is reached at the
	// pace so far: today when reached, nil when not within the period (or
	// by the target date for total goals).
	ProjectedDate *string
	OnTrack       bool
	Reached       bool
}

// goalMetric is the metric whose samples count toward a goal type ("" for
// workouts).
func goalMetric(goalType string) string {
	if goalType == GoalWorkouts {
		return ""
	}
	return goalType
}

// countsTowardGoals tells whether a sample may move a goal (heart rate and
// sleep do not).
func countsTowardGoals(sm Sample) bool {
	switch sm.Metric {
	case GoalSteps, GoalCaloriesBurned, GoalActiveMinutes, GoalDistanceKM, GoalWeightKG:
		return true
	}
	return false
}

// workoutCounts tells what an ended workout adds to a goal type. Workouts
// count toward calories, distance and active minutes besides the samples
// of those metrics (a device bridge that also posts a workout's calories as
// samples counts them twice: documented in the README).
func workoutCounts(goalType string, w *Workout) float64 {
	if w.Active() {
		return 0
	}
	switch goalType {
	case GoalWorkouts:
		return 1
	case GoalCaloriesBurned:
		return w.CaloriesBurned
	case GoalActiveMinutes:
		return float64(w.Duration) / 60
	case GoalDistanceKM:
		if w.DistanceKM != nil {
			return *w.DistanceKM
		}
	}
	return 0
}

// window is a goal's current period in the user's zone: [from, to).
func goalWindow(g GoalSpec, now time.Time, loc *time.Location) (from, to time.Time) {
	n, today := now.In(loc), localDay(now, loc)
	switch g.Period {
	case PeriodDaily:
		return today, today.AddDate(0, 0, 1)
	case PeriodWeekly:
		monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
		return monday, monday.AddDate(0, 0, 7)
	case PeriodMonthly:
		first := time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, loc)
		return first, first.AddDate(0, 1, 0)
	}
	end := today.AddDate(0, 0, 1)
	if d, err := time.ParseInLocation(time.DateOnly, g.TargetDate, loc); err == nil {
		end = d.AddDate(0, 0, 1)
	}
	return localDay(g.CreatedAt, loc), end
}

// goalValue measures a goal type over [from, to): the sum of its metric's
// samples plus what the workouts starting in the range add; for weight, the
// latest weight.
func (s *service) goalValue(ctx context.Context, userID, goalType string, from, to time.Time) (float64, error) {
	if goalType == GoalWeightKG {
		w, _, err := s.latestWeight(ctx, userID)
		return w, err
	}
	var total float64
	if m := goalMetric(goalType); m != "" {
		aggs, err := s.store.Buckets(ctx, userID, m, []time.Time{from, to})
		if err != nil {
			return 0, err
		}
		for _, a := range aggs {
			total += a.Sum
		}
	}
	err := s.store.EachWorkout(ctx, userID, from.UTC(), to.UTC(), func(w *Workout) error {
		total += workoutCounts(goalType, w)
		return nil
	})
	return total, err
}

// latestWeight is the user's latest weight sample, else the weight in the
// profile; ok is false when neither is known.
func (s *service) latestWeight(ctx context.Context, userID string) (float64, bool, error) {
	latest, err := s.store.LatestSamples(ctx, userID)
	if err != nil {
		return 0, false, err
	}
	for _, smp := range latest {
		if smp.Metric == GoalWeightKG {
			return smp.Value, true, nil
		}
	}
	u, err := s.users.Basics(ctx, userID)
	if err != nil || u.WeightKG == nil {
		return 0, false, err
	}
	return *u.WeightKG, true, nil
}

// reached tells whether value meets a goal's target: at least the target,
// or for weight at or past it coming from the starting weight (losing when
// the start is unknown).
func reached(goalType string, value, target float64, start *float64) bool {
	if goalType != GoalWeightKG {
		return value >= target
	}
	if start != nil && *start < target {
		return value >= target
	}
	return value <= target
}

// pace works out the expected value by now and the projected date for a
// goal whose current period is [from, to) with value current. quiet are
// the user's quiet hours: a daily goal is paced over the waking hours.
func pace(g GoalSpec, current float64, start *float64, from, to, now time.Time, quiet QuietHours) Progress {
	p := Progress{Current: current, Reached: reached(g.GoalType, current, g.TargetValue, start)}
	loc := from.Location()
	if p.Reached {
		p.OnTrack = true
		p.ProjectedDate = ptr(now.In(loc).Format(time.DateOnly))
		return p
	}
	elapsed, total := activeSpan(from, to, now, g.Period == PeriodDaily, quiet)
	if total <= 0 {
		return p
	}
	f := min(1, elapsed/total)
	if g.GoalType == GoalWeightKG {
		if start == nil {
			return p
		}
		exp := round1(*start + (g.TargetValue-*start)*f)
		p.Expected = &exp
		p.OnTrack = reached(g.GoalType, current, exp, start)
		// Weight does not accumulate; a projection from one reading would
		// be noise.
		return p
	}
	exp := round1(g.TargetValue * f)
	p.Expected = &exp
	p.OnTrack = current >= exp
	if current <= 0 || elapsed <= 0 {
		return p
	}
	need := (g.TargetValue - current) / (current / elapsed) // active seconds more at this rate
	if elapsed+need <= total {
		at := projectTime(from, to, now, need, g.Period == PeriodDaily, quiet)
		p.ProjectedDate = ptr(at.In(loc).Format(time.DateOnly))
	}
	return p
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// activeSpan measures [from, to) and its part up to now in seconds, counting
// only waking time when waking is set.
func activeSpan(from, to, now time.Time, waking bool, quiet QuietHours) (elapsed, total float64) {
	if !waking || quiet.None() {
		return clampSeconds(now.Sub(from), to.Sub(from)), to.Sub(from).Seconds()
	}
	ws, we := quiet.Waking(from)
	total = we.Sub(ws).Seconds()
	return clampSeconds(now.Sub(ws), we.Sub(ws)), total
}

// projectTime is the moment need more active seconds from now fall on.
func projectTime(from, to, now time.Time, need float64, waking bool, quiet QuietHours) time.Time {
	at := now.Add(time.Duration(need * float64(time.Second)))
	if waking && !quiet.None() {
		ws, _ := quiet.Waking(from)
		if now.Before(ws) {
			at = ws.Add(time.Duration(need * float64(time.Second)))
		}
	}
	if at.After(to) {
		return to
	}
	return at
}

func clampSeconds(d, limit time.Duration) float64 {
	return min(limit, max(0, d)).Seconds()
}
