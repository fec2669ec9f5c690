package etl

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// feed is a source module as the loader sees it: current rows and
// tombstones, each with the time it last changed, answered in (ChangedAt,
// id) order strictly after a cursor. failAfter makes the n-th next read
// fail, like a source or network going away mid-run.
type feed[T any] struct {
	mu        sync.Mutex
	rows      map[string]T
	at        func(T) Cursor
	failAfter int
}

var errFeedDown = errors.New("feed down")

func newFeed[T any](at func(T) Cursor) *feed[T] {
	return &feed[T]{rows: map[string]T{}, at: at}
}

func (f *feed[T]) put(id string, v T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows[id] = v
}

func (f *feed[T]) get(id string) (T, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.rows[id]
	return v, ok
}

func (f *feed[T]) changes(_ context.Context, after Cursor, limit int) ([]T, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAfter > 0 {
		if f.failAfter--; f.failAfter == 0 {
			return nil, errFeedDown
		}
	}
	var out []T
	for _, v := range f.rows {
		if f.at(v).After(after) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b T) int {
		ca, cb := f.at(a), f.at(b)
		return cmp.Or(ca.At.Compare(cb.At), cmp.Compare(ca.ID, cb.ID))
	})
	return out[:min(len(out), limit)], nil
}

type fakeUsers struct{ *feed[UserChange] }

func (f fakeUsers) UserChanges(ctx context.Context, after Cursor, limit int) ([]UserChange, error) {
	return f.changes(ctx, after, limit)
}

type fakeWorkouts struct{ *feed[WorkoutChange] }

func (f fakeWorkouts) WorkoutChanges(ctx context.Context, after Cursor, limit int) ([]WorkoutChange, error) {
	return f.changes(ctx, after, limit)
}

func newSources() (fakeUsers, fakeWorkouts) {
	return fakeUsers{newFeed(func(u UserChange) Cursor { return Cursor{At: u.ChangedAt, ID: u.UserID} })},
		fakeWorkouts{newFeed(func(w WorkoutChange) Cursor { return Cursor{At: w.ChangedAt, ID: w.ID} })}
}

// clock is the sources' clock: it moves 0–2 ms a change, so that changes
// often share a timestamp.
type clock struct{ t time.Time }

func (c *clock) tick(ms int) time.Time {
	c.t = c.t.Add(time.Duration(ms) * time.Millisecond)
	return c.t
}
