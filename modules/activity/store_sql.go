package activity

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fitloop/fitloop/platform/database"
)

// SQLStore is the Store on fitloop's operational database (SQLite or
// PostgreSQL): tables activity_workouts, activity_samples,
// activity_metric_slots (migrations/*/00006_activity.sql) and
// activity_metric_hours (00010_activity_hour_rollups.sql). Workouts go
// through gorm models; samples, the hot path, through hand-built SQL on the
// transaction's connection.
type SQLStore struct {
	db    *database.DB
	stmts *stmtCache // AddSamples' statements, prepared on first use (SQLite)
}

var _ Store = (*SQLStore)(nil)

// NewSQLStore returns the SQL store on db, which must be migrated.
func NewSQLStore(db *database.DB) *SQLStore { return &SQLStore{db: db, stmts: &stmtCache{}} }

type workoutRow struct {
	ID                string
	UserID            string
	WorkoutType       string
	StartTime         time.Time
	EndTime           *time.Time
	Duration          int64
	CaloriesBurned    float64
	CaloriesEstimated bool
	DistanceKM        *float64 `gorm:"column:distance_km"`
	AvgHeartRate      *int
	Notes             string
	Source            string
	CreatedAt         time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt         time.Time `gorm:"autoUpdateTime:false"`
	Version           int64
}

func (workoutRow) TableName() string { return "activity_workouts" }

// utc and utcPtr put times in the form the store keeps.
var utc, utcPtr = database.UTC, database.UTCPtr

// normalize puts w's times in the form the store keeps, so the caller holds
// what a later read returns.
func normalize(w *Workout) {
	w.StartTime, w.EndTime = utc(w.StartTime), utcPtr(w.EndTime)
	w.CreatedAt, w.UpdatedAt = utc(w.CreatedAt), utc(w.UpdatedAt)
}

func toRow(w *Workout) *workoutRow {
	return &workoutRow{
		ID: w.ID, UserID: w.UserID, WorkoutType: w.WorkoutType,
		StartTime: w.StartTime, EndTime: w.EndTime, Duration: w.Duration,
		CaloriesBurned: w.CaloriesBurned, CaloriesEstimated: w.CaloriesEstimated,
		DistanceKM: w.DistanceKM, AvgHeartRate: w.AvgHeartRate, Notes: w.Notes, Source: w.Source,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, Version: w.Version,
	}
}

// toWorkout converts a row; PostgreSQL answers in the session's zone.
func (r *workoutRow) toWorkout() *Workout {
	return &Workout{
		ID: r.ID, UserID: r.UserID, WorkoutType: r.WorkoutType,
		StartTime: r.StartTime.UTC(), EndTime: utcPtr(r.EndTime), Duration: r.Duration,
		CaloriesBurned: r.CaloriesBurned, CaloriesEstimated: r.CaloriesEstimated,
		DistanceKM: r.DistanceKM, AvgHeartRate: r.AvgHeartRate, Notes: r.Notes, Source: r.Source,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version,
	}
}

// translate turns driver errors into the store's errors before they leave it.
func translate(op string, err error, notFound error) error {
	switch {
	case err == nil:
		return nil
	case notFound != nil && database.IsNotFound(err):
		return notFound
	}
	return fmt.Errorf("activity: %s: %w", op, err)
}

// errActiveTaken marks a write that the one-active-workout index refused;
// the store answers it with *ActiveWorkoutError.
var errActiveTaken = errors.New("activity: active workout taken")

// CreateWorkout inserts w and removes a tombstone of its id in the same
// transaction.
func (s *SQLStore) CreateWorkout(ctx context.Context, w *Workout) error {
	if w.UpdatedAt.IsZero() {
		return errNoUpdatedAt
	}
	normalize(w)
	row := toRow(w)
	var active string
	err := s.db.Tx(ctx, func(tx *gorm.DB) (err error) {
		if active, err = insertWorkout(tx, row); err != nil {
			return err
		}
		return untombstone(tx, row.ID)
	})
	if errors.Is(err, errActiveTaken) {
		return &ActiveWorkoutError{SessionID: active}
	}
	return translate("create workout", err, nil)
}

