package etl

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
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

// drop removes the rows that match, leaving no tombstone.
func (f *feed[T]) drop(match func(T) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	maps.DeleteFunc(f.rows, func(_ string, v T) bool { return match(v) })
}

func (f *feed[T]) changes(_ context.Context, after Cursor, limit int) ([]T, Cursor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAfter > 0 {
		if f.failAfter--; f.failAfter == 0 {
			return nil, Cursor{}, errFeedDown
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
	out = out[:min(len(out), limit)]
	if len(out) == 0 {
		return nil, Cursor{}, nil
	}
	return out, f.at(out[len(out)-1]), nil
}

// sources are the five feeds.
type sources struct {
	users    *feed[UserChange]
	goals    *feed[GoalChange]
	workouts *feed[WorkoutChange]
	metrics  *feed[MetricChange]
	sessions *feed[SessionChange]
}

func newSources() *sources {
	return &sources{
		users:    newFeed(func(u UserChange) Cursor { return Cursor{At: u.ChangedAt, ID: u.UserID} }),
		goals:    newFeed(func(g GoalChange) Cursor { return Cursor{At: g.ChangedAt, ID: g.GoalID} }),
		workouts: newFeed(func(w WorkoutChange) Cursor { return Cursor{At: w.ChangedAt, ID: w.ID} }),
		metrics: newFeed(func(m MetricChange) Cursor {
			return Cursor{At: m.ChangedAt, ID: slotID(m.UserID, m.Metric, m.SlotStart)}
		}),
		sessions: newFeed(func(s SessionChange) Cursor { return Cursor{At: s.ChangedAt, ID: s.SessionID} }),
	}
}

func (s *sources) feeds() Feeds {
	return Feeds{Users: s.users.changes, Goals: s.goals.changes, Workouts: s.workouts.changes,
		Metrics: s.metrics.changes, Sessions: s.sessions.changes}
}

// slotID is a metric rollup's id in the fake feed.
func slotID(user, metric string, start time.Time) string {
	return fmt.Sprintf("%s/%s/%020d", user, metric, start.UnixMicro())
}

// clock is the sources' clock: it moves 0–2 ms a change, so that changes
// often share a timestamp.
type clock struct{ t time.Time }

func (c *clock) tick(ms int) time.Time {
	c.t = c.t.Add(time.Duration(ms) * time.Millisecond)
	return c.t
}
