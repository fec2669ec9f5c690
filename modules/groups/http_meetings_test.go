package groups_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/groups"
	"github.com/fitloop/fitloop/platform/httpx"
)

func TestMeetingOpensAsAnInviteOnlySession(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		m := e.meeting(t, e.host, t0.Add(time.Hour), 45*time.Minute, e.a.ID, e.b.ID)
		assert.Equal(t, e.host.ID, m.OrganizerID)
		assert.ElementsMatch(t, []string{e.a.ID, e.b.ID}, m.AttendeeIDs)
		assert.Equal(t, groups.StateScheduled, m.State)
		assert.Equal(t, groups.DefaultMeetingType, m.WorkoutType)

		sessURL := api + "/groups/sessions/" + m.SessionID
		s := decode[groups.Session](t, e.do(t, as("", http.MethodGet, sessURL, e.a.Token, nil, http.StatusOK)))
		assert.Equal(t, groups.Invite, s.Visibility)
		assert.Equal(t, m.ID, s.MeetingID)
		assert.Equal(t, t0.Add(time.Hour), s.StartsAt)
		require.NotNil(t, s.EndsAt)
		assert.Equal(t, t0.Add(105*time.Minute), *s.EndsAt)
		e.run(t, as("others_cannot_see_its_session", http.MethodGet, sessURL, e.c.Token, nil, http.StatusNotFound))

		e.clock.Advance(time.Hour)
		m = decode[groups.Meeting](t, e.do(t, as("", http.MethodGet, api+"/meetings/"+m.ID, e.b.Token, nil, http.StatusOK)))
		assert.Equal(t, groups.StateLive, m.State, "it opens at its start")
	})
}

func TestMeetingAccess(t *testing.T) {
	e := newEnv(t)
	t.Parallel()
	m := e.meeting(t, e.host, t0.Add(time.Hour), time.Hour, e.a.ID)
	url := api + "/meetings/" + m.ID
	upd := map[string]any{"title": "Renamed"}
	e.run(t,
		as("an_attendee_sees_it", http.MethodGet, url, e.a.Token, nil, http.StatusOK, m.ID),
		as("the_organizer_sees_it", http.MethodGet, url, e.host.Token, nil, http.StatusOK),
		as("an_admin_sees_it", http.MethodGet, url, e.admin.Token, nil, http.StatusOK),
		as("a_stranger_does_not", http.MethodGet, url, e.b.Token, nil, http.StatusNotFound, code("meeting_not_found")),
		as("signed_out", http.MethodGet, url, "", nil, http.StatusUnauthorized),
		as("an_attendee_may_not_change_it", http.MethodPut, url, e.a.Token, upd, http.StatusForbidden, code("not_organizer")),
		as("a_stranger_gets_404_on_change", http.MethodPut, url, e.b.Token, upd, http.StatusNotFound),
		as("an_attendee_may_not_delete_it", http.MethodDelete, url, e.a.Token, nil, http.StatusForbidden),
		as("a_stranger_gets_404_on_delete", http.MethodDelete, url, e.b.Token, nil, http.StatusNotFound),
		as("the_organizer_renames_it", http.MethodPut, url, e.host.Token, upd, http.StatusOK, `"title":"Renamed"`),
	)
}

func TestCreateMeetingRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	t.Parallel()
	start, end := rfc(t0.Add(time.Hour)), rfc(t0.Add(2*time.Hour))
	body := func(kv ...any) map[string]any {
		b := map[string]any{"title": "Call", "start_time": start, "end_time": end, "attendee_ids": []string{e.a.ID}}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(b, kv[i].(string))
			} else {
				b[kv[i].(string)] = kv[i+1]
			}
		}
		return b
	}
	bad := func(name string, b any, f string) {
		e.run(t, as(name, http.MethodPost, api+"/meetings", e.host.Token, b, http.StatusBadRequest, field(f)))
	}
	bad("no_title", body("title", nil), "title")
	bad("no_start", body("start_time", nil), "start_time")
	bad("no_end", body("end_time", nil), "end_time")
	bad("end_before_start", body("end_time", rfc(t0.Add(30*time.Minute))), "end_time")
	bad("in_the_past", body("start_time", rfc(t0.Add(-time.Hour))), "start_time")
	bad("over_a_day", body("end_time", rfc(t0.Add(26*time.Hour))), "end_time")
	bad("unknown_attendee", body("attendee_ids", []string{e.a.ID, "01890000-0000-7000-8000-000000000000"}), "attendee_ids[1]")
	bad("attendee_ids_not_a_list", body("attendee_ids", e.a.ID), "attendee_ids")
	bad("unknown_workout_type", body("workout_type", "jousting"), "workout_type")
	e.run(t, as("unknown_field", http.MethodPost, api+"/meetings", e.host.Token, body("room", "A"), http.StatusBadRequest, code("unknown_field")))
}