// insertWorkout inserts row. An active workout goes in with ON CONFLICT DO
// NOTHING on the one-active index, so a refusal leaves the transaction
// usable (PostgreSQL aborts it on an error) to read the active workout's
// id, which it answers with errActiveTaken.
func insertWorkout(tx *gorm.DB, row *workoutRow) (string, error) {
	if row.EndTime != nil {
		return "", tx.Create(row).Error
	}
	// The active workout may end between the refusal and the look-up;
	// then the insert is tried again.
	for range 3 {
		res := tx.Clauses(oneActive).Create(row)
		if res.Error != nil || res.RowsAffected == 1 {
			return "", res.Error
		}
		id, err := activeWorkoutID(tx, row.UserID)
		if err != nil || id != "" {
			return id, cmp.Or(err, errActiveTaken)
		}
	}
	return "", errActiveTaken
}

// oneActive makes an insert refused by activity_workouts_one_active a no-op.
var oneActive = clause.OnConflict{
	Columns:     []clause.Column{{Name: "user_id"}},
	TargetWhere: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "end_time IS NULL"}}},
	DoNothing:   true,
}

// activeWorkoutID returns the id of the user's active workout, "" if none.
func activeWorkoutID(q *gorm.DB, userID string) (string, error) {
	var ids []string
	err := q.Model(&workoutRow{}).Where("user_id = ? AND end_time IS NULL", userID).Limit(1).Pluck("id", &ids).Error
	if err != nil || len(ids) == 0 {
		return "", err
	}
	return ids[0], nil
}

// Workout returns one workout or ErrWorkoutNotFound.
func (s *SQLStore) Workout(ctx context.Context, id string) (*Workout, error) {
	var r workoutRow
	if err := s.db.Read(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, translate("workout", err, ErrWorkoutNotFound)
	}
	return r.toWorkout(), nil
}

// EndWorkout stores end time, duration, calories and updated_at of an
// active workout. Only a row whose end_time is NULL changes; when none
// does, a second look tells ended from missing.
func (s *SQLStore) EndWorkout(ctx context.Context, w *Workout) error {
	if w.EndTime == nil {
		return errors.New("activity: end workout: no end time")
	}
	if w.UpdatedAt.IsZero() {
		return errNoUpdatedAt
	}
	normalize(w)
	set := map[string]any{
		"end_time": *w.EndTime, "duration": w.Duration,
		"calories_burned": w.CaloriesBurned, "calories_estimated": w.CaloriesEstimated,
		"updated_at": w.UpdatedAt, "version": gorm.Expr("version + 1"),
	}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&workoutRow{}).Where("id = ? AND end_time IS NULL", w.ID).Updates(set)
		if res.Error != nil || res.RowsAffected == 1 {
			return res.Error
		}
		return missingOr(tx, w.ID, ErrWorkoutEnded)
	})
	if errors.Is(err, ErrWorkoutNotFound) || errors.Is(err, ErrWorkoutEnded) {
		return err
	}
	return translate("end workout", err, nil)
}

// missingOr tells why a conditional write to workout id changed nothing:
// ErrWorkoutNotFound when it is not there, else otherwise.
func missingOr(tx *gorm.DB, id string, otherwise error) error {
	var n int64
	if err := tx.Model(&workoutRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return ErrWorkoutNotFound
	}
	return otherwise
}

// UpdateWorkout replaces the editable fields of a workout still at
// w.Version. Making an ended workout active again while the user has
// another active one answers *ActiveWorkoutError.
func (s *SQLStore) UpdateWorkout(ctx context.Context, w *Workout) error {
	if w.UpdatedAt.IsZero() {
		return errNoUpdatedAt
	}
	normalize(w)
	set := map[string]any{
		"workout_type": w.WorkoutType, "start_time": w.StartTime, "end_time": w.EndTime,
		"duration": w.Duration, "calories_burned": w.CaloriesBurned, "calories_estimated": w.CaloriesEstimated,
		"distance_km": w.DistanceKM, "avg_heart_rate": w.AvgHeartRate, "notes": w.Notes, "updated_at": w.UpdatedAt,
		"version": w.Version + 1,
	}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&workoutRow{}).Where("id = ? AND version = ?", w.ID, w.Version).Updates(set)
		if res.Error != nil || res.RowsAffected == 1 {
			return res.Error
		}
		return missingOr(tx, w.ID, ErrWorkoutChanged)
	})
	switch {
	case err == nil:
		w.Version++
		return nil
	case errors.Is(err, ErrWorkoutNotFound), errors.Is(err, ErrWorkoutChanged):
		return err
	case database.IsUniqueViolation(err):
		// The transaction that failed is gone (PostgreSQL aborts it), so the
		// active workout is looked up afresh.
		id, lookErr := activeWorkoutID(s.db.Read(ctx), w.UserID)
		if lookErr != nil {
			return translate("update workout", lookErr, nil)
		}
		return &ActiveWorkoutError{SessionID: id}
	}
	return translate("update workout", err, nil)
}

