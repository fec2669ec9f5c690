package activity

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
)

// Workout limits.
const (
	maxWorkout    = 24 * time.Hour
	maxNotes      = 2000
	maxDistanceKM = 1000
)

// WorkoutTypes implements Service.
func (s *service) WorkoutTypes() []WorkoutType { return WorkoutTypes }

// StartWorkout implements Service.
func (s *service) StartWorkout(ctx context.Context, in StartInput) (*Started, error) {
	v := apperr.Validation{}
	v.Check(in.UserID != "", "user_id", "is required")
	checkType(v, in.WorkoutType)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.mayActFor(ctx, in.UserID); err != nil {
		return nil, err
	}
	now := s.clock()
	w := &Workout{ID: newID(), UserID: in.UserID, WorkoutType: in.WorkoutType, StartTime: now,
		Source: SourceLive, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateWorkout(ctx, w); err != nil {
		return nil, storeError(err)
	}
	return &Started{SessionID: w.ID, StartTime: w.StartTime}, nil
}

// EndWorkout implements Service.
func (s *service) EndWorkout(ctx context.Context, sessionID string, in EndInput) (*Ended, error) {
	w, err := s.ownWorkout(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	if !w.Active() {
		return nil, ErrEnded
	}
	now := s.clock()
	end := now
	if strings.TrimSpace(in.EndTime) != "" {
		t, msg := parseTime(in.EndTime, now)
		if msg != "" {
			return nil, apperr.FieldError("end_time", msg)
		}
		end = t
	}
	if msg := checkSpan(w.StartTime, end); msg != "" {
		return nil, apperr.FieldError("end_time", msg)
	}
	if err := s.price(ctx, w, end); err != nil {
		return nil, err
	}
	w.UpdatedAt = now
	if err := s.store.EndWorkout(ctx, w); err != nil {
		return nil, storeError(err)
	}
	s.achieve.enqueue(w.UserID)
	return &Ended{SessionID: w.ID, StartTime: w.StartTime, EndTime: end, Duration: w.Duration,
		CaloriesBurned: w.CaloriesBurned, CaloriesEstimated: w.CaloriesEstimated}, nil
}

// checkSpan checks an end against its start.
func checkSpan(start, end time.Time) string {
	switch {
	case end.Before(start):
		return "must not be before the start time"
	case end.Sub(start) > maxWorkout:
		return "must be within 24 hours of the start time"
	}
	return ""
}

// price sets w's end, duration and calories: MET × weight × hours, with
// the user's weight or DefaultWeightKG (then calories_estimated).
func (s *service) price(ctx context.Context, w *Workout, end time.Time) error {
	return s.priceFor(ctx, w, end, int64(end.Sub(w.StartTime)/time.Second))
}

// priceFor is price for a workout of seconds between its start and end.
func (s *service) priceFor(ctx context.Context, w *Workout, end time.Time, seconds int64) error {
	u, err := s.users.Basics(ctx, w.UserID)
	if err != nil {
		return err
	}
	weight, estimated := DefaultWeightKG, true
	if u.WeightKG != nil && *u.WeightKG > 0 {
		weight, estimated = *u.WeightKG, false
	}
	wt, _ := workoutType(w.WorkoutType)
	w.EndTime = &end
	w.Duration = seconds
	w.CaloriesBurned = Calories(wt.MET, weight, w.Duration)
	w.CaloriesEstimated = estimated
	return nil
}

// LogWorkout implements Service.
func (s *service) LogWorkout(ctx context.Context, userID string, in LogInput) (*Workout, error) {
	// No account read here: price reads it (and answers user_not_found).
	if _, err := auth.SelfOrAdmin(ctx, userID, ErrUserNotFound); err != nil {
		return nil, err
	}
	now := s.clock()
	v := apperr.Validation{}
	checkType(v, in.WorkoutType)
	start, msg := parseTime(in.StartTime, now)
	v.Check(msg == "", "start_time", msg)
	end, ok := s.logEnd(v, in.EndTime, in.Duration, start, now)
	checkExtras(v, in.DistanceKM, in.AvgHeartRate, in.Notes)
	if err := v.Err(); err != nil || !ok {
		return nil, err
	}
	w := &Workout{ID: newID(), UserID: userID, WorkoutType: in.WorkoutType, StartTime: start,
		DistanceKM: in.DistanceKM, AvgHeartRate: in.AvgHeartRate, Notes: in.Notes, Source: SourceManual,
		CreatedAt: now, UpdatedAt: now}
	if err := s.price(ctx, w, end); err != nil {
		return nil, err
	}
	if err := s.store.CreateWorkout(ctx, w); err != nil {
		return nil, storeError(err)
	}
	s.achieve.enqueue(userID)
	return w, nil
}

// logEnd resolves a logged workout's end from end_time or duration (one is
// required; both must agree). ok is false when it recorded a field error.
func (s *service) logEnd(v apperr.Validation, endTime string, duration *int64, start, now time.Time) (time.Time, bool) {
	var end time.Time
	switch {
	case endTime == "" && duration == nil:
		v.Check(false, "end_time", "end_time or duration is required")
		return end, false
	case duration != nil && (*duration < 1 || *duration > int64(maxWorkout/time.Second)):
		v.Check(false, "duration", "must be between 1 and 86400 seconds")
		return end, false
	case endTime != "":
		t, msg := parseTime(endTime, now)
		if msg == "" {
			msg = checkSpan(start, t)
		}
		if msg == "" && duration != nil && t.Sub(start).Truncate(time.Second) != time.Duration(*duration)*time.Second {
			msg = "does not match start_time + duration"
		}
		v.Check(msg == "", "end_time", msg)
		return t, msg == ""
	default:
		end = start.Add(time.Duration(*duration) * time.Second)
		ok := !end.After(now.Add(clockSkew))
		v.Check(ok, "duration", "ends in the future")
		return end, ok
	}
}

func checkType(v apperr.Validation, t string) {
	_, ok := workoutType(t)
	v.Check(ok, "workout_type", "must be one of "+strings.Join(workoutTypeNames(), ", "))
}

func checkExtras(v apperr.Validation, distance *float64, hr *int, notes string) {
	v.Check(distance == nil || (*distance >= 0 && *distance <= maxDistanceKM), "distance_km", "must be between 0 and 1000")
	v.Check(hr == nil || (*hr >= 20 && *hr <= 250), "avg_heart_rate", "must be between 20 and 250")
	v.Check(utf8.RuneCountInString(notes) <= maxNotes, "notes", "must be at most 2000 characters")
}

// FindWorkouts implements Service.
func (s *service) FindWorkouts(ctx context.Context, userID string, f WorkoutFilter) ([]Workout, error) {
	// The hot path (a user's own list without date bounds) reads nothing
	// about the user; dates need the user's time zone.
	loc := time.UTC
	if isDate(f.From) || isDate(f.To) {
		u, err := s.forUser(ctx, userID)
		if err != nil {
			return nil, err
		}
		loc = location(u)
	} else if err := s.mayActFor(ctx, userID); err != nil {
		return nil, err
	}
	q := WorkoutQuery{UserID: userID, Type: f.Type, Limit: f.Limit}
	v := apperr.Validation{}
	if _, ok := workoutType(f.Type); f.Type != "" && !ok {
		v.Add("type", "must be one of "+strings.Join(workoutTypeNames(), ", "))
	}
	var msg string
	if f.From != "" {
		q.From, msg = parseBound(f.From, loc, false)
		v.Check(msg == "", "from", msg)
	}
	if f.To != "" {
		q.To, msg = parseBound(f.To, loc, true)
		v.Check(msg == "", "to", msg)
	}
	if f.Cursor != "" {
		q.After, msg = decodeCursor(f.Cursor)
		v.Check(msg == "", "cursor", msg)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	list, err := s.store.Workouts(ctx, q)
	return list, storeError(err)
}

func isDate(s string) bool { return len(s) == len(time.DateOnly) }

// parseBound reads an RFC 3339 time or a date (the user's midnight; a "to"
// date includes its whole day).
func parseBound(s string, loc *time.Location, upper bool) (time.Time, string) {
	if d, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		if upper {
			d = d.AddDate(0, 0, 1)
		}
		return d.UTC(), ""
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, "must be a date (YYYY-MM-DD) or an RFC 3339 time"
	}
	return t.UTC(), ""
}

// WorkoutCursorKey is the opaque keyset position of a workout in lists.
func WorkoutCursorKey(w Workout) string {
	return w.StartTime.UTC().Format(time.RFC3339Nano) + "|" + w.ID
}

func decodeCursor(c string) (*WorkoutCursor, string) {
	ts, id, ok := strings.Cut(c, "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || id == "" {
		return nil, "is not a cursor this server issued"
	}
	return &WorkoutCursor{StartTime: t.UTC(), ID: id}, ""
}

// FindWorkout implements Service.
func (s *service) FindWorkout(ctx context.Context, sessionID string) (*Workout, error) {
	return s.ownWorkout(ctx, sessionID)
}

// ownWorkout loads a workout the caller may see; anyone else's is NotFound.
func (s *service) ownWorkout(ctx context.Context, id string) (*Workout, error) {
	p, err := auth.Caller(ctx)
	if err != nil {
		return nil, err
	}
	w, err := s.store.Workout(ctx, id)
	if err != nil {
		return nil, storeError(err)
	}
	if !p.CanActFor(w.UserID) {
		return nil, ErrNotFound
	}
	return w, nil
}

// updateAttempts bounds how often UpdateWorkout re-reads a workout that
// another write changed under it.
const updateAttempts = 3

// UpdateWorkout implements Service. The update applies to the workout as
// stored: when another write (an edit, the end of the workout) lands
// between the read and the write, the workout is read again and the update
// checked and applied afresh.
func (s *service) UpdateWorkout(ctx context.Context, sessionID string, upd WorkoutUpdate) (*Workout, error) {
	var w *Workout
	var err error
	for range updateAttempts {
		if w, err = s.updateWorkout(ctx, sessionID, upd); !errors.Is(err, ErrWorkoutChanged) {
			break
		}
	}
	return w, storeError(err)
}

func (s *service) updateWorkout(ctx context.Context, sessionID string, upd WorkoutUpdate) (*Workout, error) {
	w, err := s.ownWorkout(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	v := apperr.Validation{}
	if upd.WorkoutType != nil {
		checkType(v, *upd.WorkoutType)
	}
	notes := w.Notes
	if upd.Notes != nil {
		notes = *upd.Notes
	}
	checkExtras(v, upd.DistanceKM, upd.AvgHeartRate, notes)
	timed := upd.StartTime != nil || upd.EndTime != nil || upd.Duration != nil
	if timed && w.Active() {
		return nil, ErrActiveNotEdited
	}
	start, end := w.StartTime, time.Time{}
	if !w.Active() {
		end = *w.EndTime
	}
	if upd.StartTime != nil {
		var msg string
		start, msg = parseTime(*upd.StartTime, now)
		v.Check(msg == "", "start_time", msg)
	}
	if timed && v.Err() == nil {
		endTime := ""
		if upd.EndTime != nil {
			endTime = *upd.EndTime
		}
		dur := upd.Duration
		if endTime == "" && dur == nil { // only the start moved: keep the duration
			d := w.Duration
			dur = &d
		}
		end, _ = s.logEnd(v, endTime, dur, start, now)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if upd.WorkoutType != nil {
		w.WorkoutType = *upd.WorkoutType
	}
	if upd.DistanceKM != nil {
		w.DistanceKM = upd.DistanceKM
	}
	if upd.AvgHeartRate != nil {
		w.AvgHeartRate = upd.AvgHeartRate
	}
	w.Notes, w.StartTime, w.UpdatedAt = notes, start, now
	if !w.Active() && (timed || upd.WorkoutType != nil) {
		if err := s.price(ctx, w, end); err != nil {
			return nil, err
		}
	}
	if err := s.store.UpdateWorkout(ctx, w); err != nil {
		return nil, err
	}
	s.achieve.enqueue(w.UserID)
	return w, nil
}

// DeleteWorkout implements Service.
func (s *service) DeleteWorkout(ctx context.Context, sessionID string) error {
	if _, err := s.ownWorkout(ctx, sessionID); err != nil {
		return err
	}
	return storeError(s.store.DeleteWorkout(ctx, sessionID, s.clock()))
}

// storeError maps store errors to API errors.
func storeError(err error) error {
	var active *ActiveWorkoutError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &active):
		return &apperr.Error{Kind: apperr.Conflict, Code: "workout_active",
			Message: "You already have an active workout; end it first.",
			Details: map[string]string{"session_id": active.SessionID}}
	case errors.Is(err, ErrWorkoutNotFound):
		return ErrNotFound
	case errors.Is(err, ErrWorkoutEnded):
		return ErrEnded
	case errors.Is(err, ErrWorkoutChanged):
		return ErrChanged
	}
	return err
}
