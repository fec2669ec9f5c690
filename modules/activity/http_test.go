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

// as is one request with its expected status and body fragments.
func as(name, method, url, token string, body any, status int, want ...string) testkit.Scenario {
	return testkit.Scenario{Name: name, Method: method, URL: url, Token: token, Body: body,
		ExpectedStatus: status, ExpectedContent: want}
}

// withKey sends s with an Idempotency-Key.
func withKey(s testkit.Scenario, key string) testkit.Scenario {
	s.Headers = map[string]string{"Idempotency-Key": key}
	return s
}

func startBody(userID, typ string) map[string]any {
	return map[string]any{"user_id": userID, "workout_type": typ}
}

// start starts a workout for u and returns it.
func (e *env) start(tb testing.TB, u *user, typ string) activity.Started {
	tb.Helper()
	resp := e.do(tb, as("", http.MethodPost, api+"/workouts/start", u.Token, startBody(u.ID, typ), http.StatusCreated))
	s := decode[activity.Started](tb, resp)
	require.NotEmpty(tb, s.SessionID)
	return s
}

// logWorkout logs a finished workout for u and returns it.
func (e *env) logWorkout(tb testing.TB, u *user, typ string, start time.Time, seconds int) activity.Workout {
	tb.Helper()
	resp := e.do(tb, as("", http.MethodPost, api+"/users/"+u.ID+"/workouts", u.Token,
		map[string]any{"workout_type": typ, "start_time": rfc(start), "duration": seconds}, http.StatusCreated))
	return decode[activity.Workout](tb, resp)
}

// post posts a batch of samples for u and requires 200.
func (e *env) post(tb testing.TB, u *user, samples ...map[string]any) activity.SampleResult {
	tb.Helper()
	resp := e.do(tb, as("", http.MethodPost, api+"/users/"+u.ID+"/metrics", u.Token,
		map[string]any{"samples": samples}, http.StatusOK))
	return decode[activity.SampleResult](tb, resp)
}

func sample(metric string, value any, at time.Time) map[string]any {
	return map[string]any{"metric": metric, "value": value, "recorded_at": rfc(at)}
}

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

func TestStartWorkout(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		url := api + "/workouts/start"
		start := func(name, token string, body any, status int, want ...string) testkit.Scenario {
			return as(name, http.MethodPost, url, token, body, status, want...)
		}
		a := e.a
		e.run(t,
			start("refuses_anonymous_callers", "", startBody(a.ID, "running"), http.StatusUnauthorized, code("unauthenticated")),
			start("refuses_a_read_token", e.aRead.Token, startBody(a.ID, "running"), http.StatusForbidden, code("insufficient_scope")),
			start("refuses_a_metrics_only_token", e.aMetrics.Token, startBody(a.ID, "running"), http.StatusForbidden,
				code("insufficient_scope")),
			start("refuses_a_session_whose_password_expired", e.aExpired.Token, startBody(a.ID, "running"),
				http.StatusForbidden, code("password_expired")),
			start("rejects_an_unknown_type_listing_the_known_ones", a.Token, startBody(a.ID, "juggling"),
				http.StatusBadRequest, code("validation_failed"), field("workout_type"), "running, cycling, swimming"),
			start("requires_the_user_id", a.Token, map[string]any{"workout_type": "running"}, http.StatusBadRequest,
				code("validation_failed"), field("user_id")),
			start("rejects_an_unknown_field", a.Token, map[string]any{"user_id": a.ID, "workout_type": "running", "kcal": 1},
				http.StatusBadRequest, code("unknown_field"), field("kcal")),
			start("rejects_a_wrong_type", a.Token, map[string]any{"user_id": 42, "workout_type": "running"},
				http.StatusBadRequest, code("invalid_type"), field("user_id")),
			start("rejects_malformed_json", a.Token, `{"user_id":`, http.StatusBadRequest, code("invalid_json")),
			start("rejects_two_json_values", a.Token, `{} {}`, http.StatusBadRequest, code("invalid_json")),
			testkit.Scenario{Name: "rejects_a_body_that_is_not_json", Method: http.MethodPost, URL: url, Token: a.Token,
				Body: "user_id=x", Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
				ExpectedStatus: http.StatusUnsupportedMediaType, ExpectedContent: []string{code("unsupported_media_type")}},
			start("rejects_a_body_over_the_limit", a.Token, startBody(a.ID, strings.Repeat("x", defaultBodyLimit)),
				http.StatusRequestEntityTooLarge, code("body_too_large")),
			start("hides_another_user", a.Token, startBody(e.b.ID, "running"), http.StatusNotFound, code("user_not_found")),
			start("tells_an_admin_about_an_unknown_user", e.admin.Token, startBody(uuid.NewString(), "running"),
				http.StatusNotFound, code("user_not_found")),
		)

		first := e.do(t, start("starts_a_workout", a.Token, startBody(a.ID, "running"), http.StatusCreated,
			`"start_time":"2030-03-12T15:00:00Z"`))
		started := decode[activity.Started](t, first)
		for _, who := range []*user{a, e.admin} {
			resp := e.do(t, start("refuses_a_second_live_workout", who.Token, startBody(a.ID, "cycling"),
				http.StatusConflict, code("workout_active")))
			assert.Equal(t, started.SessionID, errorOf(t, resp).Error.Details["session_id"],
				"the conflict names the live workout")
		}
		e.run(t,
			start("lets_an_admin_start_for_another_user", e.admin.Token, startBody(e.b.ID, "yoga"), http.StatusCreated),
			start("refuses_a_write_token_a_second_live_workout", e.aWrite.Token, startBody(a.ID, "running"),
				http.StatusConflict, code("workout_active")),
		)
	})
}