// DeleteWorkout removes a workout and writes its tombstone in the same
// transaction: ErrWorkoutNotFound.
func (s *SQLStore) DeleteWorkout(ctx context.Context, id string, at time.Time) error {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tombstone(tx, "id", id, at); err != nil {
			return err
		}
		res := tx.Where("id = ?", id).Delete(&workoutRow{})
		if res.Error == nil && res.RowsAffected == 0 {
			return ErrWorkoutNotFound
		}
		return res.Error
	})
	if errors.Is(err, ErrWorkoutNotFound) {
		return err
	}
	return translate("delete workout", err, nil)
}

// Workouts lists a user's workouts newest first. The keyset condition is
// written as a range on start_time plus a filter, not as an OR of two ranges,
// so both planners walk activity_workouts_user_start backwards and stop after
// Limit rows. A non-positive Limit means no limit.
func (s *SQLStore) Workouts(ctx context.Context, q WorkoutQuery) ([]Workout, error) {
	db := s.db.Read(ctx).Where("user_id = ?", q.UserID)
	if q.Type != "" {
		db = db.Where("workout_type = ?", q.Type)
	}
	if !q.From.IsZero() {
		db = db.Where("start_time >= ?", utc(q.From))
	}
	if !q.To.IsZero() {
		db = db.Where("start_time < ?", utc(q.To))
	}
	if q.After != nil {
		at := utc(q.After.StartTime)
		db = db.Where("start_time <= ? AND (start_time < ? OR id < ?)", at, at, q.After.ID)
	}
	if q.Limit > 0 {
		db = db.Limit(q.Limit)
	}
	rows, err := db.Model(&workoutRow{}).Select(workoutColumns).Order("start_time DESC, id DESC").Rows()
	if err != nil {
		return nil, translate("workouts", err, nil)
	}
	defer rows.Close()
	out := make([]Workout, 0, max(q.Limit, 0))
	for rows.Next() {
		var r workoutRow
		if err := r.scan(rows); err != nil {
			return nil, translate("workouts", err, nil)
		}
		out = append(out, *r.toWorkout())
	}
	return out, translate("workouts", rows.Err(), nil)
}

// workoutColumns lists the columns scan reads, in its order.
const workoutColumns = "id, user_id, workout_type, start_time, end_time, duration, calories_burned, " +
	"calories_estimated, distance_km, avg_heart_rate, notes, source, created_at, updated_at, version"

// scan reads a row selected with workoutColumns. Lists scan by hand: gorm's
// reflection was a fifth of a workout list's CPU.
func (r *workoutRow) scan(rows *sql.Rows) error {
	return rows.Scan(&r.ID, &r.UserID, &r.WorkoutType, &r.StartTime, &r.EndTime, &r.Duration, &r.CaloriesBurned,
		&r.CaloriesEstimated, &r.DistanceKM, &r.AvgHeartRate, &r.Notes, &r.Source, &r.CreatedAt, &r.UpdatedAt, &r.Version)
}

// EachWorkout calls fn for each of a user's workouts that start in
// [from, to), oldest first, one row in memory at a time.
func (s *SQLStore) EachWorkout(ctx context.Context, userID string, from, to time.Time, fn func(*Workout) error) error {
	rows, err := s.db.Read(ctx).Model(&workoutRow{}).Select(workoutColumns).
		Where("user_id = ? AND start_time >= ? AND start_time < ?", userID, utc(from), utc(to)).
		Order("start_time, id").Rows()
	if err != nil {
		return translate("each workout", err, nil)
	}
	defer rows.Close()
	for rows.Next() {
		var r workoutRow
		if err := r.scan(rows); err != nil {
			return translate("each workout", err, nil)
		}
		if err := fn(r.toWorkout()); err != nil {
			return err
		}
	}
	return translate("each workout", rows.Err(), nil)
}

// EraseUser deletes a user's workouts, samples and rollups in one
// transaction, which writes the workouts' tombstones first.
func (s *SQLStore) EraseUser(ctx context.Context, userID string, at time.Time) error {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tombstone(tx, "user_id", userID, at); err != nil {
			return err
		}
		for _, table := range []string{"activity_samples", "activity_metric_slots", "activity_metric_hours",
			"activity_workouts"} {
			if err := tx.Exec("DELETE FROM "+table+" WHERE user_id = ?", userID).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return translate("erase user", err, nil)
}
