package users

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
)

// goalSagaTimeout bounds how long goal creation waits for its saga.
const goalSagaTimeout = 30 * time.Second

// CreateGoal implements Service.
func (s *service) CreateGoal(ctx context.Context, userID string, in GoalInput) (*Goal, error) {
	if _, err := selfOrAdmin(ctx, userID, ErrUserNotFound); err != nil {
		return nil, err
	}
	if in.Period == "" {
		in.Period = "total"
	}
	a, err := s.store.accountByID(s.db.Read(ctx), userID)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	v := apperr.Validation{}
	v.Check(slices.Contains(GoalTypes, in.GoalType), "goal_type", "must be one of "+strings.Join(GoalTypes, ", "))
	validateTarget(v, in.TargetValue)
	v.Check(slices.Contains(GoalPeriods, in.Period), "period", "must be one of "+strings.Join(GoalPeriods, ", "))
	target := validateTargetDate(v, in.TargetDate, a.Timezone, now)
	if err := v.Err(); err != nil {
		return nil, err
	}
	g := &goalRow{ID: newID(), UserID: userID, GoalType: in.GoalType, TargetValue: in.TargetValue,
		TargetDate: target, Period: in.Period, Status: "active", CreatedAt: now, UpdatedAt: now}
	// The goal is stored and the planner told through the users.set_goal
	// saga: if the planner fails, the goal is removed and its error returned.
	// The saga runs to its end even if the client disconnects, so the answer
	// an Idempotency-Key replays is the real outcome, never a lost one.
	sagaCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), goalSagaTimeout)
	defer cancel()
	if _, err := s.sagas.Start(sagaCtx, SagaSetGoal, newSetGoalData(g)); err != nil {
		return nil, err
	}
	return s.goalDTO(ctx, g, a)
}

func validateTarget(v apperr.Validation, x float64) {
	v.Check(x > 0 && x <= 1e9 && !math.IsInf(x, 0) && !math.IsNaN(x), "target_value", "must be a positive number")
}

// validateTargetDate parses a YYYY-MM-DD date that is not before today in the
// user's time zone.
func validateTargetDate(v apperr.Validation, s, tz string, now time.Time) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		v.Add("target_date", "must be a date like 2026-12-31")
		return d
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	today, _ := time.Parse(time.DateOnly, now.In(loc).Format(time.DateOnly))
	v.Check(!d.Before(today), "target_date", "must not be in the past")
	v.Check(d.Year() < 2200, "target_date", "must be before 2200")
	return d
}

