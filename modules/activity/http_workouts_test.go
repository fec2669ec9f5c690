package activity_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/activity"
	"github.com/fitloop/fitloop/platform/httpx"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestWorkoutTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	url := api + "/workout-types"
	e.run(t,
		as("lists_the_catalog_with_met_values", http.MethodGet, url, e.a.Token, nil, http.StatusOK,
			`{"workout_type":"running","name":"Running, general","met":9.8,"compendium_code":"12150"}`,
			`"workout_type":"yoga"`, `"met":2.5`),
		as("lets_a_read_token_see_it", http.MethodGet, url, e.aRead.Token, nil, http.StatusOK),
		as("refuses_a_metrics_only_token", http.MethodGet, url, e.aMetrics.Token, nil, http.StatusForbidden,
			code("insufficient_scope")),
		as("refuses_anonymous_callers", http.MethodGet, url, "", nil, http.StatusUnauthorized, code("unauthenticated")),
		as("refuses_an_unknown_token", http.MethodGet, url, "tok-nope", nil, http.StatusUnauthorized, code("unauthenticated")),
	)
}

func TestLogWorkout(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a := e.a
		url := api + "/users/" + a.ID + "/workouts"
		s := t0.Add(-5 * time.Hour) // 10:00 UTC
		log := func(name string, body map[string]any, status int, want ...string) testkit.Scenario {
			return as(name, http.MethodPost, url, a.Token, body, status, want...)
		}
		w := func(typ string, start time.Time, extra ...any) map[string]any {
			m := map[string]any{"workout_type": typ, "start_time": rfc(start)}
			for i := 0; i+1 < len(extra); i += 2 {
				m[extra[i].(string)] = extra[i+1]
			}
			return m
		}
		e.run(t,
			// 9.8 MET × 80 kg × 0.5 h
			log("logs_a_workout_with_its_end_time", w("running", s, "end_time", rfc(s.Add(30*time.Minute)),
				"distance_km", 5.2, "avg_heart_rate", 150, "notes", "Easy run"), http.StatusCreated,
				`"user_id":"`+a.ID+`"`, `"start_time":"2030-03-12T10:00:00Z"`, `"end_time":"2030-03-12T10:30:00Z"`,
				`"duration":1800`, `"calories_burned":392,`, `"calories_estimated":false`, `"distance_km":5.2`,
				`"avg_heart_rate":150`, `"notes":"Easy run"`, `"source":"manual"`),
			// 5.8 MET × 80 kg × 0.75 h
			log("logs_a_workout_with_its_duration", w("swimming", s, "duration", 2700), http.StatusCreated,
				`"end_time":"2030-03-12T10:45:00Z"`, `"duration":2700`, `"calories_burned":348,`,
				`"distance_km":null`, `"avg_heart_rate":null`),
			log("accepts_an_end_time_and_a_duration_that_agree", w("walking", s, "duration", 600,
				"end_time", rfc(s.Add(10*time.Minute))), http.StatusCreated, `"duration":600`),
			log("rejects_an_end_time_and_a_duration_that_disagree", w("walking", s, "duration", 601,
				"end_time", rfc(s.Add(10*time.Minute))), http.StatusBadRequest, field("end_time"), "does not match"),
			log("requires_an_end_time_or_a_duration", w("walking", s), http.StatusBadRequest, field("end_time"),
				"end_time or duration is required"),
			log("rejects_a_zero_duration", w("walking", s, "duration", 0), http.StatusBadRequest, field("duration")),
			log("rejects_a_duration_over_a_day", w("walking", s, "duration", 86401), http.StatusBadRequest, field("duration")),
			log("rejects_a_workout_that_ends_in_the_future", w("walking", t0.Add(-10*time.Minute), "duration", 3600),
				http.StatusBadRequest, field("duration"), "future"),
			log("rejects_an_end_over_24_hours_after_the_start", w("walking", t0.Add(-30*time.Hour),
				"end_time", rfc(t0.Add(-5*time.Hour))), http.StatusBadRequest, field("end_time"), "24 hours"),
			log("rejects_an_end_before_the_start", w("walking", s, "end_time", rfc(s.Add(-time.Minute))),
				http.StatusBadRequest, field("end_time")),
			log("rejects_a_start_in_the_future", w("walking", t0.Add(time.Hour), "duration", 60), http.StatusBadRequest,
				field("start_time")),
			log("rejects_a_start_before_2000", w("walking", time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), "duration", 60),
				http.StatusBadRequest, field("start_time")),
			log("rejects_a_start_without_an_offset", map[string]any{"workout_type": "walking",
				"start_time": "2030-03-12T10:00:00", "duration": 60}, http.StatusBadRequest, field("start_time")),
			log("reports_every_bad_extra", w("walking", s, "duration", 60, "distance_km", 1000.5, "avg_heart_rate", 19,
				"notes", strings.Repeat("n", 2001)), http.StatusBadRequest,
				field("distance_km"), field("avg_heart_rate"), field("notes")),
			log("counts_notes_in_characters_not_bytes", w("walking", s, "duration", 60, "notes", strings.Repeat("é", 2000)),
				http.StatusCreated),
			log("rejects_an_unknown_field", w("walking", s, "duration", 60, "calories_burned", 10),
				http.StatusBadRequest, code("unknown_field")),
			log("rejects_a_fractional_duration", w("walking", s, "duration", 60.5), http.StatusBadRequest,
				code("invalid_type"), field("duration")),
			as("hides_another_user", http.MethodPost, api+"/users/"+e.b.ID+"/workouts", a.Token,
				w("walking", s, "duration", 60), http.StatusNotFound, code("user_not_found")),
			as("lets_an_admin_log_for_a_user_with_their_weight", http.MethodPost, url, e.admin.Token,
				w("hiking", s, "duration", 3600), http.StatusCreated, `"user_id":"`+a.ID+`"`,
				`"calories_burned":480,`, `"calories_estimated":false`),
			as("tells_an_admin_about_an_unknown_user", http.MethodPost, api+"/users/"+uuid.NewString()+"/workouts",
				e.admin.Token, w("hiking", s, "duration", 3600), http.StatusNotFound, code("user_not_found")),
			as("estimates_calories_without_a_weight", http.MethodPost, api+"/users/"+e.b.ID+"/workouts", e.b.Token,
				w("hiit", s, "duration", 1800), http.StatusCreated, `"calories_burned":280,`, `"calories_estimated":true`),
		)
		// A logged workout is never live: a live one can still start.
		e.start(t, a, "running")
	})
}

