package groups_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/groups"
	"github.com/fitloop/fitloop/platform/httpx"
)

func TestCreateSession(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		s := e.session(t, e.host, nil)
		assert.Equal(t, "Lunch HIIT", s.Title)
		assert.Equal(t, e.host.ID, s.HostID)
		assert.Equal(t, groups.DefaultCapacity, s.Capacity)
		assert.Equal(t, groups.StateLive, s.State, "no starts_at: live at once")
		assert.Equal(t, t0, s.StartsAt)
		assert.Nil(t, s.EndsAt)

		later := e.session(t, e.a, map[string]any{"visibility": groups.Invite, "capacity": 12,
			"starts_at": rfc(t0.Add(2 * time.Hour)), "ends_at": rfc(t0.Add(3 * time.Hour))})
		assert.Equal(t, groups.StateScheduled, later.State)
		assert.Equal(t, 12, later.Capacity)
		require.NotNil(t, later.EndsAt)
		assert.Equal(t, t0.Add(3*time.Hour), *later.EndsAt)

		slightlyPast := e.session(t, e.a, map[string]any{"starts_at": rfc(t0.Add(-30 * time.Second))})
		assert.Equal(t, t0, slightlyPast.StartsAt, "a start within the clock-skew slack means now")
	})
}

func TestCreateSessionRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	t.Parallel()
	url := api + "/groups/sessions"
	ok := func(kv ...any) map[string]any {
		b := map[string]any{"title": "Yoga", "workout_type": "yoga", "visibility": "public"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(b, kv[i].(string))
			} else {
				b[kv[i].(string)] = kv[i+1]
			}
		}
		return b
	}
	bad := func(name string, body any, fieldName string) {
		e.run(t, as(name, http.MethodPost, url, e.a.Token, body, http.StatusBadRequest, field(fieldName)))
	}
	bad("missing_title", ok("title", nil), "title")
	bad("blank_title", ok("title", "   "), "title")
	bad("long_title", ok("title", strings.Repeat("x", 201)), "title")
	bad("title_with_newline", ok("title", "a\nb"), "title")
	bad("unknown_workout_type", ok("workout_type", "jousting"), "workout_type")
	bad("missing_workout_type", ok("workout_type", nil), "workout_type")
	bad("capacity_too_small", ok("capacity", 1), "capacity")
	bad("capacity_too_large", ok("capacity", 1001), "capacity")
	bad("capacity_not_integer", ok("capacity", "ten"), "capacity")
	bad("bad_visibility", ok("visibility", "secret"), "visibility")
	bad("starts_in_the_past", ok("starts_at", rfc(t0.Add(-time.Hour))), "starts_at")
	bad("ends_before_it_starts", ok("ends_at", rfc(t0.Add(-time.Minute))), "ends_at")
	bad("lasts_over_a_day", ok("ends_at", rfc(t0.Add(25*time.Hour))), "ends_at")
	bad("starts_at_not_a_time", ok("starts_at", "tomorrow"), "starts_at")
	e.run(t,
		as("unknown_field", http.MethodPost, url, e.a.Token, ok("host_id", e.b.ID), http.StatusBadRequest, code("unknown_field")),
		as("malformed_json", http.MethodPost, url, e.a.Token, `{"title":`, http.StatusBadRequest, code("invalid_json")),
		as("null_body", http.MethodPost, url, e.a.Token, `null`, http.StatusBadRequest, code("invalid_json")),
		as("huge_body", http.MethodPost, url, e.a.Token, ok("title", strings.Repeat("x", 9<<10)), http.StatusRequestEntityTooLarge),
		as("signed_out", http.MethodPost, url, "", ok(), http.StatusUnauthorized),
	)
	list := decode[httpx.List[groups.Session]](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions?state=live", e.admin.Token, nil, http.StatusOK)))
	assert.Empty(t, list.Items, "no refused request left a session behind")
}

