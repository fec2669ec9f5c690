package activity

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fitloop/fitloop/platform/database"
)

// PlannedGoal is what the planner learns about a new goal (the users
// module's users.set_goal saga tells it; main.go adapts).
type PlannedGoal struct {
	GoalID, UserID, GoalType, Period string
	TargetValue                      float64
}

// goalPlan is a row of activity_goal_plans.
type goalPlan struct {
	PlanKey     string `gorm:"primaryKey"`
	GoalID      string
	UserID      string
	GoalType    string
	Period      string
	TargetValue float64
	Baseline    *float64
	CreatedAt   time.Time `gorm:"autoCreateTime:false"`
}

func (goalPlan) TableName() string { return "activity_goal_plans" }

// baselineDays is how far back the planner looks for a user's usual level.
const baselineDays = 28

// periodDays is the length in days of a goal period, for baselines.
var periodDays = map[string]float64{PeriodDaily: 1, PeriodWeekly: 7, PeriodMonthly: 30}

// GoalSet implements the users module's Planner: it records the goal with
// the user's usual level before it (the average per goal period over the
// last 28 days; for weight, the weight then), which paces weight goals and
// is shown in reports. A key is applied once: the saga may call again.
func (s *service) GoalSet(ctx context.Context, key string, g PlannedGoal) error {
	plan := goalPlan{PlanKey: key, GoalID: g.GoalID, UserID: g.UserID, GoalType: g.GoalType,
		Period: g.Period, TargetValue: g.TargetValue, CreatedAt: s.clock()}
	var err error
	if plan.Baseline, err = s.baseline(ctx, g); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "plan_key"}}, DoNothing: true}).
			Create(&plan).Error
	})
}

func (s *service) baseline(ctx context.Context, g PlannedGoal) (*float64, error) {
	if g.GoalType == GoalWeightKG {
		w, ok, err := s.latestWeight(ctx, g.UserID)
		if !ok || err != nil {
			return nil, err
		}
		return &w, nil
	}
	days, ok := periodDays[g.Period]
	if !ok {
		return nil, nil
	}
	now := s.clock()
	total, err := s.goalValue(ctx, g.UserID, g.GoalType, now.AddDate(0, 0, -baselineDays), now)
	if err != nil {
		return nil, err
	}
	b := round1(total / baselineDays * days)
	return &b, nil
}

// planBaseline is the baseline the planner recorded for a goal (for weight,
// the weight it started from), nil when unknown.
func (s *service) planBaseline(ctx context.Context, goalID string) (*float64, error) {
	var p goalPlan
	err := s.db.Read(ctx).Where("goal_id = ?", goalID).Order("created_at").Take(&p).Error
	if database.IsNotFound(err) {
		return nil, nil
	}
	return p.Baseline, err
}

// GoalProgress implements the users module's ProgressSource: a goal's
// value in its current period (today, this week, this month, or from its
// creation to its target date, in the user's zone) with the pace. It
// checks no caller: the users module has authorized the request.
func (s *service) GoalProgress(ctx context.Context, g GoalSpec) (Progress, error) {
	p, _, err := s.measure(ctx, g)
	return p, err
}

// measure is GoalProgress with the start of the period it measured.
func (s *service) measure(ctx context.Context, g GoalSpec) (Progress, time.Time, error) {
	loc := location(&UserBasics{Timezone: g.Timezone})
	now := s.now()
	from, to := goalWindow(g, now, loc)
	current, err := s.goalValue(ctx, g.UserID, g.GoalType, from, to)
	if err != nil {
		return Progress{}, from, err
	}
	var start *float64
	if g.GoalType == GoalWeightKG {
		if start, err = s.planBaseline(ctx, g.GoalID); err != nil {
			return Progress{}, from, err
		}
	}
	return pace(g, round1(current), start, from, to, now, g.Quiet), from, nil
}
