package activity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/fitloop/fitloop/platform/apperr"
)

// SourceGroup marks a workout recorded from a live group session.
const SourceGroup = "group"

// GroupWorkout is a participant's workout in a live group session, which
// the groups module records when the session ends.
type GroupWorkout struct {
	// Key is unique per session and participant: a repeat (a retried job)
	// returns the workout the first call recorded.
	Key         string
	UserID      string
	WorkoutType string
	Start, End  time.Time
	// Present is the time the participant was in the session (at most
	// End-Start: they may have left and come back); it is the workout's
	// duration and prices its calories.
	Present      time.Duration
	AvgHeartRate *int
	Notes        string
}

// groupNamespace derives a group workout's id from its key.
var groupNamespace = uuid.MustParse("6f1c7a52-3f0e-4b59-9a0e-5c2b3d8e7f10")

// RecordGroupWorkout records a group session's workout once per Key (the
// groups module's Workouts). It trusts its caller: no principal is
// checked. Errors: Invalid for a type not in the catalog or a span that
// is not 1 s to 24 h, NotFound for an unknown user.
func (m *Module) RecordGroupWorkout(ctx context.Context, in GroupWorkout) (*Workout, error) {
	s := m.svc
	id := uuid.NewSHA1(groupNamespace, []byte(in.Key)).String()
	switch w, err := s.store.Workout(ctx, id); {
	case err == nil:
		return w, nil
	case !errors.Is(err, ErrWorkoutNotFound):
		return nil, storeError(err)
	}
	if _, ok := workoutType(in.WorkoutType); !ok {
		return nil, apperr.E(apperr.Invalid, "invalid_group_workout", fmt.Sprintf("Unknown workout type %q.", in.WorkoutType))
	}
	span := in.End.Sub(in.Start)
	if in.Key == "" || span < time.Second || span > maxWorkout || in.Present < time.Second {
		return nil, apperr.E(apperr.Invalid, "invalid_group_workout",
			fmt.Sprintf("A group workout needs a key and 1 s to 24 h present (span %s, present %s).", span, in.Present))
	}
	now := s.clock()
	w := &Workout{ID: id, UserID: in.UserID, WorkoutType: in.WorkoutType, StartTime: in.Start.UTC(),
		AvgHeartRate: in.AvgHeartRate, Notes: in.Notes, Source: SourceGroup, CreatedAt: now, UpdatedAt: now}
	if err := s.priceFor(ctx, w, in.End.UTC(), int64(min(in.Present, span)/time.Second)); err != nil {
		return nil, err
	}
	if err := s.store.CreateWorkout(ctx, w); err != nil {
		if got, again := s.store.Workout(ctx, id); again == nil {
			return got, nil // recorded meanwhile by another attempt
		}
		return nil, storeError(err)
	}
	s.achieve.enqueue(in.UserID)
	return w, nil
}