// workoutPage is a page of workouts.
type workoutPage = httpx.List[activity.Workout]

func TestListWorkouts(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a := e.a
		at := func(s string) time.Time {
			tm, err := time.Parse(time.RFC3339, s)
			require.NoError(t, err)
			return tm
		}
		w1 := e.logWorkout(t, a, "running", at("2030-03-01T10:00:00Z"), 1800)
		w2 := e.logWorkout(t, a, "cycling", at("2030-03-03T10:00:00Z"), 1800)
		w3 := e.logWorkout(t, a, "running", at("2030-03-05T04:30:00Z"), 1800) // 2030-03-04 23:30 in New York
		w4 := e.logWorkout(t, a, "cycling", at("2030-03-08T12:00:00Z"), 1800)
		w5 := e.logWorkout(t, a, "yoga", at("2030-03-10T08:00:00Z"), 1800)
		live := e.start(t, a, "running")
		e.logWorkout(t, e.b, "running", at("2030-03-09T10:00:00Z"), 1800) // never in A's lists

		list := func(tb testing.TB, u *user, query string) workoutPage {
			tb.Helper()
			resp := e.do(tb, as("", http.MethodGet, api+"/users/"+a.ID+"/workouts?"+query, u.Token, nil, http.StatusOK))
			return decode[workoutPage](tb, resp)
		}
		ids := func(ws []activity.Workout) []string {
			out := make([]string, len(ws))
			for i, w := range ws {
				out[i] = w.ID
			}
			return out
		}
		// walk follows next_cursor from the first page and returns every id.
		walk := func(t *testing.T, query string, limit int) []string {
			var out []string
			cursor := ""
			for pages := 0; ; pages++ {
				require.Less(t, pages, 10, "the cursor does not advance")
				q := query + "&limit=" + fmt.Sprint(limit)
				if cursor != "" {
					q += "&cursor=" + url.QueryEscape(cursor)
				}
				page := list(t, a, q)
				assert.LessOrEqual(t, len(page.Items), limit)
				out = append(out, ids(page.Items)...)
				if page.NextCursor == "" {
					return out
				}
				cursor = page.NextCursor
			}
		}

		t.Run("pages_newest_first_through_the_cursor", func(t *testing.T) {
			assert.Equal(t, []string{live.SessionID, w5.ID, w4.ID, w3.ID, w2.ID, w1.ID}, walk(t, "", 2))
			assert.Equal(t, []string{live.SessionID, w5.ID, w4.ID, w3.ID, w2.ID, w1.ID}, walk(t, "", 100))
			first := list(t, a, "limit=0") // clamped to 1
			assert.Equal(t, []string{live.SessionID}, ids(first.Items))
		})
		t.Run("shows_the_live_workout_without_an_end", func(t *testing.T) {
			page := list(t, a, "limit=1")
			require.Len(t, page.Items, 1)
			assert.Nil(t, page.Items[0].EndTime)
			assert.Zero(t, page.Items[0].Duration)
		})
		t.Run("filters_by_type_across_pages", func(t *testing.T) {
			assert.Equal(t, []string{w4.ID, w2.ID}, walk(t, "type=cycling", 1))
		})
		t.Run("reads_dates_in_the_users_time_zone", func(t *testing.T) {
			// w3 starts on 2030-03-05 in UTC but on 2030-03-04 in New York.
			assert.Equal(t, []string{w3.ID, w2.ID, w1.ID}, ids(list(t, a, "to=2030-03-04").Items))
			assert.Equal(t, []string{live.SessionID, w5.ID, w4.ID}, ids(list(t, a, "from=2030-03-05").Items))
			assert.Equal(t, []string{w3.ID}, ids(list(t, a, "from=2030-03-04&to=2030-03-04").Items))
		})
		t.Run("reads_times_as_a_half_open_range", func(t *testing.T) {
			q := "from=" + url.QueryEscape("2030-03-03T10:00:00Z") + "&to=" + url.QueryEscape("2030-03-08T12:00:00Z")
			assert.Equal(t, []string{w3.ID, w2.ID}, ids(list(t, a, q).Items))
			q = "type=running&from=" + url.QueryEscape("2030-03-05T04:30:00+00:00")
			assert.Equal(t, []string{live.SessionID, w3.ID}, ids(list(t, a, q).Items))
		})
		t.Run("lets_an_admin_and_a_read_token_list", func(t *testing.T) {
			assert.Len(t, list(t, e.admin, "").Items, 6)
			assert.Len(t, list(t, e.aRead, "").Items, 6)
		})

		u := api + "/users/" + a.ID + "/workouts?"
		foreign := base64.RawURLEncoding.EncodeToString([]byte("not a cursor"))
		e.run(t,
			as("rejects_an_unknown_type", http.MethodGet, u+"type=juggling", a.Token, nil, http.StatusBadRequest,
				field("type"), "must be one of running, cycling"),
			as("rejects_a_malformed_from", http.MethodGet, u+"from=yesterday", a.Token, nil, http.StatusBadRequest, field("from")),
			as("rejects_a_malformed_to", http.MethodGet, u+"to=2030-13-01", a.Token, nil, http.StatusBadRequest, field("to")),
			as("rejects_a_cursor_that_is_not_base64", http.MethodGet, u+"cursor=%21%21", a.Token, nil, http.StatusBadRequest,
				field("cursor")),
			as("rejects_a_cursor_it_did_not_issue", http.MethodGet, u+"cursor="+foreign, a.Token, nil, http.StatusBadRequest,
				field("cursor")),
			as("rejects_a_non_numeric_limit", http.MethodGet, u+"limit=many", a.Token, nil, http.StatusBadRequest, field("limit")),
			as("hides_the_list_from_another_user", http.MethodGet, u, e.b.Token, nil, http.StatusNotFound, code("user_not_found")),
			as("refuses_a_metrics_only_token", http.MethodGet, u, e.aMetrics.Token, nil, http.StatusForbidden,
				code("insufficient_scope")),
			as("tells_an_admin_about_an_unknown_user", http.MethodGet, api+"/users/"+uuid.NewString()+"/workouts",
				e.admin.Token, nil, http.StatusNotFound, code("user_not_found")),
		)
	})
}

