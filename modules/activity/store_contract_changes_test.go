package activity

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The change feed's contract. The feed spans every user, and on SQL the
// subtests share one database, so each test writes at times of its own
// (changeBase), reads from just before them, and keeps the changes of its
// own users.

// changeBase is the first time of the n-th changes test; no other test of
// the suite writes near it.
func changeBase(n int) time.Time { return time.Date(2031, 1, n, 6, 0, 0, 0, time.UTC) }

// contractFeed pages through the feed from after, limit changes a call,
// until a page comes back short, and returns the changes of users. It
// checks every page: at most limit changes, each strictly after the one
// before (and the first after the cursor).
func contractFeed(tb testing.TB, s Store, after ChangeCursor, limit int, users ...string) []WorkoutChange {
	tb.Helper()
	var out []WorkoutChange
	for range 10_000 {
		page, err := s.WorkoutChanges(sctx, after, limit)
		require.NoError(tb, err)
		require.LessOrEqual(tb, len(page), limit)
		for _, c := range page {
			require.Positive(tb, compareChange(c.Cursor(), after), "%v comes after %v", c.Cursor(), after)
			after = c.Cursor()
			if slices.Contains(users, c.UserID) {
				out = append(out, c)
			}
		}
		if len(page) < limit {
			return out
		}
	}
	require.FailNow(tb, "the feed never ends")
	return nil
}

func compareChange(a, b ChangeCursor) int {
	return cmp.Or(a.At.Compare(b.At), strings.Compare(a.ID, b.ID))
}

// deleted is the tombstone of w at at.
func deleted(w *Workout, at time.Time) WorkoutChange {
	return WorkoutChange{ID: w.ID, UserID: w.UserID, ChangedAt: at, Deleted: true}
}

// sortChanges puts changes in feed order.
func sortChanges(cs []WorkoutChange) []WorkoutChange {
	slices.SortFunc(cs, func(a, b WorkoutChange) int { return compareChange(a.Cursor(), b.Cursor()) })
	return cs
}

func contractChangesFollowWrites(t *testing.T, s Store) {
	u := contractUser(t, "feed")
	base := changeBase(1)
	from := ChangeCursor{At: base.Add(-time.Microsecond)}
	logged := contractWorkout(u, "logged", base)
	logged.DistanceKM, logged.AvgHeartRate = contractPtr(5.25), contractPtr(151)
	active := contractActive(u, "active", base.Add(time.Minute+time.Microsecond))
	contractCreate(t, s, logged, active)
	assert.Equal(t, []WorkoutChange{liveChange(logged), liveChange(active)}, contractFeed(t, s, from, 100, u),
		"created workouts, the active one too")

	ended := *active
	end := base.Add(31 * time.Minute)
	ended.EndTime, ended.Duration, ended.CaloriesBurned, ended.UpdatedAt = &end, 1800, 211.5, end
	require.NoError(t, s.EndWorkout(sctx, &ended))
	assert.Equal(t, []WorkoutChange{liveChange(logged), liveChange(&ended)}, contractFeed(t, s, from, 100, u),
		"the ended workout moves to the time of its end")

	edited, err := s.Workout(sctx, logged.ID)
	require.NoError(t, err)
	edited.WorkoutType, edited.Notes, edited.UpdatedAt = "cycling", "hills", base.Add(40*time.Minute)
	require.NoError(t, s.UpdateWorkout(sctx, edited))
	got := contractFeed(t, s, from, 100, u)
	assert.Equal(t, []WorkoutChange{liveChange(&ended), liveChange(edited)}, got, "the edit moves it last")
	require.Len(t, got, 2)
	assert.Equal(t, "cycling", got[1].WorkoutType)
	assert.Equal(t, []WorkoutChange{liveChange(edited)}, contractFeed(t, s, got[0].Cursor(), 100, u),
		"a consumer that saw the end sees the edit")
	assert.Empty(t, contractFeed(t, s, got[1].Cursor(), 100, u))
}