// FindGoals implements Service.
func (s *service) FindGoals(ctx context.Context, userID string, f GoalFilter) ([]*Goal, error) {
	if _, err := selfOrAdmin(ctx, userID, ErrUserNotFound); err != nil {
		return nil, err
	}
	if f.Status != "" && !slices.Contains(GoalStatuses, f.Status) {
		return nil, apperr.FieldError("status", "must be one of "+strings.Join(GoalStatuses, ", "))
	}
	a, err := s.store.accountByID(s.db.Read(ctx), userID)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.goals(s.db.Read(ctx), userID, f)
	if err != nil {
		return nil, err
	}
	out := make([]*Goal, 0, len(rows))
	for i := range rows {
		g, err := s.goalDTO(ctx, &rows[i], a)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// FindGoalByID implements Service.
func (s *service) FindGoalByID(ctx context.Context, userID, goalID string) (*Goal, error) {
	if _, err := selfOrAdmin(ctx, userID, ErrGoalNotFound); err != nil {
		return nil, err
	}
	a, err := s.store.accountByID(s.db.Read(ctx), userID)
	if err != nil {
		return nil, ErrGoalNotFound
	}
	g, err := s.store.goal(s.db.Read(ctx), userID, goalID)
	if err != nil {
		return nil, err
	}
	return s.goalDTO(ctx, g, a)
}

// UpdateGoal implements Service.
func (s *service) UpdateGoal(ctx context.Context, userID, goalID string, upd GoalUpdate) (*Goal, error) {
	if _, err := selfOrAdmin(ctx, userID, ErrGoalNotFound); err != nil {
		return nil, err
	}
	a, err := s.store.accountByID(s.db.Read(ctx), userID)
	if err != nil {
		return nil, ErrGoalNotFound
	}
	now := s.clock()
	v := apperr.Validation{}
	if upd.TargetValue != nil {
		validateTarget(v, *upd.TargetValue)
	}
	var target time.Time
	if upd.TargetDate != nil {
		target = validateTargetDate(v, *upd.TargetDate, a.Timezone, now)
	}
	if upd.Period != nil {
		v.Check(slices.Contains(GoalPeriods, *upd.Period), "period", "must be one of "+strings.Join(GoalPeriods, ", "))
	}
	if upd.Status != nil {
		v.Check(slices.Contains(GoalStatuses, *upd.Status), "status", "must be one of "+strings.Join(GoalStatuses, ", "))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var g *goalRow
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if g, err = s.store.goal(tx, userID, goalID); err != nil {
			return err
		}
		if upd.TargetValue != nil {
			g.TargetValue = *upd.TargetValue
		}
		if upd.TargetDate != nil {
			g.TargetDate = target
		}
		if upd.Period != nil {
			g.Period = *upd.Period
		}
		if upd.Status != nil {
			g.Status = *upd.Status
		}
		g.UpdatedAt = s.clock() // the write's time, for the goal feed (changes.go)
		return translate(tx.Save(g).Error, nil)
	})
	if err != nil {
		return nil, err
	}
	return s.goalDTO(ctx, g, a)
}

// DeleteGoal implements Service.
func (s *service) DeleteGoal(ctx context.Context, userID, goalID string) error {
	if _, err := selfOrAdmin(ctx, userID, ErrGoalNotFound); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		n, err := s.store.deleteGoals(tx, s.clock(), "id = ? AND user_id = ?", goalID, userID)
		if err == nil && n == 0 {
			return ErrGoalNotFound
		}
		return err
	})
}

// goalDTO is a goal with its progress and pace; a is its owner's account,
// whose time zone and quiet hours the ProgressSource needs.
func (s *service) goalDTO(ctx context.Context, g *goalRow, a *accountRow) (*Goal, error) {
	target := g.TargetDate.Format(time.DateOnly)
	p, err := s.progress.CurrentProgress(ctx, g.UserID, GoalSpec{
		GoalID: g.ID, GoalType: g.GoalType, Period: g.Period, TargetValue: g.TargetValue, TargetDate: target,
		CreatedAt: g.CreatedAt, Timezone: a.Timezone, QuietStart: a.QuietHoursStart, QuietEnd: a.QuietHoursEnd,
	})
	if err != nil {
		return nil, err
	}
	return &Goal{GoalID: g.ID, UserID: g.UserID, GoalType: g.GoalType, TargetValue: g.TargetValue,
		TargetDate: target, Period: g.Period, Status: g.Status, CurrentProgress: p.Current,
		Pace:      GoalPace{Expected: p.Expected, ProjectedDate: p.ProjectedDate, OnTrack: p.OnTrack},
		CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}, nil
}

// Limits of an ActiveGoals page.
const (
	defaultActiveGoals = 100
	maxActiveGoals     = 1000
)

// ActiveGoals implements Service.
func (s *service) ActiveGoals(ctx context.Context, q ActiveGoalQuery) ([]ActiveGoal, error) {
	for _, p := range q.Periods {
		if !slices.Contains(GoalPeriods, p) {
			return nil, apperr.FieldError("periods", "must each be one of "+strings.Join(GoalPeriods, ", "))
		}
	}
	switch {
	case q.Limit <= 0:
		q.Limit = defaultActiveGoals
	case q.Limit > maxActiveGoals:
		q.Limit = maxActiveGoals
	}
	rows, err := s.store.activeGoals(s.db.Read(ctx), q)
	if err != nil {
		return nil, err
	}
	out := make([]ActiveGoal, 0, len(rows))
	for _, g := range rows {
		out = append(out, ActiveGoal{GoalID: g.ID, UserID: g.UserID, GoalType: g.GoalType, Period: g.Period,
			TargetValue: g.TargetValue, TargetDate: g.TargetDate.Format(time.DateOnly), CreatedAt: g.CreatedAt.UTC()})
	}
	return out, nil
}
