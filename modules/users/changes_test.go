package users_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

// accountChanges reads one page of the account feed.
func (e *env) accountChanges(tb testing.TB, after users.ChangeCursor, limit int) []users.AccountChange {
	tb.Helper()
	out, err := e.mod.AccountChanges(context.Background(), after, limit)
	require.NoError(tb, err)
	return out
}

// everyAccountChange pages through the account feed after after, limit
// at a time (everyChange).
func (e *env) everyAccountChange(tb testing.TB, after users.ChangeCursor, limit int) []users.AccountChange {
	tb.Helper()
	return everyChange(tb, e.mod.AccountChanges, after, limit)
}

// everyChange pages through a feed after after, limit at a time, and
// checks that each page continues strictly after the last.
func everyChange[T interface{ Cursor() users.ChangeCursor }](tb testing.TB,
	feed func(context.Context, users.ChangeCursor, int) ([]T, error), after users.ChangeCursor, limit int) []T {
	tb.Helper()
	var all []T
	for {
		page, err := feed(context.Background(), after, limit)
		require.NoError(tb, err)
		require.LessOrEqual(tb, len(page), limit)
		if len(page) == 0 {
			return all
		}
		for _, c := range page {
			require.True(tb, c.Cursor().After(after), "%v after %v", c.Cursor(), after)
			after = c.Cursor()
		}
		all = append(all, page...)
	}
}

// userIDs are the UserIDs of changes, in order.
func userIDs(changes []users.AccountChange) []string {
	ids := []string{}
	for _, c := range changes {
		ids = append(ids, c.UserID)
	}
	return ids
}

// register creates a customer through the service, without signing in.
func (e *env) register(tb testing.TB, prefix string) *users.Account {
	tb.Helper()
	name := fmt.Sprintf("%s%d", prefix, e.seq.Add(1))
	a, err := e.mod.Service().Register(context.Background(), users.RegisterInput{Username: name,
		Email: name + "@example.com", Password: password})
	require.NoError(tb, err)
	return a
}

// heldEraser is an AccountEraser a test can hold: while held, a call
// announces itself on entered and waits for release, then answers fail.
type heldEraser struct {
	mu      sync.Mutex
	entered chan string
	release chan struct{}
	fail    error
	erased  []string
}

// hold makes the next calls wait for the returned release and then fail
// with err; entered receives the first call's user id.
func (h *heldEraser) hold(err error) (entered <-chan string, release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.entered, h.release, h.fail = make(chan string, 1), make(chan struct{}), err
	return h.entered, sync.OnceFunc(func() { close(h.release) })
}

// free lets calls through and succeed again.
func (h *heldEraser) free() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.entered, h.release, h.fail = nil, nil, nil
}

func (h *heldEraser) EraseAccount(ctx context.Context, userID string) error {
	h.mu.Lock()
	entered, release, fail := h.entered, h.release, h.fail
	h.mu.Unlock()
	if entered != nil {
		select {
		case entered <- userID:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.erased = append(h.erased, userID)
	return nil
}

func (h *heldEraser) calls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.erased...)
}

