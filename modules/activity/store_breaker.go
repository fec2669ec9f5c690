package activity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/breaker"
	fitmongo "github.com/fitloop/fitloop/platform/mongo"
)

// breakerStore is a Store whose every call goes through a circuit breaker.
// The breaker decides which errors count against the backend (for MongoDB,
// fitmongo.Unhealthy: time-outs, network and server-selection errors); the
// store's answers — ErrWorkoutNotFound, *ActiveWorkoutError, a duplicate
// key — are not among them, and a cancelled caller never counts.
type breakerStore struct {
	store   Store
	breaker *breaker.Breaker
}

var _ Store = (*breakerStore)(nil)

// NewBreakerStore returns s with every call going through b. While b is
// open, calls fail at once with an apperr Unavailable error
// (store_unavailable, 503 with Retry-After) that wraps breaker.ErrOpen.
//
// EachWorkout and EachSample are one call each, however long they stream;
// an error from their fn stops the stream but says nothing about the
// backend, so it never counts. fn must not call the store: while the breaker
// is half-open the stream is its one trial call and a nested call is
// rejected.
func NewBreakerStore(s Store, b *breaker.Breaker) Store {
	return &breakerStore{store: s, breaker: b}
}

// NewMongoStoreWithBreaker returns the MongoDB store on m.DB (see
// NewMongoStore) behind m.Breaker, whose metrics it registers in reg when
// reg is not nil: the store for activity.store: mongo.
func NewMongoStoreWithBreaker(ctx context.Context, m *fitmongo.Mongo, reg prometheus.Registerer) (Store, error) {
	s, err := NewMongoStore(ctx, m.DB)
	if err != nil {
		return nil, err
	}
	if reg != nil {
		if err := m.Breaker.Register(reg); err != nil {
			return nil, fmt.Errorf("activity: register the mongo breaker's metrics: %w", err)
		}
	}
	return NewBreakerStore(s, m.Breaker), nil
}

// do runs fn through the breaker and turns a rejection into the 503.
func (s *breakerStore) do(ctx context.Context, fn func(context.Context) error) error {
	err := s.breaker.Do(ctx, fn)
	if errors.Is(err, breaker.ErrOpen) {
		// Rounded up: the cooldown is the longest the breaker stays open.
		retry := int((s.breaker.Cooldown() + time.Second - 1) / time.Second)
		return &apperr.Error{Kind: apperr.Unavailable, Code: "store_unavailable",
			Message:    "Workouts and health metrics are unavailable for a moment; try again shortly.",
			RetryAfter: retry, Err: err}
	}
	return err
}

// get runs a call that returns a value through the breaker.
func get[T any](ctx context.Context, s *breakerStore, call func(context.Context) (T, error)) (T, error) {
	var v T
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		v, err = call(ctx)
		return err
	})
	return v, err
}

// stream runs a streaming call (each, handed the callback) as one breaker
// call. An error from fn ends the stream as a success of the backend and is
// returned as the store returned it.
func stream[T any](ctx context.Context, s *breakerStore, fn func(T) error,
	each func(context.Context, func(T) error) error) error {
	var fnErr, storeErr error
	err := s.do(ctx, func(ctx context.Context) error {
		storeErr = each(ctx, func(x T) error {
			fnErr = fn(x)
			return fnErr
		})
		if fnErr != nil {
			return nil
		}
		return storeErr
	})
	if err != nil {
		return err
	}
	return storeErr
}

// CreateWorkout implements Store.
func (s *breakerStore) CreateWorkout(ctx context.Context, w *Workout) error {
	return s.do(ctx, func(ctx context.Context) error { return s.store.CreateWorkout(ctx, w) })
}

// Workout implements Store.
func (s *breakerStore) Workout(ctx context.Context, id string) (*Workout, error) {
	return get(ctx, s, func(ctx context.Context) (*Workout, error) { return s.store.Workout(ctx, id) })
}

// EndWorkout implements Store.
func (s *breakerStore) EndWorkout(ctx context.Context, w *Workout) error {
	return s.do(ctx, func(ctx context.Context) error { return s.store.EndWorkout(ctx, w) })
}

// UpdateWorkout implements Store.
func (s *breakerStore) UpdateWorkout(ctx context.Context, w *Workout) error {
	return s.do(ctx, func(ctx context.Context) error { return s.store.UpdateWorkout(ctx, w) })
}

// DeleteWorkout implements Store.
func (s *breakerStore) DeleteWorkout(ctx context.Context, id string, at time.Time) error {
	return s.do(ctx, func(ctx context.Context) error { return s.store.DeleteWorkout(ctx, id, at) })
}

// Workouts implements Store.
func (s *breakerStore) Workouts(ctx context.Context, q WorkoutQuery) ([]Workout, error) {
	return get(ctx, s, func(ctx context.Context) ([]Workout, error) { return s.store.Workouts(ctx, q) })
}

// EachWorkout implements Store.
func (s *breakerStore) EachWorkout(ctx context.Context, userID string, from, to time.Time, fn func(*Workout) error) error {
	return stream(ctx, s, fn, func(ctx context.Context, fn func(*Workout) error) error {
		return s.store.EachWorkout(ctx, userID, from, to, fn)
	})
}

// AddSamples implements Store.
func (s *breakerStore) AddSamples(ctx context.Context, userID string, samples []Sample) (accepted, duplicates int, err error) {
	err = s.do(ctx, func(ctx context.Context) (err error) {
		accepted, duplicates, err = s.store.AddSamples(ctx, userID, samples)
		return err
	})
	return accepted, duplicates, err
}

// Buckets implements Store.
func (s *breakerStore) Buckets(ctx context.Context, userID, metric string, starts []time.Time) ([]Slot, error) {
	return get(ctx, s, func(ctx context.Context) ([]Slot, error) { return s.store.Buckets(ctx, userID, metric, starts) })
}

// LatestSamples implements Store.
func (s *breakerStore) LatestSamples(ctx context.Context, userID string) ([]Sample, error) {
	return get(ctx, s, func(ctx context.Context) ([]Sample, error) { return s.store.LatestSamples(ctx, userID) })
}

// EachSample implements Store.
func (s *breakerStore) EachSample(ctx context.Context, userID string, from, to time.Time, fn func(*Sample) error) error {
	return stream(ctx, s, fn, func(ctx context.Context, fn func(*Sample) error) error {
		return s.store.EachSample(ctx, userID, from, to, fn)
	})
}

// EraseUser implements Store.
func (s *breakerStore) EraseUser(ctx context.Context, userID string, at time.Time) error {
	return s.do(ctx, func(ctx context.Context) error { return s.store.EraseUser(ctx, userID, at) })
}

// WorkoutChanges implements Store.
func (s *breakerStore) WorkoutChanges(ctx context.Context, after ChangeCursor, limit int) ([]WorkoutChange, error) {
	return get(ctx, s, func(ctx context.Context) ([]WorkoutChange, error) {
		return s.store.WorkoutChanges(ctx, after, limit)
	})
}

// MetricChanges implements Store.
func (s *breakerStore) MetricChanges(ctx context.Context, after ChangeCursor, limit int) ([]MetricSlotChange, error) {
	return get(ctx, s, func(ctx context.Context) ([]MetricSlotChange, error) {
		return s.store.MetricChanges(ctx, after, limit)
	})
}
