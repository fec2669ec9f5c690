package etl

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
)

// Analytics answers questions from the warehouse, through the loader's
// breaker: while the warehouse is down they fail with
// ErrWarehouseUnavailable, and the rest of the API is unaffected.
type Analytics struct {
	l       *Loader
	members Members
	log     *slog.Logger
	keys    sync.Map // user id → pseudonym: a leaderboard names every member at each request
}

// key is a user's pseudonym, computed once per process (ids are never
// reused, so the cache never goes stale; it grows with the accounts).
func (a *Analytics) key(userID string) string {
	if k, ok := a.keys.Load(userID); ok {
		return k.(string)
	}
	k := pseudonym(a.l.key, userID)
	a.keys.Store(userID, k)
	return k
}

// NewAnalytics serves analytics from l's warehouse; members names the
// leaderboard's entries.
func NewAnalytics(l *Loader, members Members, log *slog.Logger) *Analytics {
	return &Analytics{l: l, members: members, log: log}
}

// Leaderboard metrics and periods.
var (
	LeaderboardMetrics = []string{MeasureSteps, MeasureCaloriesBurned, MeasureWorkouts, MeasureActiveMinutes}
	TrendMetrics       = []string{MeasureSteps, MeasureCaloriesBurned, MeasureWorkouts, MeasureActiveMinutes, MeasureDistanceKM}
	Periods            = []string{"week", "month"}
)

// read runs fn on the warehouse through the breaker. Any failure is the
// warehouse being unavailable to the caller (and is logged): analytics
// have nothing else to answer from.
func (a *Analytics) read(ctx context.Context, fn func(db *gorm.DB) error) error {
	err := a.l.guard(ctx, func(ctx context.Context) error { return fn(a.l.wh.Read(ctx)) })
	if err != nil && !errors.Is(err, ErrWarehouseUnavailable) && ctx.Err() == nil {
		a.log.ErrorContext(ctx, "etl: warehouse query failed", slog.String("error", err.Error()))
		return ErrWarehouseUnavailable
	}
	return err
}

// zoneOfUser is the user's time zone as the warehouse has it (UTC when the
// user is not loaded yet); known tells whether they are.
func zoneOfUser(db *gorm.DB, key string) (loc *time.Location, known bool, err error) {
	var zones []string
	if err := db.Model(&dimUser{}).Where("user_key = ?", key).Limit(1).Pluck("timezone", &zones).Error; err != nil {
		return nil, false, err
	}
	if len(zones) == 0 {
		return time.UTC, false, nil
	}
	return zoneOf(zones[0]), true, nil
}

// day is a date key as YYYY-MM-DD.
func day(key int) string { return dayOf(key).Format(time.DateOnly) }

// Entry is one place in a leaderboard.
type Entry struct {
	Rank        int     `json:"rank"`
	UserID      string  `json:"user_id"`
	DisplayName string  `json:"display_name"`
	Value       float64 `json:"value"`
}

// Standing is the caller's own place: always given to them, opted in or
// not (a caller who is not appears only here).
type Standing struct {
	Rank    int     `json:"rank"`
	Value   float64 `json:"value"`
	OptedIn bool    `json:"opted_in"`
	OutOf   int     `json:"out_of"` // how many are ranked
}

// Leaderboard is GET /analytics/leaderboard's answer.
type Leaderboard struct {
	Metric  string   `json:"metric"`
	Period  string   `json:"period"`
	From    string   `json:"from"` // the period so far, in the caller's zone
	To      string   `json:"to"`
	Entries []Entry  `json:"entries"`
	Me      Standing `json:"me"`
}

// Leaderboard ranks the users who opted in, and the caller, by metric over
// the current week or month so far (days are each user's local days; the
// period's days are the caller's). Equal values share a rank.
func (a *Analytics) Leaderboard(ctx context.Context, callerID, metric, period string, limit int) (*Leaderboard, error) {
	v := apperr.Validation{}
	v.Check(slices.Contains(LeaderboardMetrics, metric), "metric", "must be one of steps, calories_burned, workouts, active_minutes")
	v.Check(slices.Contains(Periods, period), "period", "must be week or month")
	if err := v.Err(); err != nil {
		return nil, err
	}
	members, err := a.members(ctx)
	if err != nil {
		return nil, err
	}
	me := a.key(callerID)
	byKey := make(map[string]Member, len(members)+1)
	for _, m := range members {
		byKey[a.key(m.UserID)] = m
	}
	_, optedIn := byKey[me]
	out := &Leaderboard{Metric: metric, Period: period, Entries: []Entry{}}
	var totals []value
	err = a.read(ctx, func(db *gorm.DB) error {
		loc, _, err := zoneOfUser(db, me)
		if err != nil {
			return err
		}
		to := today(a.l.now(), loc)
		from := weekStart(to)
		if period == "month" {
			from = monthStart(to)
		}
		out.From, out.To = day(from), day(to)
		totals, err = values(db, metric, nil, from, to, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	type ranked struct {
		key   string
		value float64
	}
	var board []ranked
	mine := 0.0
	for _, t := range totals {
		if t.UserKey == me {
			mine = t.Value
		}
		if _, ok := byKey[t.UserKey]; ok || t.UserKey == me {
			board = append(board, ranked{t.UserKey, t.Value})
		}
	}
	if !slices.ContainsFunc(board, func(r ranked) bool { return r.key == me }) {
		board = append(board, ranked{me, 0})
	}
	slices.SortFunc(board, func(x, y ranked) int { return cmp.Or(cmp.Compare(y.value, x.value), cmp.Compare(x.key, y.key)) })
	rank := 0
	for i, r := range board {
		if i == 0 || r.value != board[i-1].value {
			rank = i + 1
		}
		if r.key == me {
			out.Me = Standing{Rank: rank, Value: round2(mine), OptedIn: optedIn, OutOf: len(board)}
		}
		m, ok := byKey[r.key]
		if ok && len(out.Entries) < limit {
			out.Entries = append(out.Entries, Entry{Rank: rank, UserID: m.UserID, DisplayName: m.DisplayName, Value: round2(r.value)})
		}
	}
	return out, nil
}

// linearFit is the least-squares line through ys at x = 0, 1, …
func linearFit(ys []float64) (slope, intercept float64) {
	n := float64(len(ys))
	if n < 2 {
		if n == 1 {
			return 0, ys[0]
		}
		return 0, 0
	}
	var sx, sy, sxx, sxy float64
	for i, y := range ys {
		x := float64(i)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	d := n*sxx - sx*sx
	slope = (n*sxy - sx*sy) / d
	return slope, (sy - slope*sx) / n
}

// movingAverage is each week's average over it and the window-1 before.
func movingAverage(ys []float64, window int) []float64 {
	out := make([]float64, len(ys))
	sum := 0.0
	for i, y := range ys {
		sum += y
		if i >= window {
			sum -= ys[i-window]
		}
		out[i] = round2(sum / float64(min(i+1, window)))
	}
	return out
}

// daysUntil is how many days at pace it takes to cover need (ceil).
func daysUntil(need, pace float64) int { return int(math.Ceil(need / pace)) }