func TestAccountChanges(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		er := &heldEraser{}
		e := newEnvOn(t, db, func(d *users.Deps) { d.Erasers = []users.AccountEraser{er} })
		svc := e.mod.Service()
		admin, u := e.newAdmin(t), e.newUser(t, "feed")

		created := e.accountChanges(t, users.ChangeCursor{}, 100)
		require.Equal(t, sorted(admin.ID, u.ID), userIDs(created), "both sign-ups, same instant, in id order")
		for _, c := range created {
			assert.Equal(t, start, c.SignupAt)
			assert.Equal(t, start, c.ChangedAt)
			assert.Equal(t, "UTC", c.Timezone)
			assert.False(t, c.Disabled || c.Deleted || c.LeaderboardOptIn, "a new account is off the leaderboard")
		}
		cur := created[len(created)-1].Cursor()

		// step makes one change to u a minute later and returns what the
		// feed says after cur: exactly u, changed at that minute.
		step := func(t *testing.T, change func()) users.AccountChange {
			t.Helper()
			e.clock.Advance(time.Minute)
			change()
			got := e.accountChanges(t, cur, 100)
			require.Len(t, got, 1, "only u changed")
			assert.Equal(t, u.ID, got[0].UserID)
			assert.Equal(t, e.clock.Now(), got[0].ChangedAt, "stamped with the module's clock at the write")
			assert.Equal(t, start, got[0].SignupAt)
			cur = got[0].Cursor()
			return got[0]
		}
		const tzAfterUpdate = "Europe/Berlin"
		t.Run("reports_a_profile_update_with_the_time_zone_and_quiet_hours", func(t *testing.T) {
			tz, quiet := tzAfterUpdate, "23:00"
			c := step(t, func() {
				_, err := svc.UpdateUser(e.as(t, u), u.ID, users.UserUpdate{Timezone: &tz, QuietHoursStart: &quiet})
				require.NoError(t, err)
			})
			assert.Equal(t, tz, c.Timezone)
			assert.False(t, c.LeaderboardOptIn)
		})
		t.Run("reports_opting_in_and_out_of_the_leaderboard", func(t *testing.T) {
			for _, want := range []bool{true, false, true} {
				c := step(t, func() {
					_, err := svc.UpdateUser(e.as(t, u), u.ID, users.UserUpdate{LeaderboardOptIn: &want})
					require.NoError(t, err)
				})
				assert.Equal(t, want, c.LeaderboardOptIn)
				assert.Equal(t, tzAfterUpdate, c.Timezone, "the rest as it is")
			}
		})
		t.Run("reports_a_role_change_and_disabling", func(t *testing.T) {
			role, disabled := auth.RoleInstructor, true
			c := step(t, func() {
				_, err := svc.AdminUpdateUser(e.as(t, admin), u.ID, users.AdminUpdate{Role: &role, Disabled: &disabled})
				require.NoError(t, err)
			})
			assert.Equal(t, role, c.Role)
			assert.True(t, c.Disabled)
			assert.False(t, c.Deleted)
			assert.True(t, c.LeaderboardOptIn, "disabling keeps the setting")
		})
		t.Run("reports_reopening_when_the_deletion_is_undone", func(t *testing.T) {
			entered, release := er.hold(errors.New("media storage is down"))
			defer er.free()
			defer release()
			closed := step(t, func() {
				_, err := svc.DeleteUser(e.as(t, admin), u.ID, "")
				require.NoError(t, err)
				select { // the saga has closed the account again and reached the eraser
				case <-entered:
				case <-time.After(30 * time.Second):
					require.FailNow(t, "the saga never reached the eraser")
				}
			})
			assert.True(t, closed.Deleted, "closed")
			before := cur
			e.clock.Advance(time.Minute)
			release()
			require.Eventually(t, func() bool {
				got := e.accountChanges(t, before, 100)
				return len(got) == 1 && !got[0].Deleted
			}, 30*time.Second, 10*time.Millisecond, "the compensation reopens the account")
			reopened := e.accountChanges(t, before, 100)[0]
			assert.True(t, reopened.Disabled, "the ban survives")
			assert.True(t, reopened.LeaderboardOptIn, "reopening keeps the setting")
			assert.Equal(t, e.clock.Now(), reopened.ChangedAt)
			cur = reopened.Cursor()
		})
		t.Run("reports_erasure_as_a_tombstone_with_nothing_personal", func(t *testing.T) {
			c := step(t, func() {
				_, err := svc.DeleteUser(e.as(t, admin), u.ID, "")
				require.NoError(t, err)
				require.Eventually(t, func() bool { return countEmail(t, db, u.Email) == 0 },
					30*time.Second, 10*time.Millisecond, "erased")
			})
			assert.True(t, c.Deleted)
			assert.Equal(t, auth.RoleInstructor, c.Role, "the role stays on the tombstone")
			assert.Equal(t, "UTC", c.Timezone, "erasure resets the time zone")
			assert.False(t, c.LeaderboardOptIn, "erasure takes the user off the leaderboard")
			assert.Equal(t, []string{u.ID}, er.calls())

			all := e.everyAccountChange(t, users.ChangeCursor{}, 1)
			assert.Equal(t, []string{admin.ID, u.ID}, userIDs(all), "each account once, at its last write")
			b, err := json.Marshal(all)
			require.NoError(t, err)
			for _, personal := range []string{u.Email, u.Username, admin.Email, admin.Username, "email", "username"} {
				assert.NotContains(t, strings.ToLower(string(b)), strings.ToLower(personal))
			}
		})
	})
}