func TestStartIsIdempotent(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		start := func(name string, u *user, typ string, status int, want ...string) testkit.Scenario {
			return as(name, http.MethodPost, api+"/workouts/start", u.Token, startBody(u.ID, typ), status, want...)
		}
		first := e.do(t, withKey(start("starts_with_a_key", e.a, "running", http.StatusCreated), "start-1"))
		assert.Empty(t, first.Header.Get("Idempotent-Replayed"))
		id := decode[activity.Started](t, first).SessionID

		again := e.do(t, withKey(start("replays_the_first_answer", e.a, "running", http.StatusCreated), "start-1"))
		assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
		assert.Equal(t, id, decode[activity.Started](t, again).SessionID, "a replay starts nothing")

		conflict := e.do(t, start("refuses_a_retry_without_the_key", e.a, "running", http.StatusConflict, code("workout_active")))
		assert.Equal(t, id, errorOf(t, conflict).Error.Details["session_id"])
		e.run(t,
			withKey(start("refuses_the_key_with_another_request", e.a, "cycling", http.StatusUnprocessableEntity,
				code("idempotency_key_reused")), "start-1"),
			withKey(start("refuses_a_malformed_key", e.a, "running", http.StatusBadRequest,
				code("idempotency_key_invalid")), strings.Repeat("k", 256)),
			withKey(start("scopes_keys_to_the_caller", e.b, "running", http.StatusCreated), "start-1"),
		)
	})
}

