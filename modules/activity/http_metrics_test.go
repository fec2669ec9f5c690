package activity_test

import (
	"fmt"
	"net/http"
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