func TestWorkoutReadUpdateDelete(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a, b := e.a, e.b
		s := t0.Add(-5 * time.Hour)
		w := e.logWorkout(t, a, "running", s, 1800)
		live := e.start(t, a, "cycling")
		one := api + "/workouts/" + w.ID
		liveURL := api + "/workouts/" + live.SessionID
		get := func(name, url string, u *user, status int, want ...string) testkit.Scenario {
			return as(name, http.MethodGet, url, u.Token, nil, status, want...)
		}
		put := func(name, url string, u *user, body any, status int, want ...string) testkit.Scenario {
			return as(name, http.MethodPut, url, u.Token, body, status, want...)
		}
		del := func(name, url string, u *user, status int, want ...string) testkit.Scenario {
			return as(name, http.MethodDelete, url, u.Token, nil, status, want...)
		}
		e.run(t,
			get("shows_the_workout_to_its_user", one, a, http.StatusOK, `"session_id":"`+w.ID+`"`, `"workout_type":"running"`),
			get("shows_the_workout_to_an_admin", one, e.admin, http.StatusOK, `"session_id":"`+w.ID+`"`),
			get("shows_the_workout_to_a_read_token", one, e.aRead, http.StatusOK),
			get("hides_the_workout_from_another_user", one, b, http.StatusNotFound, code("workout_not_found")),
			get("answers_404_for_an_unknown_workout", api+"/workouts/"+uuid.NewString(), a, http.StatusNotFound,
				code("workout_not_found")),
			get("shows_a_live_workout", liveURL, a, http.StatusOK, `"end_time":null`, `"duration":0`, `"source":"live"`),
			as("refuses_anonymous_callers", http.MethodGet, one, "", nil, http.StatusUnauthorized, code("unauthenticated")),

			put("changes_the_notes", one, a, map[string]any{"notes": "Felt good"}, http.StatusOK,
				`"notes":"Felt good"`, `"duration":1800`, `"calories_burned":392,`),
			put("leaves_null_fields_alone", one, a, map[string]any{"notes": nil, "distance_km": nil}, http.StatusOK,
				`"notes":"Felt good"`),
			// 3.5 MET × 80 kg × 0.5 h
			put("prices_a_new_type_again", one, a, map[string]any{"workout_type": "walking"}, http.StatusOK,
				`"workout_type":"walking"`, `"calories_burned":140,`),
			put("keeps_the_duration_when_only_the_start_moves", one, a, map[string]any{"start_time": rfc(s.Add(-time.Hour))},
				http.StatusOK, `"start_time":"2030-03-12T09:00:00Z"`, `"end_time":"2030-03-12T09:30:00Z"`, `"duration":1800`),
			put("changes_the_duration", one, a, map[string]any{"duration": 3600}, http.StatusOK,
				`"end_time":"2030-03-12T10:00:00Z"`, `"duration":3600`, `"calories_burned":280,`),
			put("rejects_an_end_time_and_a_duration_that_disagree", one, a,
				map[string]any{"end_time": rfc(s), "duration": 60}, http.StatusBadRequest, field("end_time")),
			put("rejects_an_unknown_type", one, a, map[string]any{"workout_type": "juggling"}, http.StatusBadRequest,
				field("workout_type")),
			put("rejects_an_unknown_field", one, a, map[string]any{"user_id": b.ID}, http.StatusBadRequest, code("unknown_field")),
			put("hides_the_workout_from_another_user", one, b, map[string]any{"notes": "mine"}, http.StatusNotFound,
				code("workout_not_found")),
			put("lets_an_admin_change_it", one, e.admin, map[string]any{"avg_heart_rate": 140}, http.StatusOK,
				`"avg_heart_rate":140`, `"notes":"Felt good"`),
			put("refuses_a_read_token", one, e.aRead, map[string]any{"notes": "x"}, http.StatusForbidden,
				code("insufficient_scope")),
			put("lets_a_write_token_change_it", one, e.aWrite, map[string]any{"distance_km": 4}, http.StatusOK,
				`"distance_km":4`),
			put("refuses_new_times_for_a_live_workout", liveURL, a, map[string]any{"end_time": rfc(t0)},
				http.StatusConflict, code("workout_active")),
			put("changes_the_notes_of_a_live_workout", liveURL, a, map[string]any{"notes": "Hills"}, http.StatusOK,
				`"notes":"Hills"`, `"end_time":null`),

			del("hides_the_workout_from_another_user", one, b, http.StatusNotFound, code("workout_not_found")),
			del("deletes_the_workout", one, a, http.StatusNoContent),
			get("forgets_the_deleted_workout", one, a, http.StatusNotFound, code("workout_not_found")),
			del("answers_404_the_second_time", one, a, http.StatusNotFound, code("workout_not_found")),
			del("lets_an_admin_delete_a_live_workout", liveURL, e.admin, http.StatusNoContent),
			as("lets_a_new_workout_start_after_the_live_one_is_gone", http.MethodPost, api+"/workouts/start", a.Token,
				startBody(a.ID, "running"), http.StatusCreated),
		)
	})
}