func TestEndWorkout(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a, b := e.a, e.b
		end := func(name string, u *user, id string, body any, status int, want ...string) testkit.Scenario {
			return as(name, http.MethodPost, api+"/workouts/"+id+"/end", u.Token, body, status, want...)
		}
		endAt := func(at time.Time) map[string]any { return map[string]any{"end_time": rfc(at)} }

		run := e.start(t, a, "running") // at t0
		e.clock.Advance(90 * time.Minute)
		e.run(t,
			end("rejects_an_end_before_the_start", a, run.SessionID, endAt(t0.Add(-time.Second)), http.StatusBadRequest,
				field("end_time"), "before the start"),
			end("rejects_an_end_in_the_future", a, run.SessionID, endAt(e.clock.Now().Add(10*time.Minute)),
				http.StatusBadRequest, field("end_time"), "future"),
			end("rejects_a_malformed_end_time", a, run.SessionID, map[string]any{"end_time": "yesterday"},
				http.StatusBadRequest, field("end_time")),
			end("rejects_an_unknown_field", a, run.SessionID, map[string]any{"ended": true}, http.StatusBadRequest,
				code("unknown_field")),
			end("hides_the_workout_from_another_user", b, run.SessionID, nil, http.StatusNotFound, code("workout_not_found")),
			end("answers_404_for_an_unknown_workout", a, uuid.NewString(), nil, http.StatusNotFound, code("workout_not_found")),
			end("refuses_a_metrics_only_token", e.aMetrics, run.SessionID, nil, http.StatusForbidden, code("insufficient_scope")),
			// 9.8 MET × 80 kg × 0.75 h
			end("ends_at_the_given_time_and_prices_it_with_the_weight", a, run.SessionID, endAt(t0.Add(45*time.Minute)),
				http.StatusOK, `"session_id":"`+run.SessionID+`"`, `"start_time":"2030-03-12T15:00:00Z"`,
				`"end_time":"2030-03-12T15:45:00Z"`, `"duration":2700`, `"calories_burned":588,`, `"calories_estimated":false`),
			end("refuses_to_end_twice", a, run.SessionID, nil, http.StatusConflict, code("workout_ended")),
			as("shows_the_ended_workout", http.MethodGet, api+"/workouts/"+run.SessionID, a.Token, nil, http.StatusOK,
				`"end_time":"2030-03-12T15:45:00Z"`, `"duration":2700`, `"source":"live"`),
		)

		// Without a known weight: 70 kg, and the answer says it is estimated.
		yoga := e.start(t, b, "yoga")
		e.clock.Advance(time.Hour)
		e.run(t, end("ends_now_without_a_body_assuming_70_kg", b, yoga.SessionID, nil, http.StatusOK,
			`"duration":3600`, `"calories_burned":175,`, `"calories_estimated":true`))

		walk := e.start(t, b, "walking")
		e.clock.Advance(25 * time.Hour)
		e.run(t,
			end("refuses_an_end_over_24_hours_after_the_start", b, walk.SessionID, nil, http.StatusBadRequest,
				field("end_time"), "within 24 hours"),
			// 3.5 MET × 70 kg × 24 h
			end("accepts_an_end_exactly_24_hours_after_the_start", b, walk.SessionID, endAt(walk.StartTime.Add(24*time.Hour)),
				http.StatusOK, `"duration":86400`, `"calories_burned":5880,`),
		)

		// 7.5 MET × 80 kg × 1234 s = 205.666… kcal, rounded to 205.7.
		ride := e.start(t, a, "cycling")
		e.clock.Advance(time.Hour)
		e.run(t, end("rounds_calories_to_a_tenth", a, ride.SessionID, endAt(ride.StartTime.Add(1234*time.Second)),
			http.StatusOK, `"duration":1234`, `"calories_burned":205.7,`))

		row := e.start(t, a, "rowing")
		e.clock.Advance(30 * time.Minute)
		e.run(t, end("lets_an_admin_end_a_users_workout", e.admin, row.SessionID, map[string]any{}, http.StatusOK,
			`"duration":1800`, `"calories_burned":280,`))

		// A retried end with the same key gets the first answer, not workout_ended.
		swim := e.start(t, a, "swimming")
		e.clock.Advance(20 * time.Minute)
		first := e.do(t, withKey(end("ends_with_a_key", a, swim.SessionID, nil, http.StatusOK), "end-1"))
		again := e.do(t, withKey(end("replays_the_end", a, swim.SessionID, nil, http.StatusOK), "end-1"))
		assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
		assert.JSONEq(t, first.String(), again.String())
		e.run(t, end("refuses_a_retry_without_the_key", a, swim.SessionID, nil, http.StatusConflict, code("workout_ended")))
	})
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