func TestUpdateMeeting(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		m := e.meeting(t, e.host, t0.Add(time.Hour), time.Hour, e.a.ID, e.b.ID)
		url := api + "/meetings/" + m.ID
		put := func(body map[string]any, status int, want ...string) groups.Meeting {
			resp := e.do(t, as("", http.MethodPut, url, e.host.Token, body, status, want...))
			if status != http.StatusOK {
				return groups.Meeting{}
			}
			return decode[groups.Meeting](t, resp)
		}
		m = put(map[string]any{"start_time": rfc(t0.Add(2 * time.Hour)), "end_time": rfc(t0.Add(3 * time.Hour)),
			"add_attendee_ids": []string{e.c.ID}, "remove_attendee_ids": []string{e.a.ID}}, http.StatusOK)
		assert.Equal(t, t0.Add(2*time.Hour), m.StartTime)
		assert.ElementsMatch(t, []string{e.b.ID, e.c.ID}, m.AttendeeIDs)
		e.run(t,
			as("a_removed_attendee_loses_the_session", http.MethodGet, api+"/groups/sessions/"+m.SessionID, e.a.Token, nil, http.StatusNotFound),
			as("an_added_one_gets_it", http.MethodGet, api+"/groups/sessions/"+m.SessionID, e.c.Token, nil, http.StatusOK, `"starts_at":"2030-03-12T17:00:00Z"`),
		)
		put(map[string]any{"end_time": rfc(t0.Add(90 * time.Minute))}, http.StatusBadRequest, field("end_time"))
		put(map[string]any{"add_attendee_ids": []string{"01890000-0000-7000-8000-000000000000"}}, http.StatusBadRequest, field("add_attendee_ids[0]"))

		e.clock.Advance(2*time.Hour + time.Minute) // it has begun
		put(map[string]any{"start_time": rfc(t0.Add(4 * time.Hour))}, http.StatusConflict, code("meeting_started"))
		m = put(map[string]any{"end_time": rfc(t0.Add(4 * time.Hour))}, http.StatusOK)
		assert.Equal(t, t0.Add(4*time.Hour), m.EndTime, "a live meeting may run longer")
		assert.Equal(t, groups.StateLive, m.State)
		s := decode[groups.Session](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+m.SessionID, e.host.Token, nil, http.StatusOK)))
		assert.Equal(t, t0.Add(4*time.Hour), *s.EndsAt, "its session follows")
	})
}

func TestDeleteMeeting(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		early := e.meeting(t, e.host, t0.Add(time.Hour), time.Hour, e.a.ID)
		e.run(t,
			as("delete_before_it_begins", http.MethodDelete, api+"/meetings/"+early.ID, e.host.Token, nil, http.StatusNoContent),
			as("it_is_gone", http.MethodGet, api+"/meetings/"+early.ID, e.host.Token, nil, http.StatusNotFound),
			as("its_session_too", http.MethodGet, api+"/groups/sessions/"+early.SessionID, e.host.Token, nil, http.StatusNotFound),
		)
		live := e.meeting(t, e.host, t0, time.Hour, e.a.ID)
		e.run(t,
			as("delete_a_live_one", http.MethodDelete, api+"/meetings/"+live.ID, e.admin.Token, nil, http.StatusNoContent),
			as("its_session_ended", http.MethodGet, api+"/groups/sessions/"+live.SessionID, e.a.Token, nil, http.StatusOK,
				`"state":"ended"`, `"end_reason":"meeting_cancelled"`),
			as("deleting_again", http.MethodDelete, api+"/meetings/"+live.ID, e.host.Token, nil, http.StatusNotFound),
		)
	})
}

