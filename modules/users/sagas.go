package users

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fitloop/fitloop/platform/saga"
)

// Saga names; the users module owns both processes.
const (
	SagaSetGoal       = "users.set_goal"
	SagaDeleteAccount = "users.delete_account"
)

// setGoalData is the durable state of a users.set_goal saga (shown to admins
// at /api/v1/admin/sagas/{id}, so snake_case like the rest of the API).
type setGoalData struct {
	GoalID      string    `json:"goal_id"`
	UserID      string    `json:"user_id"`
	GoalType    string    `json:"goal_type"`
	TargetValue float64   `json:"target_value"`
	TargetDate  string    `json:"target_date"`
	Period      string    `json:"period"`
	CreatedAt   time.Time `json:"created_at"`
}

func newSetGoalData(g *goalRow) setGoalData {
	return setGoalData{GoalID: g.ID, UserID: g.UserID, GoalType: g.GoalType, TargetValue: g.TargetValue,
		TargetDate: g.TargetDate.Format(time.DateOnly), Period: g.Period, CreatedAt: g.CreatedAt}
}

func (d setGoalData) row() (*goalRow, error) {
	target, err := time.Parse(time.DateOnly, d.TargetDate)
	if err != nil {
		return nil, fmt.Errorf("users: saga goal date: %w", err)
	}
	return &goalRow{ID: d.GoalID, UserID: d.UserID, GoalType: d.GoalType, TargetValue: d.TargetValue,
		TargetDate: target, Period: d.Period, Status: "active", CreatedAt: d.CreatedAt, UpdatedAt: d.CreatedAt}, nil
}

// deleteAccountData is the durable state of a users.delete_account saga.
type deleteAccountData struct {
	UserID string `json:"user_id"`
	// WasDisabled keeps an admin's ban: reopening restores it.
	WasDisabled bool `json:"was_disabled"`
}

// Sagas registers the module's sagas with the orchestrator's registry.
func (m *Module) Sagas(reg *saga.Registry) error {
	s := m.svc
	err := reg.Register(saga.Definition{Name: SagaSetGoal, Version: 1, Steps: []saga.Step{
		{Name: "store_goal", TxAction: s.storeGoal, TxCompensate: s.removeGoal},
		{Name: "notify_planner", Action: s.notifyPlanner},
	}})
	if err != nil {
		return err
	}
	return reg.Register(saga.Definition{Name: SagaDeleteAccount, Version: 1, Steps: []saga.Step{
		{Name: "close_access", Action: s.closeAccountStep, Compensate: s.reopenAccount},
		{Name: "erase_elsewhere", Action: s.eraseElsewhere},
		{Name: "erase_personal_data", TxAction: s.erasePersonalData},
	}})
}

// storeGoal inserts the goal in the transaction that records the step as
// done, so the goal and the record commit together: no idempotency record is
// needed. A goal id already stored can only be this saga's own goal, inserted
// by an earlier release of this step (a separate transaction guarded by
// saga.Once) whose record a crash lost; it counts as stored.
func (s *service) storeGoal(_ context.Context, tx *gorm.DB, ex *saga.Execution) error {
	var d setGoalData
	if err := ex.Data(&d); err != nil {
		return err
	}
	g, err := d.row()
	if err != nil {
		return err
	}
	// Stamped with the insert's time, not the request's: a step retried or
	// resumed later must still come after what the goal feed has already
	// reported. A goal stored again is no longer deleted.
	g.UpdatedAt = s.clock()
	if err := s.store.dropGoalTombstone(tx, g.ID); err != nil {
		return err
	}
	return translate(tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}).
		Create(g).Error, nil)
}

// removeGoal deletes the goal (leaving its tombstone) in the transaction
// that records the compensation as done.
func (s *service) removeGoal(_ context.Context, tx *gorm.DB, ex *saga.Execution) error {
	var d setGoalData
	if err := ex.Data(&d); err != nil {
		return err
	}
	_, err := s.store.deleteGoals(tx, s.clock(), "id = ?", d.GoalID)
	return err
}