func TestAddSamples(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a := e.a
		url := api + "/users/" + a.ID + "/metrics"
		at := t0.Add(-2 * time.Hour)
		batch := func(samples ...map[string]any) map[string]any { return map[string]any{"samples": samples} }
		postAs := func(name string, u *user, body any, status int, want ...string) testkit.Scenario {
			return as(name, http.MethodPost, url, u.Token, body, status, want...)
		}
		with := func(m map[string]any, kv ...any) map[string]any {
			out := map[string]any{}
			for k, v := range m {
				out[k] = v
			}
			for i := 0; i+1 < len(kv); i += 2 {
				out[kv[i].(string)] = kv[i+1]
			}
			return out
		}
		three := batch(sample("steps", 1200, at), sample("heart_rate", 62, at),
			with(sample("steps", 300, at.Add(15*time.Minute)), "source", "watch"))
		twenty := make([]map[string]any, 20)
		for i := range twenty {
			twenty[i] = sample("steps", 10, at.Add(30*time.Minute+time.Duration(i)*time.Second))
		}
		twenty[17]["value"] = -5
		many := make([]map[string]any, maxSamples+1)
		for i := range many {
			many[i] = sample("steps", 1, at.Add(time.Duration(i)*time.Second))
		}
		// Over the engine's default limit, within the batch route's own.
		large := make([]map[string]any, maxSamples)
		for i := range large {
			large[i] = with(sample("active_minutes", 1, at.Add(time.Duration(i)*time.Minute)),
				"source", strings.Repeat("s", 64), "sample_id", fmt.Sprintf("%0128d", i))
		}
		huge := `{"samples":[` + strings.Repeat(` `, metricsBodyLimit) + `]}`

		e.run(t,
			postAs("stores_a_batch", a, three, http.StatusOK, `{"accepted":3,"duplicates":0}`),
			postAs("counts_a_repeated_batch_as_duplicates", a, three, http.StatusOK, `{"accepted":0,"duplicates":3}`),
			postAs("stores_a_sample_with_an_id", a, batch(with(sample("steps", 10, at.Add(time.Minute)), "sample_id", "s-1")),
				http.StatusOK, `{"accepted":1,"duplicates":0}`),
			postAs("skips_a_known_sample_id_whatever_the_rest", a,
				batch(with(sample("heart_rate", 70, at.Add(2*time.Minute)), "sample_id", "s-1")),
				http.StatusOK, `{"accepted":0,"duplicates":1}`),
			postAs("skips_duplicates_within_a_batch", a, batch(sample("steps", 5, at.Add(3*time.Minute)),
				sample("steps", 5, at.Add(3*time.Minute))), http.StatusOK, `{"accepted":1,"duplicates":1}`),
			postAs("keeps_the_same_time_from_two_sources", a, batch(
				with(sample("heart_rate", 61, at.Add(4*time.Minute)), "source", "band"),
				with(sample("heart_rate", 63, at.Add(4*time.Minute)), "source", "strap")),
				http.StatusOK, `{"accepted":2,"duplicates":0}`),
			postAs("names_the_bad_sample_of_a_batch", a, batch(twenty...), http.StatusBadRequest,
				code("validation_failed"), field("samples[17].value"), "must be between 0 and 100000 count"),
			postAs("stores_nothing_of_a_refused_batch", a, batch(append(twenty[:17:17], twenty[18:]...)...),
				http.StatusOK, `{"accepted":19,"duplicates":0}`),
			postAs("rejects_nan_given_as_a_string", a, `{"samples":[{"metric":"steps","value":"NaN","recorded_at":"`+rfc(at)+`"}]}`,
				http.StatusBadRequest, code("invalid_type")),
			postAs("rejects_a_bare_nan", a, `{"samples":[{"metric":"steps","value":NaN,"recorded_at":"`+rfc(at)+`"}]}`,
				http.StatusBadRequest, code("invalid_json")),
			postAs("requires_a_value", a, batch(map[string]any{"metric": "steps", "recorded_at": rfc(at)}),
				http.StatusBadRequest, field("samples[0].value"), "is required"),
			postAs("rejects_a_null_value", a, batch(sample("steps", nil, at)), http.StatusBadRequest,
				field("samples[0].value")),
			postAs("rejects_an_unknown_metric_listing_the_known_ones", a, batch(sample("vo2max", 50, at)),
				http.StatusBadRequest, field("samples[0].metric"),
				"steps, calories_burned, heart_rate, distance_km, active_minutes, weight_kg, sleep_minutes"),
			postAs("rejects_a_heart_rate_out_of_range", a, batch(sample("heart_rate", 251, at)), http.StatusBadRequest,
				field("samples[0].value")),
			postAs("rejects_a_fraction_of_a_step", a, batch(sample("steps", 10.5, at)), http.StatusBadRequest,
				field("samples[0].value"), "whole number"),
			postAs("rejects_a_sample_from_the_future", a, batch(sample("steps", 1, t0.Add(10*time.Minute))),
				http.StatusBadRequest, field("samples[0].recorded_at"), "future"),
			postAs("rejects_a_sample_over_10_years_old", a, batch(sample("steps", 1, t0.AddDate(-11, 0, 0))),
				http.StatusBadRequest, field("samples[0].recorded_at"), "10 years"),
			postAs("rejects_a_date_without_a_time", a, batch(map[string]any{"metric": "steps", "value": 1,
				"recorded_at": "2030-03-12"}), http.StatusBadRequest, field("samples[0].recorded_at")),
			postAs("rejects_a_control_character_in_the_source", a, batch(with(sample("steps", 1, at), "source", "a\nb")),
				http.StatusBadRequest, field("samples[0].source")),
			postAs("rejects_a_long_source", a, batch(with(sample("steps", 1, at), "source", strings.Repeat("s", 65))),
				http.StatusBadRequest, field("samples[0].source")),
			postAs("rejects_a_long_sample_id", a, batch(with(sample("steps", 1, at), "sample_id", strings.Repeat("i", 129))),
				http.StatusBadRequest, field("samples[0].sample_id")),
			postAs("reports_several_fields_of_several_samples", a, batch(sample("steps", -1, at), sample("nope", 1, at)),
				http.StatusBadRequest, field("samples[0].value"), field("samples[1].metric")),
			postAs("rejects_an_empty_batch", a, batch(), http.StatusBadRequest, field("samples")),
			postAs("rejects_a_body_without_samples", a, map[string]any{}, http.StatusBadRequest, field("samples")),
			postAs("rejects_too_many_samples", a, batch(many...), http.StatusRequestEntityTooLarge,
				code("too_many_samples"), field("samples"), fmt.Sprintf("at most %d samples", maxSamples)),
			postAs("uses_the_routes_own_body_limit", a, batch(large...), http.StatusOK,
				fmt.Sprintf(`{"accepted":%d,"duplicates":0}`, maxSamples)),
			postAs("refuses_a_body_over_the_routes_limit", a, huge, http.StatusRequestEntityTooLarge, code("body_too_large")),
			postAs("refuses_a_streamed_body_over_the_routes_limit", a, strings.NewReader(huge),
				http.StatusRequestEntityTooLarge, code("body_too_large")),
			postAs("rejects_malformed_json", a, `{"samples":[{"metric":`, http.StatusBadRequest, code("invalid_json")),
			postAs("rejects_an_unknown_field", a, map[string]any{"samples": []any{}, "device": "x"}, http.StatusBadRequest,
				code("unknown_field")),
			postAs("rejects_an_unknown_field_of_a_sample", a, batch(with(sample("steps", 1, at), "unit", "count")),
				http.StatusBadRequest, code("unknown_field")),
			testkit.Scenario{Name: "rejects_a_body_that_is_not_json", Method: http.MethodPost, URL: url, Token: a.Token,
				Body: "steps=1", Headers: map[string]string{"Content-Type": "text/plain"},
				ExpectedStatus: http.StatusUnsupportedMediaType, ExpectedContent: []string{code("unsupported_media_type")}},

			postAs("lets_a_metrics_token_post", e.aMetrics, batch(sample("steps", 42, at.Add(5*time.Minute))), http.StatusOK,
				`{"accepted":1,"duplicates":0}`),
			postAs("lets_a_write_token_post", e.aWrite, batch(sample("steps", 43, at.Add(6*time.Minute))), http.StatusOK,
				`{"accepted":1,"duplicates":0}`),
			postAs("refuses_a_read_token", e.aRead, batch(sample("steps", 44, at)), http.StatusForbidden,
				code("insufficient_scope")),
			postAs("refuses_a_session_whose_password_expired", e.aExpired, batch(sample("steps", 44, at)),
				http.StatusForbidden, code("password_expired")),
			as("refuses_anonymous_callers", http.MethodPost, url, "", batch(sample("steps", 44, at)),
				http.StatusUnauthorized, code("unauthenticated")),
			postAs("hides_another_user", e.b, batch(sample("steps", 44, at)), http.StatusNotFound, code("user_not_found")),
			as("keeps_a_metrics_token_to_its_owner", http.MethodPost, api+"/users/"+e.b.ID+"/metrics", e.aMetrics.Token,
				batch(sample("steps", 44, at)), http.StatusNotFound, code("user_not_found")),
			postAs("lets_an_admin_post_for_a_user", e.admin, batch(sample("steps", 45, at.Add(7*time.Minute))),
				http.StatusOK, `{"accepted":1,"duplicates":0}`),
			as("refuses_a_metrics_token_the_latest_metrics", http.MethodGet, url, e.aMetrics.Token, nil,
				http.StatusForbidden, code("insufficient_scope")),
			as("refuses_a_metrics_token_a_series", http.MethodGet, url+"/steps", e.aMetrics.Token, nil,
				http.StatusForbidden, code("insufficient_scope")),
		)

		// A retry with the same key gets the first answer, not duplicates.
		fresh := batch(sample("sleep_minutes", 420, at.Add(-time.Hour)), sample("weight_kg", 79.5, at))
		first := e.do(t, withKey(postAs("posts_with_a_key", a, fresh, http.StatusOK, `{"accepted":2,"duplicates":0}`), "batch-1"))
		assert.Empty(t, first.Header.Get("Idempotent-Replayed"))
		again := e.do(t, withKey(postAs("replays_the_first_answer", a, fresh, http.StatusOK, `{"accepted":2,"duplicates":0}`),
			"batch-1"))
		assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
		e.run(t, postAs("counts_duplicates_without_the_key", a, fresh, http.StatusOK, `{"accepted":0,"duplicates":2}`))
	})
}