func TestAccountChangesPaging(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		// Three accounts share each of three instants; the clock moves
		// between them, and one account of the first instant is written
		// again at the last, so it moves to the end of the feed.
		var ids [][]string
		for i := range 3 {
			if i > 0 {
				e.clock.Advance(time.Second)
			}
			var at []string
			for range 3 {
				at = append(at, e.register(t, "page").UserID)
			}
			ids = append(ids, sorted(at...))
		}
		moved := ids[0][1]
		disabled := true
		_, err := e.mod.Service().AdminUpdateUser(e.as(t, e.newAdmin(t)), moved, users.AdminUpdate{Disabled: &disabled})
		require.NoError(t, err)

		full := e.accountChanges(t, users.ChangeCursor{}, users.MaxChanges)
		require.Len(t, full, 10, "nine customers and the admin")
		for _, limit := range []int{1, 2, 3, 4, 10} {
			assert.Equal(t, full, e.everyAccountChange(t, users.ChangeCursor{}, limit), "limit %d", limit)
		}
		last := full[len(full)-1]
		assert.True(t, last.ChangedAt.Equal(start.Add(2*time.Second)))
		assert.Contains(t, userIDs(full[5:]), moved, "written again at the last instant, with the admin and the last three")

		t.Run("answers_only_what_is_strictly_after_an_equal_time", func(t *testing.T) {
			first := e.accountChanges(t, users.ChangeCursor{}, 1)[0]
			require.Equal(t, ids[0][0], first.UserID)
			next := e.accountChanges(t, first.Cursor(), 1)
			require.Len(t, next, 1)
			assert.Equal(t, ids[0][2], next[0].UserID, "same instant, greater id; the moved one is gone from here")
			assert.Equal(t, first.ChangedAt, next[0].ChangedAt)

			atSecond := e.accountChanges(t, users.ChangeCursor{At: start.Add(time.Second)}, 3)
			assert.Equal(t, ids[1], userIDs(atSecond), "an empty id: every change at that instant")
			inZone := e.accountChanges(t, users.ChangeCursor{At: start.Add(time.Second).In(time.FixedZone("X", 3600))}, 3)
			assert.Equal(t, ids[1], userIDs(inZone), "the cursor's zone does not matter")
			assert.Empty(t, e.accountChanges(t, last.Cursor(), 5))
		})
	})
}

func TestChangeFeedLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, limit := range []int{-1, 0, users.MaxChanges + 1} {
		_, err := e.mod.AccountChanges(context.Background(), users.ChangeCursor{}, limit)
		assert.Equal(t, apperr.Invalid, apperr.KindOf(err), "accounts, limit %d", limit)
		_, err = e.mod.GoalChanges(context.Background(), users.ChangeCursor{}, limit)
		assert.Equal(t, apperr.Invalid, apperr.KindOf(err), "goals, limit %d", limit)
	}
	_, err := e.mod.AccountChanges(context.Background(), users.ChangeCursor{}, users.MaxChanges)
	assert.NoError(t, err)
}

func TestChangesCarryNothingPersonal(t *testing.T) {
	t.Parallel()
	personal := []string{"email", "username", "name", "bio", "weight", "height", "birth", "sex", "password"}
	for _, v := range []any{users.AccountChange{}, users.GoalChange{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			for _, p := range personal {
				assert.NotContains(t, strings.ToLower(typ.Field(i).Name), p, "%s.%s", typ.Name(), typ.Field(i).Name)
			}
		}
	}
}
