package activity

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
)

// StatsQuery bounds statistics: dates (the user's days, inclusive) or RFC
// 3339 times; From empty means since the first workout, To empty now.
type StatsQuery struct {
	From, To string
}

// WorkoutTotals sums ended workouts; durations are in seconds.
type WorkoutTotals struct {
	TotalWorkouts          int64   `json:"total_workouts"`
	TotalDuration          int64   `json:"total_duration"`
	TotalCaloriesBurned    float64 `json:"total_calories_burned"`
	AverageSessionDuration int64   `json:"average_session_duration"`
	TotalDistanceKM        float64 `json:"total_distance_km"`
}

// add counts one workout; active ones do not count.
func (t *WorkoutTotals) add(w *Workout) {
	if w.Active() {
		return
	}
	t.TotalWorkouts++
	t.TotalDuration += w.Duration
	t.TotalCaloriesBurned = round1(t.TotalCaloriesBurned + w.CaloriesBurned)
	if w.DistanceKM != nil {
		t.TotalDistanceKM = math.Round((t.TotalDistanceKM+*w.DistanceKM)*1000) / 1000
	}
	t.AverageSessionDuration = int64(math.Round(float64(t.TotalDuration) / float64(t.TotalWorkouts)))
}

// TypeTotals are the totals of one workout type.
type TypeTotals struct {
	WorkoutType string `json:"workout_type"`
	WorkoutTotals
}

// Statistics sums a user's workouts over a range.
type Statistics struct {
	UserID string     `json:"user_id"`
	From   *time.Time `json:"from"`
	To     time.Time  `json:"to"`
	WorkoutTotals
	ByType []TypeTotals `json:"by_type"`
	// CurrentStreakDays counts the user's local days in a row, up to today
	// (or yesterday, while today has none yet), with an ended workout.
	CurrentStreakDays int `json:"current_streak_days"`
}

// workoutStats folds workouts into totals, overall and by type.
type workoutStats struct {
	all    WorkoutTotals
	byType map[string]*WorkoutTotals
}

func (ws *workoutStats) add(w *Workout) {
	ws.all.add(w)
	if ws.byType == nil {
		ws.byType = map[string]*WorkoutTotals{}
	}
	t := ws.byType[w.WorkoutType]
	if t == nil {
		t = &WorkoutTotals{}
		ws.byType[w.WorkoutType] = t
	}
	t.add(w)
}

// types lists the per-type totals, most workouts first.
func (ws *workoutStats) types() []TypeTotals {
	out := make([]TypeTotals, 0, len(ws.byType))
	for typ, t := range ws.byType {
		if t.TotalWorkouts > 0 {
			out = append(out, TypeTotals{WorkoutType: typ, WorkoutTotals: *t})
		}
	}
	slices.SortFunc(out, func(a, b TypeTotals) int {
		return cmp.Or(cmp.Compare(b.TotalWorkouts, a.TotalWorkouts), cmp.Compare(a.WorkoutType, b.WorkoutType))
	})
	return out
}

// Statistics implements Service.
func (s *service) Statistics(ctx context.Context, userID string, q StatsQuery) (*Statistics, error) {
	u, err := s.forUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	loc := location(u)
	now := s.clock()
	from, to, err := rangeOf(q.From, q.To, loc, time.Time{}, now)
	if err != nil {
		return nil, err
	}
	var ws workoutStats
	if err := s.store.EachWorkout(ctx, userID, from, to, func(w *Workout) error { ws.add(w); return nil }); err != nil {
		return nil, err
	}
	streak, err := s.streak(ctx, userID, loc, now)
	if err != nil {
		return nil, err
	}
	st := &Statistics{UserID: userID, To: to, WorkoutTotals: ws.all, ByType: ws.types(), CurrentStreakDays: streak}
	if !from.Equal(earliest) {
		st.From = &from
	}
	return st, nil
}

// rangeOf reads a from/to pair of dates or RFC 3339 times (a "to" date
// includes its day) with defaults; from empty is defFrom (earliest when
// zero), to empty is defTo.
func rangeOf(fromS, toS string, loc *time.Location, defFrom, defTo time.Time) (from, to time.Time, err error) {
	from, to = defFrom, defTo
	if from.IsZero() {
		from = earliest
	}
	v := apperr.Validation{}
	var msg string
	if fromS != "" {
		from, msg = parseBound(fromS, loc, false)
		v.Check(msg == "", "from", msg)
	}
	if toS != "" {
		to, msg = parseBound(toS, loc, true)
		v.Check(msg == "", "to", msg)
	}
	if v.Err() == nil {
		v.Check(from.Before(to), "to", "must be after from")
		v.Check(!from.Before(earliest), "from", "must not be before 2000-01-01")
	}
	return from, to, v.Err()
}

// streakPage is how many workouts a streak walk reads at a time.
const streakPage = 200

// streak counts the local days in a row, back from today or yesterday,
// with an ended workout, reading the newest workouts until a gap.
func (s *service) streak(ctx context.Context, userID string, loc *time.Location, now time.Time) (int, error) {
	today := localDay(now, loc)
	var last time.Time // the earliest day counted so far
	streak := 0
	q := WorkoutQuery{UserID: userID, Limit: streakPage}
	for {
		page, err := s.store.Workouts(ctx, q)
		if err != nil {
			return 0, err
		}
		for i := range page {
			if page[i].Active() {
				continue
			}
			d := localDay(page[i].StartTime, loc)
			if d.After(today) { // clock skew
				d = today
			}
			switch {
			case last.IsZero() && d.Before(today.AddDate(0, 0, -1)):
				return 0, nil // nothing today or yesterday
			case last.IsZero(), d.Equal(last.AddDate(0, 0, -1)):
				last = d
				streak++
			case !d.Equal(last):
				return streak, nil
			}
		}
		if len(page) < streakPage {
			return streak, nil
		}
		end := page[len(page)-1]
		q.After = &WorkoutCursor{StartTime: end.StartTime, ID: end.ID}
	}
}

// localDay is the midnight that starts t's day in loc.
func localDay(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
}