func contractChangesDelete(t *testing.T, s Store) {
	u := contractUser(t, "feed-delete")
	base := changeBase(2)
	from := ChangeCursor{At: base.Add(-time.Microsecond)}
	w := contractWorkout(u, "w", base)
	contractCreate(t, s, w)
	require.NoError(t, s.DeleteWorkout(sctx, w.ID, base.Add(time.Hour)))
	assert.Equal(t, []WorkoutChange{deleted(w, base.Add(time.Hour))}, contractFeed(t, s, from, 100, u),
		"a tombstone: id, user and the time of the deletion, nothing else")

	again := contractWorkout(u, "w", base.Add(2*time.Hour)) // a group workout recorded again: the same id
	contractCreate(t, s, again)
	assert.Equal(t, []WorkoutChange{liveChange(again)}, contractFeed(t, s, from, 100, u),
		"the workout created again is live, not deleted")

	require.NoError(t, s.DeleteWorkout(sctx, w.ID, base.Add(3*time.Hour)))
	assert.Equal(t, []WorkoutChange{deleted(w, base.Add(3*time.Hour))}, contractFeed(t, s, from, 100, u),
		"deleted again: one tombstone, at the later deletion")

	// A replica whose clock is behind the last write's: the tombstone
	// still sorts after the change it ends.
	late := contractWorkout(u, "late", base.Add(4*time.Hour))
	contractCreate(t, s, late)
	require.NoError(t, s.DeleteWorkout(sctx, late.ID, base.Add(time.Hour)))
	assert.Equal(t, []WorkoutChange{deleted(w, base.Add(3*time.Hour)), deleted(late, base.Add(4*time.Hour))},
		contractFeed(t, s, from, 100, u))
	assert.ErrorIs(t, s.DeleteWorkout(sctx, late.ID, base.Add(5*time.Hour)), ErrWorkoutNotFound)
	assert.Len(t, contractFeed(t, s, from, 100, u), 2, "a failed deletion leaves no tombstone")
}

// contractChangesPages: live workouts and tombstones whose times tie (same
// instant, different ids, also a tombstone with a live workout) or differ
// by a microsecond come out once each, in order, whatever the page size.
func contractChangesPages(t *testing.T, s Store) {
	u := contractUser(t, "feed-pages")
	base := changeBase(3)
	ws := map[string]*Workout{}
	for _, c := range []struct {
		suffix string
		at     time.Duration
	}{
		{"c", 0}, {"a", 0}, {"b", 0}, {"d", time.Microsecond}, {"e", 2 * time.Microsecond},
		{"f", time.Millisecond}, {"g", time.Second}, {"h", time.Second}, {"i", 500 * time.Millisecond},
	} {
		w := contractWorkout(u, c.suffix, base.Add(-time.Hour))
		w.UpdatedAt = base.Add(c.at)
		contractCreate(t, s, w)
		ws[c.suffix] = w
	}
	require.NoError(t, s.DeleteWorkout(sctx, ws["d"].ID, base.Add(time.Millisecond)), "ties f")
	require.NoError(t, s.DeleteWorkout(sctx, ws["a"].ID, base.Add(2*time.Microsecond)), "ties e")
	require.NoError(t, s.DeleteWorkout(sctx, ws["i"].ID, base.Add(time.Second)), "ties g and h")
	want := sortChanges([]WorkoutChange{
		liveChange(ws["b"]), liveChange(ws["c"]), liveChange(ws["e"]), liveChange(ws["f"]),
		liveChange(ws["g"]), liveChange(ws["h"]),
		deleted(ws["a"], base.Add(2*time.Microsecond)), deleted(ws["d"], base.Add(time.Millisecond)),
		deleted(ws["i"], base.Add(time.Second)),
	})
	require.Equal(t, ws["a"].ID, want[2].ID, "a's tombstone sorts before e, whose time it shares")

	from := ChangeCursor{At: base.Add(-time.Microsecond)}
	for _, limit := range []int{1, 2, 3, 4, 9, MaxChanges} {
		assert.Equal(t, want, contractFeed(t, s, from, limit, u), "pages of %d", limit)
	}
}