func TestScheduleMeetingFromGo(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		svc := e.mod.Service()
		spec := groups.MeetingSpec{Key: "booking-1", OrganizerID: e.host.ID, Title: "1:1 coaching",
			WorkoutType: "yoga", Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour), AttendeeIDs: []string{e.a.ID}}
		ctx := context.Background() // no principal: a trusted call
		m1, err := svc.ScheduleMeeting(ctx, spec)
		require.NoError(t, err)
		m2, err := svc.ScheduleMeeting(ctx, spec)
		require.NoError(t, err)
		assert.Equal(t, m1.ID, m2.ID, "once per key")
		assert.Equal(t, "yoga", m2.WorkoutType)
		e.run(t, as("the_attendee_sees_it", http.MethodGet, api+"/meetings/"+m1.ID, e.a.Token, nil, http.StatusOK))

		require.NoError(t, svc.CancelMeeting(ctx, m1.ID))
		require.NoError(t, svc.CancelMeeting(ctx, m1.ID), "cancelling twice is not an error")
		e.run(t, as("gone", http.MethodGet, api+"/meetings/"+m1.ID, e.host.Token, nil, http.StatusNotFound))

		_, err = svc.ScheduleMeeting(ctx, groups.MeetingSpec{OrganizerID: e.host.ID, Title: "x"})
		assert.Error(t, err, "a key is required")
	})
}

func TestSessionsEndAtTheirEnd(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		m := e.meeting(t, e.host, t0, 30*time.Minute, e.a.ID)
		open := e.session(t, e.host, nil)
		e.clock.Advance(30 * time.Minute)
		e.run(t,
			as("past_its_end_it_reads_as_ended", http.MethodGet, api+"/meetings/"+m.ID, e.a.Token, nil, http.StatusOK, `"state":"ended"`),
			as("and_can_no_longer_move", http.MethodPut, api+"/meetings/"+m.ID, e.host.Token,
				map[string]any{"end_time": rfc(t0.Add(time.Hour))}, http.StatusConflict, code("session_ended")),
		)
		list := func(state string) []string {
			l := decode[httpx.List[groups.Session]](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions?state="+state, e.host.Token, nil, http.StatusOK)))
			var ids []string
			for _, s := range l.Items {
				ids = append(ids, s.ID)
			}
			return ids
		}
		assert.Equal(t, []string{open.ID}, list("live"))
		assert.Equal(t, []string{m.SessionID}, list("ended"), "before the job has recorded it")

		require.NoError(t, e.mod.EndDue().Run(context.Background()))
		s := decode[groups.Session](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+m.SessionID, e.a.Token, nil, http.StatusOK)))
		require.NotNil(t, s.EndedAt)
		assert.Equal(t, t0.Add(30*time.Minute), *s.EndedAt, "ended at its ends_at, not when the job ran")
		assert.Equal(t, groups.EndedByTime, s.EndReason)
		assert.Equal(t, []string{m.SessionID}, list("ended"))
	})
}

func TestMeetingSessionsFollowTheirMeeting(t *testing.T) {
	e := newEnv(t)
	t.Parallel()
	m := e.meeting(t, e.host, t0.Add(time.Hour), time.Hour, e.a.ID)
	e.run(t, as("invites_go_through_the_meeting", http.MethodPost, api+"/groups/sessions/"+m.SessionID+"/invites", e.host.Token,
		map[string]any{"user_ids": []string{e.b.ID}}, http.StatusConflict, code("meeting_session")))

	extra := []string{e.b.ID, e.c.ID}
	for range 3 {
		extra = append(extra, e.newUser("customer").ID)
	}
	e.do(t, as("", http.MethodPut, api+"/meetings/"+m.ID, e.host.Token, map[string]any{"add_attendee_ids": extra}, http.StatusOK))
	s := decode[groups.Session](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+m.SessionID, e.host.Token, nil, http.StatusOK)))
	assert.Equal(t, 7, s.Capacity, "room for every attendee and the organizer")

	e.clock.Advance(time.Hour) // it has begun
	e.do(t, as("", http.MethodDelete, api+"/meetings/"+m.ID, e.host.Token, nil, http.StatusNoContent))
	s = decode[groups.Session](t, e.do(t, as("", http.MethodGet, api+"/groups/sessions/"+m.SessionID, e.host.Token, nil, http.StatusOK)))
	assert.Empty(t, s.MeetingID, "the kept session no longer names the deleted meeting")
	assert.Equal(t, groups.StateEnded, s.State)
}
