package groups_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/groups"
	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

// The attendance feed: ended sessions with their participants' stints
// folded, in (ChangedAt, SessionID) order, paged at any size, re-read from
// a time, and again after an erasure rewrites a summary without someone.
func TestSessionChanges(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		e := newFeedEnv(t, db)
		at := func(d time.Duration) time.Time { return t0.Add(d) }
		step := func(d time.Duration) { e.clock.Advance(at(d).Sub(e.clock.Now())) }

		s1 := e.session(t, e.host, nil) // hiit
		s2 := e.session(t, e.host, map[string]any{"workout_type": "yoga"})
		s3 := e.session(t, e.host, map[string]any{"workout_type": "cycling"})
		early := e.session(t, e.host, map[string]any{"starts_at": rfc(at(6 * time.Hour))})
		empty := e.session(t, e.host, nil)
		e.end(t, early.ID) // before it went live
		e.end(t, empty.ID) // at the same time: the id decides
		e.join(t, e.host, s1.ID)
		a := e.join(t, e.a, s1.ID)
		step(time.Minute)
		b := e.join(t, e.b, s1.ID)
		e.join(t, e.c, s2.ID)
		step(10 * time.Minute)
		a.leave()
		step(15 * time.Minute)
		a.join(s1.ID)
		step(20 * time.Minute)
		b.leave()
		step(30 * time.Minute)
		e.end(t, s1.ID)
		e.end(t, s2.ID)
		step(40 * time.Minute)
		b.join(s3.ID)
		step(50 * time.Minute)
		e.end(t, s3.ID)
		var more []string // empty sessions ended in pairs, for pages
		for i := range 6 {
			s := e.session(t, e.host, nil)
			if i%2 == 0 {
				e.clock.Advance(time.Microsecond)
			}
			e.end(t, s.ID)
			more = append(more, s.ID)
		}

		all := e.sessionChanges(t, groups.ChangeCursor{}, groups.MaxChanges)
		require.Len(t, all, 11)
		assert.ElementsMatch(t, []string{early.ID, empty.ID}, sessionIDs(all[:2]), "ended first")
		assert.ElementsMatch(t, []string{s1.ID, s2.ID}, sessionIDs(all[2:4]))
		assert.Equal(t, s3.ID, all[4].SessionID)
		assert.ElementsMatch(t, more, sessionIDs(all[5:]))

		t.Run("folds_the_stints_of_each_participant", func(t *testing.T) {
			c := changeOf(t, all, s1.ID)
			assert.Equal(t, "hiit", c.WorkoutType)
			assert.Equal(t, t0, c.StartedAt)
			assert.Equal(t, at(30*time.Minute), c.EndedAt)
			assert.Equal(t, at(30*time.Minute), c.ChangedAt, "written at the end")
			assert.False(t, c.Deleted)
			want := []groups.Attendance{
				{UserID: e.host.ID, JoinedAt: t0, LeftAt: at(30 * time.Minute), PresentS: 1800},
				{UserID: e.a.ID, JoinedAt: t0, LeftAt: at(30 * time.Minute), PresentS: 600 + 900}, // left and came back
				{UserID: e.b.ID, JoinedAt: at(time.Minute), LeftAt: at(20 * time.Minute), PresentS: 1140},
			}
			slices.SortFunc(want, func(x, y groups.Attendance) int { return strings.Compare(x.UserID, y.UserID) })
			assert.Equal(t, want, c.Attendees, "in user id order")
			sum := decode[groups.Summary](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+s1.ID+"/summary", e.admin.Token, nil, http.StatusOK)))
			for _, p := range sum.Participants {
				if p.UserID == e.a.ID {
					assert.Equal(t, []groups.Stint{{JoinedAt: t0, LeftAt: at(10 * time.Minute)}, {JoinedAt: at(15 * time.Minute), LeftAt: at(30 * time.Minute)}},
						p.Stints, "the summary keeps every stint, whoever joined in between")
				}
			}

			c = changeOf(t, all, s2.ID)
			assert.Equal(t, "yoga", c.WorkoutType)
			assert.Equal(t, []groups.Attendance{{UserID: e.c.ID, JoinedAt: at(time.Minute), LeftAt: at(30 * time.Minute), PresentS: 1740}}, c.Attendees)
			c = changeOf(t, all, s3.ID)
			assert.Equal(t, "cycling", c.WorkoutType)
			assert.Equal(t, []groups.Attendance{{UserID: e.b.ID, JoinedAt: at(40 * time.Minute), LeftAt: at(50 * time.Minute), PresentS: 600}}, c.Attendees)
		})

		t.Run("has_sessions_nobody_attended", func(t *testing.T) {
			c := changeOf(t, all, early.ID)
			assert.Equal(t, groups.SessionChange{SessionID: early.ID, WorkoutType: "hiit", StartedAt: t0, EndedAt: t0,
				Attendees: []groups.Attendance{}, ChangedAt: t0}, c, "ended before it went live: it started as it ended")
			assert.Empty(t, changeOf(t, all, empty.ID).Attendees)
		})

		t.Run("pages_at_any_size", func(t *testing.T) {
			for range 20 {
				limit := 1 + rand.IntN(5)
				assert.Equal(t, all, e.sessionChanges(t, groups.ChangeCursor{}, limit), "limit %d", limit)
			}
			assert.Empty(t, e.sessionChanges(t, all[len(all)-1].Cursor(), 3), "nothing after the last")
		})

		t.Run("rereads_everything_from_a_time_with_an_empty_id", func(t *testing.T) {
			for _, c := range all {
				var want []groups.SessionChange
				for _, w := range all {
					if !w.ChangedAt.Before(c.ChangedAt) {
						want = append(want, w)
					}
				}
				assert.Equal(t, want, e.sessionChanges(t, groups.ChangeCursor{At: c.ChangedAt}, 1+rand.IntN(4)))
			}
		})

		t.Run("refuses_a_bad_limit", func(t *testing.T) {
			for _, n := range []int{-1, 0, groups.MaxChanges + 1} {
				_, err := e.mod.SessionChanges(context.Background(), groups.ChangeCursor{}, n)
				ae, ok := apperr.As(err)
				require.True(t, ok, "limit %d: %v", n, err)
				assert.Equal(t, apperr.Invalid, ae.Kind)
				assert.Contains(t, ae.Fields, "limit")
			}
		})

		// Last: it rewrites summaries.
		t.Run("an_erasure_brings_the_sessions_back_without_them", func(t *testing.T) {
			last := all[len(all)-1].Cursor()
			step(2 * time.Hour)
			e.users.remove(e.b.ID)
			require.NoError(t, e.mod.EraseAccount(context.Background(), e.b.ID))
			again := e.sessionChanges(t, last, 1)
			require.ElementsMatch(t, []string{s1.ID, s3.ID}, sessionIDs(again), "the sessions b attended, once each")
			for _, c := range again {
				assert.Equal(t, at(2*time.Hour), c.ChangedAt)
				for _, p := range c.Attendees {
					assert.NotEqual(t, e.b.ID, p.UserID)
				}
			}
			assert.Len(t, changeOf(t, again, s1.ID).Attendees, 2, "the others stay")
			assert.Empty(t, changeOf(t, again, s3.ID).Attendees)
			require.NoError(t, e.mod.EraseAccount(context.Background(), e.b.ID), "idempotent")
			assert.Empty(t, e.sessionChanges(t, again[len(again)-1].Cursor(), 5), "and without a change")

			// A replica whose clock is behind the one that wrote the summary
			// still moves it on in the feed.
			e.clock.Advance(-3 * time.Hour)
			e.users.remove(e.c.ID)
			require.NoError(t, e.mod.EraseAccount(context.Background(), e.c.ID))
			c := changeOf(t, e.sessionChanges(t, groups.ChangeCursor{}, 4), s2.ID)
			assert.Equal(t, at(30*time.Minute+time.Microsecond), c.ChangedAt)
			assert.Empty(t, c.Attendees)
			assert.Len(t, e.sessionChanges(t, groups.ChangeCursor{}, 7), 11, "every session once, as it is now")
		})
	})
}

// An account erased while its session's summary is being written — after
// the end's check of the participants, before the summary commits, so
// that the erasure finds nothing of it to forget — is not in the summary
// the feed gives.
func TestSessionChangesErasureRacingTheEnd(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		e := newFeedEnv(t, db)
		s := e.session(t, e.host, nil)
		e.join(t, e.a, s.ID)
		e.join(t, e.b, s.ID)
		e.clock.Advance(5 * time.Minute)
		e.eraseOnNextCheck(t, e.a.ID)
		e.end(t, s.ID)

		all := e.sessionChanges(t, groups.ChangeCursor{}, 10)
		require.Len(t, all, 1)
		require.Len(t, all[0].Attendees, 1)
		assert.Equal(t, e.b.ID, all[0].Attendees[0].UserID)
		assert.Equal(t, t0.Add(5*time.Minute+time.Microsecond), all[0].ChangedAt, "rewritten after it was written")

		sum := decode[groups.Summary](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+s.ID+"/summary", e.admin.Token, nil, http.StatusOK)))
		require.Len(t, sum.Participants, 1)
		assert.Equal(t, e.b.ID, sum.Participants[0].UserID)
	})
}