// contractChangesCursor: the feed answers changes strictly after the
// cursor, also among changes at the same instant.
func contractChangesCursor(t *testing.T, s Store) {
	u := contractUser(t, "feed-cursor")
	base := changeBase(4)
	a, b, c := contractWorkout(u, "a", base), contractWorkout(u, "b", base), contractWorkout(u, "c", base)
	contractCreate(t, s, a, b, c)
	require.NoError(t, s.DeleteWorkout(sctx, b.ID, base)) // a tombstone between two live workouts
	all := []WorkoutChange{liveChange(a), deleted(b, base), liveChange(c)}
	for _, tc := range []struct {
		name  string
		after ChangeCursor
		want  []WorkoutChange
	}{
		{"before_the_instant", ChangeCursor{At: base.Add(-time.Microsecond), ID: "~"}, all},
		{"at_the_instant_before_every_id", ChangeCursor{At: base}, all},
		{"after_the_first", all[0].Cursor(), all[1:]},
		{"after_the_tombstone", ChangeCursor{At: base, ID: b.ID}, all[2:]},
		{"between_ids", ChangeCursor{At: base, ID: a.ID + "~"}, all[1:]},
		{"after_the_last", ChangeCursor{At: base, ID: c.ID}, nil},
	} {
		assert.Equal(t, tc.want, contractFeed(t, s, tc.after, 2, u), tc.name)
	}
}

func contractChangesErase(t *testing.T, s Store) {
	u, other := contractUser(t, "feed-erase"), contractUser(t, "feed-erase-other")
	base := changeBase(5)
	from := ChangeCursor{At: base.Add(-time.Microsecond)}
	ended, active := contractWorkout(u, "w1", base), contractActive(u, "w2", base.Add(time.Minute))
	kept := contractWorkout(other, "w1", base)
	contractCreate(t, s, ended, active, kept)
	erased := base.Add(time.Hour)
	require.NoError(t, s.EraseUser(sctx, u, erased))
	want := sortChanges([]WorkoutChange{liveChange(kept), deleted(ended, erased), deleted(active, erased)})
	assert.Equal(t, want, contractFeed(t, s, from, 100, u, other), "every erased workout leaves a tombstone")

	require.NoError(t, s.EraseUser(sctx, u, base.Add(2*time.Hour)))
	assert.Equal(t, want, contractFeed(t, s, from, 100, u, other), "erasing again changes nothing")
}

func contractChangesFromZero(t *testing.T, s Store) {
	u := contractUser(t, "feed-zero")
	early := contractWorkout(u, "early", time.Date(1971, 2, 3, 4, 5, 6, 7000, time.UTC))
	contractCreate(t, s, early)
	assert.Equal(t, []WorkoutChange{liveChange(early)}, contractFeed(t, s, ChangeCursor{}, MaxChanges, u),
		"the zero cursor is the beginning")
}

func contractChangesLimits(t *testing.T, s Store) {
	for _, limit := range []int{-1, 0, MaxChanges + 1} {
		_, err := s.WorkoutChanges(sctx, ChangeCursor{}, limit)
		assert.Error(t, err, "limit %d", limit)
	}
	_, err := s.WorkoutChanges(sctx, ChangeCursor{At: changeBase(6)}, 1)
	assert.NoError(t, err)
}

func contractChangesNeedTheTime(t *testing.T, s Store) {
	u := contractUser(t, "feed-stamp")
	w := contractActive(u, "w", changeBase(7))
	w.UpdatedAt = time.Time{}
	assert.ErrorIs(t, s.CreateWorkout(sctx, w), errNoUpdatedAt)
	w.UpdatedAt = w.StartTime
	contractCreate(t, s, w)
	ended := *w
	end := w.StartTime.Add(time.Hour)
	ended.EndTime, ended.UpdatedAt = &end, time.Time{}
	assert.ErrorIs(t, s.EndWorkout(sctx, &ended), errNoUpdatedAt)
	edited := *w
	edited.UpdatedAt = time.Time{}
	assert.ErrorIs(t, s.UpdateWorkout(sctx, &edited), errNoUpdatedAt)
}
