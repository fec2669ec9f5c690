package activity_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"

	"github.com/fitloop/fitloop/modules/activity"
	"github.com/fitloop/fitloop/platform/testkit"
)

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