// bucket is an expected bucket: its start as the API writes it, and its numbers.
type bucket struct {
	start    string
	value    float64
	count    int64
	min, max float64 // unchecked when count is 0 (both must be null then)
}

// series gets a metric series and decodes it.
func (e *env) series(tb testing.TB, u *user, owner, metric, query string) activity.Series {
	tb.Helper()
	resp := e.do(tb, as("", http.MethodGet, api+"/users/"+owner+"/metrics/"+metric+"?"+query, u.Token, nil, http.StatusOK))
	return decode[activity.Series](tb, resp)
}

// checkBuckets compares the buckets at the given indexes, and requires the
// others to be empty.
func checkBuckets(tb testing.TB, got []activity.Bucket, want map[int]bucket) {
	tb.Helper()
	for i, b := range got {
		w, ok := want[i]
		if !ok {
			assert.Zero(tb, b.Count, "bucket %d (%s) should be empty", i, b.Start)
			assert.Zero(tb, b.Value, "bucket %d", i)
			assert.Nil(tb, b.Min, "bucket %d", i)
			assert.Nil(tb, b.Max, "bucket %d", i)
			continue
		}
		assert.Equal(tb, w.start, b.Start.Format(time.RFC3339), "bucket %d", i)
		assert.Equal(tb, w.value, b.Value, "bucket %d", i)
		assert.Equal(tb, w.count, b.Count, "bucket %d", i)
		if assert.NotNil(tb, b.Min, "bucket %d", i) && assert.NotNil(tb, b.Max, "bucket %d", i) {
			assert.Equal(tb, w.min, *b.Min, "bucket %d min", i)
			assert.Equal(tb, w.max, *b.Max, "bucket %d max", i)
		}
	}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestMetricSeries(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a, b := e.a, e.b
		// A lives in New York: its clocks went forward on 2030-03-10 at 02:00
		// (a 23-hour day) and back on 2029-11-04 at 02:00 (a 25-hour day).
		e.post(t, a,
			sample("heart_rate", 60, utc("2030-03-10T06:10:00Z")),  // 01:10 EST
			sample("heart_rate", 80, utc("2030-03-10T06:50:00Z")),  // 01:50 EST
			sample("heart_rate", 90, utc("2030-03-10T07:05:00Z")),  // 03:05 EDT
			sample("steps", 1000, utc("2030-03-10T04:59:00Z")),     // 03-09 23:59 EST
			sample("steps", 2000, utc("2030-03-10T05:00:00Z")),     // 03-10 00:00 EST
			sample("steps", 500, utc("2030-03-11T03:59:00Z")),      // 03-10 23:59 EDT
			sample("steps", 700, utc("2030-03-11T04:00:00Z")),      // 03-11 00:00 EDT
			sample("heart_rate", 100, utc("2029-11-04T05:30:00Z")), // 01:30 EDT
			sample("heart_rate", 120, utc("2029-11-04T06:30:00Z")), // 01:30 EST, an hour later
		)
		// B lives in Kolkata, at +05:30 all year.
		e.post(t, b,
			sample("steps", 100, utc("2030-03-05T18:29:00Z")), // 03-05 23:59 IST
			sample("steps", 200, utc("2030-03-05T18:30:00Z")), // 03-06 00:00 IST
			sample("steps", 50, utc("2030-03-06T04:29:00Z")),  // 03-06 09:59 IST
			sample("steps", 70, utc("2030-03-06T04:31:00Z")),  // 03-06 10:01 IST
		)

		t.Run("cuts_the_day_the_clocks_go_forward_into_23_hours", func(t *testing.T) {
			s := e.series(t, a, a.ID, "heart_rate", "period=day&from=2030-03-10&to=2030-03-10")
			assert.Equal(t, "America/New_York", s.Timezone)
			assert.Equal(t, "average", s.Aggregation)
			assert.Equal(t, "bpm", s.Unit)
			assert.Equal(t, "2030-03-10", s.From)
			assert.Equal(t, "2030-03-10", s.To)
			require.Len(t, s.Buckets, 23)
			assert.Equal(t, "2030-03-10T00:00:00-05:00", s.Buckets[0].Start.Format(time.RFC3339))
			assert.Equal(t, "2030-03-10T23:00:00-04:00", s.Buckets[22].Start.Format(time.RFC3339))
			checkBuckets(t, s.Buckets, map[int]bucket{
				1: {"2030-03-10T01:00:00-05:00", 70, 2, 60, 80},
				2: {"2030-03-10T03:00:00-04:00", 90, 1, 90, 90},
			})
		})
		t.Run("cuts_the_day_the_clocks_go_back_into_25_hours", func(t *testing.T) {
			s := e.series(t, a, a.ID, "heart_rate", "period=day&from=2029-11-04")
			assert.Equal(t, "2029-11-04", s.To)
			require.Len(t, s.Buckets, 25)
			checkBuckets(t, s.Buckets, map[int]bucket{
				1: {"2029-11-04T01:00:00-04:00", 100, 1, 100, 100},
				2: {"2029-11-04T01:00:00-05:00", 120, 1, 120, 120},
			})
		})
		t.Run("sums_local_days_across_the_change", func(t *testing.T) {
			s := e.series(t, a, a.ID, "steps", "period=week&from=2030-03-08&to=2030-03-14")
			assert.Equal(t, "sum", s.Aggregation)
			require.Len(t, s.Buckets, 7)
			assert.Equal(t, "2030-03-08T00:00:00-05:00", s.Buckets[0].Start.Format(time.RFC3339))
			assert.Equal(t, "2030-03-14T00:00:00-04:00", s.Buckets[6].Start.Format(time.RFC3339))
			checkBuckets(t, s.Buckets, map[int]bucket{
				1: {"2030-03-09T00:00:00-05:00", 1000, 1, 1000, 1000},
				2: {"2030-03-10T00:00:00-05:00", 2500, 2, 500, 2000},
				3: {"2030-03-11T00:00:00-04:00", 700, 1, 700, 700},
			})
		})
		t.Run("ends_a_default_range_today_in_the_users_zone", func(t *testing.T) {
			s := e.series(t, a, a.ID, "steps", "")
			assert.Equal(t, "week", s.Period)
			assert.Equal(t, "2030-03-06", s.From)
			assert.Equal(t, "2030-03-12", s.To)
			require.Len(t, s.Buckets, 7)
			checkBuckets(t, s.Buckets, map[int]bucket{
				3: {"2030-03-09T00:00:00-05:00", 1000, 1, 1000, 1000},
				4: {"2030-03-10T00:00:00-05:00", 2500, 2, 500, 2000},
				5: {"2030-03-11T00:00:00-04:00", 700, 1, 700, 700},
			})
			s = e.series(t, a, a.ID, "steps", "period=week&to=2030-03-10")
			assert.Equal(t, "2030-03-04", s.From)
		})
		t.Run("cuts_days_at_half_past_in_utc_for_kolkata", func(t *testing.T) {
			s := e.series(t, b, b.ID, "steps", "period=week&from=2030-03-04")
			assert.Equal(t, "Asia/Kolkata", s.Timezone)
			assert.Equal(t, "2030-03-10", s.To)
			require.Len(t, s.Buckets, 7)
			checkBuckets(t, s.Buckets, map[int]bucket{
				1: {"2030-03-05T00:00:00+05:30", 100, 1, 100, 100},
				2: {"2030-03-06T00:00:00+05:30", 320, 3, 50, 200},
			})
		})
		t.Run("cuts_hours_at_half_past_in_utc_for_kolkata", func(t *testing.T) {
			s := e.series(t, b, b.ID, "steps", "period=day&from=2030-03-06")
			require.Len(t, s.Buckets, 24)
			checkBuckets(t, s.Buckets, map[int]bucket{
				0:  {"2030-03-06T00:00:00+05:30", 200, 1, 200, 200},
				9:  {"2030-03-06T09:00:00+05:30", 50, 1, 50, 50},
				10: {"2030-03-06T10:00:00+05:30", 70, 1, 70, 70},
			})
		})
		t.Run("spans_a_month_of_days", func(t *testing.T) {
			s := e.series(t, b, b.ID, "steps", "period=month&from=2030-02-10")
			assert.Equal(t, "2030-03-11", s.To)
			require.Len(t, s.Buckets, 30)
			checkBuckets(t, s.Buckets, map[int]bucket{
				23: {"2030-03-05T00:00:00+05:30", 100, 1, 100, 100},
				24: {"2030-03-06T00:00:00+05:30", 320, 3, 50, 200},
			})
		})
		t.Run("shows_an_admin_the_users_zone", func(t *testing.T) {
			s := e.series(t, e.admin, b.ID, "steps", "period=week&from=2030-03-04")
			assert.Equal(t, "Asia/Kolkata", s.Timezone)
			assert.Equal(t, 320.0, s.Buckets[2].Value)
		})

		u := api + "/users/" + a.ID + "/metrics/steps?"
		e.run(t,
			as("lets_a_read_token_read", http.MethodGet, u+"period=month", e.aRead.Token, nil, http.StatusOK,
				`"period":"month"`, `"from":"2030-02-11"`, `"to":"2030-03-12"`),
			as("rejects_an_unknown_period", http.MethodGet, u+"period=year", a.Token, nil, http.StatusBadRequest, field("period")),
			as("rejects_a_range_that_ends_before_it_starts", http.MethodGet, u+"from=2030-03-10&to=2030-03-01", a.Token, nil,
				http.StatusBadRequest, field("to")),
			as("rejects_too_long_a_range_of_hours", http.MethodGet, u+"period=day&from=2030-01-01&to=2030-03-01", a.Token,
				nil, http.StatusBadRequest, field("to"), "at most 31 days"),
			as("accepts_31_days_of_hours", http.MethodGet, u+"period=day&from=2030-01-01&to=2030-01-31", a.Token, nil,
				http.StatusOK),
			as("rejects_a_date_before_2000", http.MethodGet, u+"from=1999-12-31", a.Token, nil, http.StatusBadRequest,
				field("from")),
			as("rejects_a_malformed_date", http.MethodGet, u+"to=03%2F10%2F2030", a.Token, nil, http.StatusBadRequest,
				field("to")),
			as("answers_404_for_an_unknown_metric", http.MethodGet, api+"/users/"+a.ID+"/metrics/vo2max", a.Token, nil,
				http.StatusNotFound, code("metric_not_found"), "steps, calories_burned"),
			as("hides_another_users_series", http.MethodGet, u, b.Token, nil, http.StatusNotFound, code("user_not_found")),
			as("refuses_anonymous_callers", http.MethodGet, u, "", nil, http.StatusUnauthorized, code("unauthenticated")),
		)
	})
}