func TestSessionVisibility(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		pub := e.session(t, e.host, nil)
		priv := e.session(t, e.host, map[string]any{"visibility": groups.Invite})
		url := api + "/groups/sessions/"
		e.run(t,
			as("anyone_sees_a_public_session", http.MethodGet, url+pub.ID, e.a.Token, nil, http.StatusOK, `"participants":[]`),
			as("an_invite_only_one_is_hidden", http.MethodGet, url+priv.ID, e.a.Token, nil, http.StatusNotFound, code("session_not_found")),
			as("the_host_sees_it", http.MethodGet, url+priv.ID, e.host.Token, nil, http.StatusOK),
			as("an_admin_sees_it", http.MethodGet, url+priv.ID, e.admin.Token, nil, http.StatusOK),
			as("an_unknown_id", http.MethodGet, url+"01890000-0000-7000-8000-000000000000", e.a.Token, nil, http.StatusNotFound),
			as("invite_a_and_b", http.MethodPost, url+priv.ID+"/invites", e.host.Token,
				map[string]any{"user_ids": []string{e.a.ID, e.b.ID, e.a.ID, e.host.ID}}, http.StatusOK),
			as("an_invitee_sees_it", http.MethodGet, url+priv.ID, e.a.Token, nil, http.StatusOK),
			as("others_still_do_not", http.MethodGet, url+priv.ID, e.c.Token, nil, http.StatusNotFound),
		)
		live := func(u *user) []string {
			l := decode[httpx.List[groups.Session]](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions?state=live", u.Token, nil, http.StatusOK)))
			var ids []string
			for _, s := range l.Items {
				ids = append(ids, s.ID)
			}
			return ids
		}
		assert.ElementsMatch(t, []string{pub.ID, priv.ID}, live(e.a))
		assert.Equal(t, []string{pub.ID}, live(e.c))
		assert.ElementsMatch(t, []string{pub.ID, priv.ID}, live(e.admin))
	})
}

func TestInvites(t *testing.T) {
	e := newEnv(t)
	t.Parallel()
	pub := e.session(t, e.host, nil)
	priv := e.session(t, e.host, map[string]any{"visibility": groups.Invite})
	url := api + "/groups/sessions/" + priv.ID + "/invites"
	resp := e.do(t, as("", http.MethodPost, url, e.host.Token, map[string]any{"user_ids": []string{e.b.ID, e.a.ID, e.b.ID}}, http.StatusOK))
	inv := decode[groups.Invites](t, resp)
	assert.ElementsMatch(t, []string{e.a.ID, e.b.ID}, inv.UserIDs, "repeats count once")
	e.run(t,
		as("again_is_a_no_op", http.MethodPost, url, e.host.Token, map[string]any{"user_ids": []string{e.a.ID}}, http.StatusOK, e.b.ID),
		as("an_unknown_user", http.MethodPost, url, e.host.Token,
			map[string]any{"user_ids": []string{e.c.ID, "01890000-0000-7000-8000-000000000000"}}, http.StatusBadRequest, field("user_ids[1]")),
		as("not_a_user_id", http.MethodPost, url, e.host.Token, map[string]any{"user_ids": []string{"bob"}}, http.StatusBadRequest, field("user_ids[0]")),
		as("no_users", http.MethodPost, url, e.host.Token, map[string]any{"user_ids": []string{}}, http.StatusBadRequest, field("user_ids")),
		as("too_many", http.MethodPost, url, e.host.Token, map[string]any{"user_ids": make([]string, 201)}, http.StatusBadRequest, field("user_ids")),
		as("an_invitee_may_not_invite", http.MethodPost, url, e.a.Token, map[string]any{"user_ids": []string{e.c.ID}}, http.StatusForbidden, code("not_host")),
		as("a_stranger_gets_404", http.MethodPost, url, e.c.Token, map[string]any{"user_ids": []string{e.c.ID}}, http.StatusNotFound),
		as("an_admin_may", http.MethodPost, url, e.admin.Token, map[string]any{"user_ids": []string{e.c.ID}}, http.StatusOK, e.c.ID),
		as("a_public_session_needs_none", http.MethodPost, api+"/groups/sessions/"+pub.ID+"/invites", e.host.Token,
			map[string]any{"user_ids": []string{e.c.ID}}, http.StatusConflict, code("session_public")),
	)
	inv = decode[groups.Invites](t, e.do(t, as("", http.MethodPost, url, e.host.Token, map[string]any{"user_ids": []string{e.a.ID}}, http.StatusOK)))
	assert.ElementsMatch(t, []string{e.a.ID, e.b.ID, e.c.ID}, inv.UserIDs, "the refused requests invited no one")
}

