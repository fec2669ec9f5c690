package activity

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fitloop/fitloop/platform/cron"
)

// GoalAlertsJob is the name of the cron job that sends goal alerts.
const GoalAlertsJob = "activity.goal_alerts"

// Goal alert limits: at most maxAlertsPerDay behind-pace alerts a user's
// local day, at least alertGap apart, never in the user's quiet hours.
const (
	maxAlertsPerDay = 3
	alertGap        = 3 * time.Hour
	alertPage       = 500
)

// GoalAlerts is the cron job activity.goal_alerts (hourly by default):
// every active goal is measured; a reached one gets its "goal achieved"
// notification (if the immediate check missed it) and a daily or weekly
// goal behind pace gets an alert such as "3,200 more steps today to reach
// 10,000".
func (m *Module) GoalAlerts() cron.Job {
	return cron.Job{Name: GoalAlertsJob, Schedule: "@hourly", Run: m.svc.goalAlerts}
}

func (s *service) goalAlerts(ctx context.Context) error {
	users := map[string]*UserBasics{}
	for after := ""; ; {
		goals, err := s.users.ActiveGoals(ctx, GoalQuery{After: after, Limit: alertPage})
		if err != nil || len(goals) == 0 {
			return err
		}
		for _, g := range goals {
			u, ok := users[g.UserID]
			if !ok {
				if u, err = s.users.Basics(ctx, g.UserID); err != nil {
					s.log.WarnContext(ctx, "activity: goal alerts: user", "user_id", g.UserID, "err", err)
				}
				users[g.UserID] = u
			}
			if u == nil {
				continue
			}
			if err := s.checkGoal(ctx, g, u, true); err != nil {
				return err
			}
		}
		after = goals[len(goals)-1].GoalID
	}
}

// checkGoal measures one goal and notifies its user when it is reached, or
// (when alert is set) when a daily or weekly goal is behind pace.
func (s *service) checkGoal(ctx context.Context, g GoalSpec, u *UserBasics, alert bool) error {
	g.Timezone, g.Quiet = u.Timezone, u.Quiet
	p, from, err := s.measure(ctx, g) // the dedupe keys name the period measured
	if err != nil {
		return err
	}
	if p.Reached {
		_, err := s.notify(ctx, &Notification{UserID: g.UserID, Kind: KindGoalAchieved, GoalID: g.GoalID,
			GoalType: g.GoalType, Message: achievedMessage(g),
			DedupeKey: "achieved:" + g.GoalID + ":" + from.Format(time.DateOnly)})
		return err
	}
	if !alert || p.OnTrack || g.GoalType == GoalWeightKG || (g.Period != PeriodDaily && g.Period != PeriodWeekly) {
		return nil
	}
	now := s.clock()
	loc := from.Location()
	if u.Quiet.Contains(now.In(loc)) {
		return nil
	}
	midnight := localDay(now, loc)
	n, last, err := s.notes.countSince(ctx, g.UserID, KindGoalBehind, midnight.UTC())
	if err != nil || n >= maxAlertsPerDay || now.Sub(last) < alertGap {
		return err
	}
	// The key numbers the day's alerts: however many replicas or retries
	// race, a user gets at most maxAlertsPerDay a day.
	_, err = s.notify(ctx, &Notification{UserID: g.UserID, Kind: KindGoalBehind, GoalID: g.GoalID,
		GoalType: g.GoalType, Message: behindMessage(g, p.Current),
		DedupeKey: fmt.Sprintf("behind:%s:%s:%d", g.UserID, midnight.Format(time.DateOnly), n)})
	return err
}

// goalUnits names a goal type's unit in messages.
var goalUnits = map[string]string{
	GoalSteps: "steps", GoalCaloriesBurned: "kcal", GoalWorkouts: "workouts",
	GoalActiveMinutes: "active minutes", GoalDistanceKM: "km", GoalWeightKG: "kg",
}

var periodWords = map[string]string{PeriodDaily: "today", PeriodWeekly: "this week", PeriodMonthly: "this month"}

func periodWord(g GoalSpec) string {
	if w, ok := periodWords[g.Period]; ok {
		return w
	}
	return "by " + g.TargetDate
}

func behindMessage(g GoalSpec, current float64) string {
	return fmt.Sprintf("%s more %s %s to reach %s.", number(g.TargetValue-current), goalUnits[g.GoalType],
		periodWord(g), number(g.TargetValue))
}

func achievedMessage(g GoalSpec) string {
	if g.GoalType == GoalWeightKG {
		return fmt.Sprintf("Goal achieved: %s kg.", number(g.TargetValue))
	}
	return fmt.Sprintf("Goal achieved: %s %s %s.", number(g.TargetValue), goalUnits[g.GoalType], periodWord(g))
}

// number formats x with thousands separators and at most one decimal.
func number(x float64) string {
	s := strconv.FormatFloat(round1(x), 'f', -1, 64)
	whole, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

// achiever checks a user's goals soon after new data arrives, so a goal
// reached is announced at once; the hourly job catches what a crash lost.
// Users waiting are coalesced: a burst of batches costs one check.
type achiever struct {
	s       *service
	mu      sync.Mutex
	pending map[string]struct{}
	wake    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

func newAchiever(s *service) *achiever {
	ctx, cancel := context.WithCancel(context.Background())
	a := &achiever{s: s, pending: map[string]struct{}{}, wake: make(chan struct{}, 1), cancel: cancel,
		done: make(chan struct{})}
	go a.run(ctx)
	return a
}

// enqueue asks for a check of userID's goals.
func (a *achiever) enqueue(userID string) {
	a.mu.Lock()
	a.pending[userID] = struct{}{}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *achiever) run(ctx context.Context) {
	defer close(a.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		}
		a.mu.Lock()
		users := a.pending
		a.pending = map[string]struct{}{}
		a.mu.Unlock()
		for id := range users {
			if err := a.s.checkUser(ctx, id); err != nil && ctx.Err() == nil {
				a.s.log.WarnContext(ctx, "activity: goal check", "user_id", id, "err", err)
			}
		}
	}
}

// close stops the checker and waits for it.
func (a *achiever) close() {
	a.cancel()
	<-a.done
}

// checkUser announces every goal of a user that is reached.
func (s *service) checkUser(ctx context.Context, userID string) error {
	goals, err := s.users.ActiveGoals(ctx, GoalQuery{UserID: userID, Limit: alertPage})
	if err != nil || len(goals) == 0 {
		return err
	}
	u, err := s.users.Basics(ctx, userID)
	if err != nil {
		return err
	}
	for _, g := range goals {
		if err := s.checkGoal(ctx, g, u, false); err != nil {
			return err
		}
	}
	return nil
}