// notifyPlanner tells the planner (activity module) about the goal; the step
// key lets the planner apply it once.
func (s *service) notifyPlanner(ctx context.Context, ex *saga.Execution) error {
	var d setGoalData
	if err := ex.Data(&d); err != nil {
		return err
	}
	return s.planner.GoalSet(ctx, ex.Key(), PlannedGoal{GoalID: d.GoalID, UserID: d.UserID, GoalType: d.GoalType,
		TargetValue: d.TargetValue, TargetDate: d.TargetDate, Period: d.Period})
}

// closeAccountStep disables the account and revokes its access (idempotent:
// DeleteUser already did it before answering 202).
func (s *service) closeAccountStep(ctx context.Context, ex *saga.Execution) error {
	var d deleteAccountData
	if err := ex.Data(&d); err != nil {
		return err
	}
	return s.closeAccount(ctx, d.UserID)
}

// reopenAccount undoes close_access when erasing failed: the account is
// usable again (its sessions stay revoked; the user signs in anew).
func (s *service) reopenAccount(ctx context.Context, ex *saga.Execution) error {
	var d deleteAccountData
	if err := ex.Data(&d); err != nil {
		return err
	}
	return s.reopen(ctx, d)
}

// reopen undoes a close: the account exists again, disabled only if it was
// before (an admin's ban survives a failed deletion).
func (s *service) reopen(ctx context.Context, d deleteAccountData) error {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		return translate(tx.Model(&accountRow{}).Where("id = ?", d.UserID).
			Updates(map[string]any{"deleted_at": nil, "disabled": d.WasDisabled, "updated_at": s.clock()}).Error, nil)
	})
	s.views.forget(ctx, d.UserID)
	return err
}

// eraseElsewhere asks every other module to forget the user.
func (s *service) eraseElsewhere(ctx context.Context, ex *saga.Execution) error {
	var d deleteAccountData
	if err := ex.Data(&d); err != nil {
		return err
	}
	for _, e := range s.erasers {
		if err := e.EraseAccount(ctx, d.UserID); err != nil {
			return fmt.Errorf("users: erase %s elsewhere: %w", d.UserID, err)
		}
	}
	return nil
}

// erasePersonalData removes the user's rows and scrubs the account row,
// which stays as a tombstone so references by id still resolve to "deleted".
// The email and username are released.
// It runs in the saga's own transaction, so the erase and its record commit
// together.
func (s *service) erasePersonalData(ctx context.Context, tx *gorm.DB, ex *saga.Execution) error {
	var d deleteAccountData
	if err := ex.Data(&d); err != nil {
		return err
	}
	id := d.UserID
	// This runs before the saga's transaction commits, but the account is
	// closed already: no refill can cache it in between.
	defer s.views.forget(ctx, id)
	now := s.clock()
	// Goals leave tombstones for the goal feed; the rest goes without trace.
	if _, err := s.store.deleteGoals(tx, now, "user_id = ?", id); err != nil {
		return err
	}
	for _, m := range []any{&credentialRow{}, &sessionRow{}, &tokenRow{}, &biometricsRow{}, &weightRow{}} {
		if err := tx.Where("user_id = ?", id).Delete(m).Error; err != nil {
			return translate(err, nil)
		}
	}
	return translate(tx.Model(&accountRow{}).Where("id = ?", id).Updates(map[string]any{
		"username": "deleted-" + id, "email": "deleted+" + id + "@invalid", "display_name": "", "bio": "",
		"timezone": "UTC", "quiet_hours_start": defaultQuietStart, "quiet_hours_end": defaultQuietEnd,
		"leaderboard_opt_in": false, "disabled": true, "deleted_at": now, "updated_at": now,
	}).Error, nil)
}