func TestEndSession(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		s := e.session(t, e.host, nil)
		other := e.session(t, e.host, nil)
		url := api + "/groups/sessions/"
		e.run(t,
			as("a_participant_may_not", http.MethodPost, url+s.ID+"/end", e.a.Token, nil, http.StatusForbidden, code("not_host")),
			as("the_host_ends_it", http.MethodPost, url+s.ID+"/end", e.host.Token, nil, http.StatusOK,
				`"state":"ended"`, `"end_reason":"host"`),
			as("twice_is_a_conflict", http.MethodPost, url+s.ID+"/end", e.host.Token, nil, http.StatusConflict, code("session_ended")),
			as("an_admin_ends_another", http.MethodPost, url+other.ID+"/end", e.admin.Token, nil, http.StatusOK, `"end_reason":"admin"`),
			as("unknown", http.MethodPost, url+"01890000-0000-7000-8000-000000000000/end", e.host.Token, nil, http.StatusNotFound),
		)
		ended := decode[httpx.List[groups.Session]](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions?state=ended", e.a.Token, nil, http.StatusOK)))
		require.Len(t, ended.Items, 2)
		live := decode[httpx.List[groups.Session]](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions?state=live", e.a.Token, nil, http.StatusOK)))
		assert.Empty(t, live.Items)
	})
}

func TestListSessionsByStateAndPage(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var scheduled []string
		for i := range 5 {
			s := e.session(t, e.host, map[string]any{"starts_at": rfc(t0.Add(time.Duration(5-i) * time.Hour))})
			scheduled = append([]string{s.ID}, scheduled...) // soonest first
		}
		url := api + "/groups/sessions?state=scheduled&limit=2"
		var got []string
		for cursor := ""; ; {
			l := decode[httpx.List[groups.Session]](t, e.do(t, as("", http.MethodGet, url+cursor, e.a.Token, nil, http.StatusOK)))
			for _, s := range l.Items {
				got = append(got, s.ID)
			}
			if l.NextCursor == "" {
				break
			}
			cursor = "&cursor=" + l.NextCursor
		}
		assert.Equal(t, scheduled, got, "scheduled sessions soonest first, every one once")

		e.clock.Advance(150 * time.Minute) // the first two have started
		live := decode[httpx.List[groups.Session]](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions", e.a.Token, nil, http.StatusOK)))
		require.Len(t, live.Items, 2, "live is the default state")
		assert.Equal(t, scheduled[1], live.Items[0].ID, "live sessions latest start first")
		e.run(t,
			as("bad_state", http.MethodGet, api+"/groups/sessions?state=paused", e.a.Token, nil, http.StatusBadRequest, field("state")),
			as("bad_cursor", http.MethodGet, api+"/groups/sessions?cursor=bm9wZQ", e.a.Token, nil, http.StatusBadRequest, field("cursor")),
		)
	})
}

// An id that cannot be stored (not a UUID, a NUL byte that PostgreSQL
// refuses) is a 404 like any unknown one, never a 500.
func TestMalformedIDsAreNotFound(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		for _, id := range []string{"%00", "x%00", "not-a-uuid"} {
			e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+id, e.a.Token, nil, http.StatusNotFound, "session_not_found"))
			e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+id+"/summary", e.a.Token, nil, http.StatusNotFound, "session_not_found"))
			e.do(t, as("", http.MethodGet, api+"/meetings/"+id, e.a.Token, nil, http.StatusNotFound, "meeting_not_found"))
		}
	})
}