func TestLatestMetrics(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a := e.a
		url := api + "/users/" + a.ID + "/metrics"
		e.run(t, as("lists_every_metric_without_samples", http.MethodGet, url, a.Token, nil, http.StatusOK,
			`{"metric":"steps","unit":"count","min":0,"max":100000,"aggregation":"sum","latest":null}`))
		e.post(t, a,
			sample("heart_rate", 60, t0.Add(-3*time.Hour)),
			map[string]any{"metric": "heart_rate", "value": 72, "recorded_at": rfc(t0.Add(-time.Hour)), "source": "watch"},
			sample("heart_rate", 65, t0.Add(-2*time.Hour)),
			sample("steps", 500, t0.Add(-2*time.Hour)),
		)
		e.post(t, e.b, sample("weight_kg", 60, t0.Add(-time.Hour))) // not A's

		resp := e.do(t, as("shows_the_latest_sample_of_each_metric", http.MethodGet, url, a.Token, nil, http.StatusOK))
		list := decode[httpx.List[activity.LatestMetric]](t, resp)
		require.Len(t, list.Items, len(activity.Metrics))
		latest := map[string]*activity.LatestSample{}
		for i, m := range list.Items {
			assert.Equal(t, activity.Metrics[i], m.Metric, "the catalog's order")
			latest[m.Name] = m.Latest
		}
		if assert.NotNil(t, latest["heart_rate"]) {
			assert.Equal(t, 72.0, latest["heart_rate"].Value)
			assert.True(t, t0.Add(-time.Hour).Equal(latest["heart_rate"].RecordedAt))
			assert.Equal(t, "watch", latest["heart_rate"].Source)
		}
		if assert.NotNil(t, latest["steps"]) {
			assert.Equal(t, 500.0, latest["steps"].Value)
			assert.Empty(t, latest["steps"].Source)
		}
		assert.Nil(t, latest["weight_kg"], "another user's sample")
		assert.Nil(t, latest["sleep_minutes"])

		e.run(t,
			as("lets_an_admin_read", http.MethodGet, url, e.admin.Token, nil, http.StatusOK, `"value":72`),
			as("lets_a_read_token_read", http.MethodGet, url, e.aRead.Token, nil, http.StatusOK),
			as("hides_another_users_metrics", http.MethodGet, url, e.b.Token, nil, http.StatusNotFound, code("user_not_found")),
			as("tells_an_admin_about_an_unknown_user", http.MethodGet, api+"/users/"+uuid.NewString()+"/metrics",
				e.admin.Token, nil, http.StatusNotFound, code("user_not_found")),
		)
	})
}
