package users_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestGetProfile(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u, other, admin := e.newUser(t, "prof"), e.newUser(t, "peer"), e.newAdmin(t)
		get := func(name, id, token string, status int, want []string, notWant ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodGet, URL: api + "/users/" + id, Token: token,
				ExpectedStatus: status, ExpectedContent: want, NotExpectedContent: notWant}
		}
		private := []string{`"email":`, `"timezone":`, `"units":`, `"quiet_hours_start":`, `"quiet_hours_end":`, `"biometrics":`}
		e.run(t,
			get("refuses_anonymous_callers", u.ID, "", http.StatusUnauthorized, []string{code("unauthenticated")}),
			get("shows_the_full_profile_to_its_owner", u.ID, u.Token, http.StatusOK,
				[]string{`"user_id":"` + u.ID + `"`, `"username":"` + u.Username + `"`, `"email":"` + u.Email + `"`,
					`"timezone":"UTC"`, `"units":"metric"`, `"quiet_hours_start":"22:00"`, `"quiet_hours_end":"07:00"`,
					`"biometrics":null`, `"role":"customer"`, `"created_at":"`}),
			get("shows_the_public_profile_to_another_user", u.ID, other.Token, http.StatusOK,
				[]string{`"username":"` + u.Username + `"`, `"display_name":`, `"bio":`, `"role":`, `"created_at":`},
				append(private, u.Email)...),
			get("shows_the_full_profile_to_an_admin", u.ID, admin.Token, http.StatusOK, []string{`"email":"` + u.Email + `"`}),
			get("answers_404_for_an_unknown_user", "01890000-0000-7000-8000-000000000000", u.Token,
				http.StatusNotFound, []string{code("user_not_found")}),
		)
	})
}

func TestUpdateProfile(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u, other, admin := e.newUser(t, "upd"), e.newUser(t, "peer"), e.newAdmin(t)
		put := func(name, token string, body any, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodPut, URL: api + "/users/" + u.ID, Token: token,
				Body: body, ExpectedStatus: status, ExpectedContent: want}
		}
		login := func(name, email string, status int) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodPost, URL: api + "/users/login",
				Body: map[string]string{"email": email, "password": password}, ExpectedStatus: status}
		}
		e.run(t,
			put("changes_profile_fields", u.Token, map[string]string{"display_name": "  Ulla  ", "bio": "Runs at dawn.",
				"timezone": "Europe/Paris", "units": "imperial"}, http.StatusOK,
				`"display_name":"Ulla"`, `"bio":"Runs at dawn."`, `"timezone":"Europe/Paris"`, `"units":"imperial"`),
			put("leaves_unset_fields_alone", u.Token, map[string]string{"bio": "Runs at dusk."}, http.StatusOK,
				`"display_name":"Ulla"`, `"bio":"Runs at dusk."`, `"timezone":"Europe/Paris"`),
			put("rejects_an_unknown_time_zone", u.Token, map[string]string{"timezone": "Mars/Olympus_Mons"},
				http.StatusBadRequest, field("timezone")),
			put("rejects_the_local_time_zone", u.Token, map[string]string{"timezone": "Local"},
				http.StatusBadRequest, field("timezone")),
			put("rejects_an_empty_time_zone", u.Token, map[string]string{"timezone": ""},
				http.StatusBadRequest, field("timezone")),
			put("rejects_unknown_units", u.Token, map[string]string{"units": "furlongs"}, http.StatusBadRequest, field("units")),
			put("rejects_a_long_display_name", u.Token, map[string]string{"display_name": strings.Repeat("x", 65)},
				http.StatusBadRequest, field("display_name")),
			put("rejects_a_long_bio", u.Token, map[string]string{"bio": strings.Repeat("x", 501)},
				http.StatusBadRequest, field("bio")),
			put("rejects_an_unknown_field", u.Token, map[string]string{"username": "renamed"},
				http.StatusBadRequest, code("unknown_field")),
			put("rejects_a_wrong_type", u.Token, map[string]any{"bio": 42}, http.StatusBadRequest, code("invalid_type")),
			put("requires_the_password_to_change_the_email", u.Token, map[string]string{"email": "new@example.com"},
				http.StatusBadRequest, field("current_password")),
			put("refuses_a_wrong_password_for_an_email_change", u.Token,
				map[string]string{"email": "new@example.com", "current_password": "not-my-password"},
				http.StatusForbidden, code("wrong_password")),
			put("rejects_an_invalid_email", u.Token, map[string]string{"email": "nope", "current_password": password},
				http.StatusBadRequest, field("email")),
			put("refuses_another_users_email", u.Token, map[string]string{"email": other.Email, "current_password": password},
				http.StatusConflict, code("email_taken")),
			put("changes_the_email_with_the_password", u.Token,
				map[string]string{"email": "New@Example.com", "current_password": password},
				http.StatusOK, `"email":"new@example.com"`),
			login("signs_in_with_the_new_email", "new@example.com", http.StatusOK),
			login("refuses_the_old_email", u.Email, http.StatusUnauthorized),
			put("keeps_the_email_when_resent_unchanged", u.Token,
				map[string]string{"email": "new@example.com", "current_password": password}, http.StatusOK),
			put("hides_the_profile_from_another_user", other.Token, map[string]string{"bio": "pwned"},
				http.StatusNotFound, code("user_not_found")),
			put("lets_an_admin_change_the_email_without_a_password", admin.Token,
				map[string]string{"email": "by-admin@example.com"}, http.StatusOK, `"email":"by-admin@example.com"`),
			put("refuses_anonymous_callers", "", map[string]string{"bio": "x"}, http.StatusUnauthorized),
		)
	})
}

func TestQuietHours(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u, other, admin := e.newUser(t, "quiet"), e.newUser(t, "peer"), e.newAdmin(t)
		profile := api + "/users/" + u.ID
		put := func(name, token string, body any, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodPut, URL: profile, Token: token,
				Body: body, ExpectedStatus: status, ExpectedContent: want}
		}
		hours := func(start, end string) string {
			return `"quiet_hours_start":"` + start + `","quiet_hours_end":"` + end + `"`
		}
		get := func(name, token string, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodGet, URL: profile, Token: token,
				ExpectedStatus: http.StatusOK, ExpectedContent: want}
		}
		// rejects answers 400 naming exactly the fields in want.
		rejects := func(name string, body any, want ...string) testkit.Scenario {
			s := put(name, u.Token, body, http.StatusBadRequest, code("validation_failed"))
			s.After = func(tb testing.TB, resp *testkit.Response) {
				tb.Helper()
				assert.ElementsMatch(tb, want, slices.Collect(maps.Keys(errorOf(tb, resp).Error.Fields)))
			}
			return s
		}
		e.run(t,
			get("starts_with_the_default_quiet_hours", u.Token, hours("22:00", "07:00")),
			put("sets_quiet_hours_across_midnight", u.Token,
				map[string]string{"quiet_hours_start": "23:30", "quiet_hours_end": "06:15"}, http.StatusOK, hours("23:30", "06:15")),
			get("reads_back_the_quiet_hours", u.Token, hours("23:30", "06:15")),
			put("changes_only_the_end", u.Token, map[string]string{"quiet_hours_end": "08:00"}, http.StatusOK,
				hours("23:30", "08:00")),
			put("leaves_quiet_hours_alone_on_null", u.Token, map[string]any{"quiet_hours_start": nil, "bio": "x"},
				http.StatusOK, hours("23:30", "08:00")),
			put("accepts_quiet_hours_within_a_day", u.Token,
				map[string]string{"quiet_hours_start": "00:00", "quiet_hours_end": "23:59"}, http.StatusOK, hours("00:00", "23:59")),
			put("accepts_equal_bounds_as_no_quiet_hours", u.Token,
				map[string]string{"quiet_hours_start": "12:00", "quiet_hours_end": "12:00"}, http.StatusOK, hours("12:00", "12:00")),
			rejects("rejects_hour_24", map[string]string{"quiet_hours_start": "24:00"}, "quiet_hours_start"),
			rejects("rejects_minute_60", map[string]string{"quiet_hours_end": "07:60"}, "quiet_hours_end"),
			rejects("rejects_a_single_digit_hour", map[string]string{"quiet_hours_start": "7:00"}, "quiet_hours_start"),
			rejects("rejects_seconds", map[string]string{"quiet_hours_end": "07:00:00"}, "quiet_hours_end"),
			rejects("rejects_an_empty_time", map[string]string{"quiet_hours_start": ""}, "quiet_hours_start"),
			rejects("rejects_a_twelve_hour_time", map[string]string{"quiet_hours_end": "7pm"}, "quiet_hours_end"),
			rejects("names_both_bad_bounds", map[string]string{"quiet_hours_start": "25:00", "quiet_hours_end": "-1:00"},
				"quiet_hours_start", "quiet_hours_end"),
			rejects("rejects_the_update_with_another_bad_field", map[string]string{"quiet_hours_start": "21:00", "units": "furlongs"},
				"units"),
			put("rejects_a_wrong_type", u.Token, map[string]any{"quiet_hours_start": 2200}, http.StatusBadRequest,
				code("invalid_type"), field("quiet_hours_start")),
			get("keeps_quiet_hours_after_rejected_updates", u.Token, hours("12:00", "12:00")),
			put("refuses_another_user", other.Token, map[string]string{"quiet_hours_start": "01:00"}, http.StatusNotFound,
				code("user_not_found")),
			testkit.Scenario{Name: "hides_quiet_hours_from_another_user", Method: http.MethodGet, URL: profile,
				Token: other.Token, ExpectedStatus: http.StatusOK, NotExpectedContent: []string{"quiet_hours"}},
			put("lets_an_admin_set_them", admin.Token, map[string]string{"quiet_hours_start": "21:45"}, http.StatusOK,
				hours("21:45", "12:00")),
			testkit.Scenario{Name: "shows_quiet_hours_in_the_admin_list", Method: http.MethodGet,
				URL: api + "/admin/users?q=" + u.Username, Token: admin.Token, ExpectedStatus: http.StatusOK,
				ExpectedContent: []string{`"email":"` + u.Email + `"`, hours("21:45", "12:00")}},
		)
	})
}

func TestDeleteAccount(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u, other, admin, victim := e.newUser(t, "leaver"), e.newUser(t, "peer"), e.newAdmin(t), e.newUser(t, "removed")
		tok := e.newToken(t, u, []string{"read", "write"}, nil)
		victimTok := e.newToken(t, victim, []string{"read"}, nil)
		del := func(name, id, token string, body any, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodDelete, URL: api + "/users/" + id, Token: token,
				Body: body, ExpectedStatus: status, ExpectedContent: want}
		}
		get := func(name, id, token string, status int) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodGet, URL: api + "/users/" + id, Token: token,
				ExpectedStatus: status}
		}
		login := func(name string, who *user) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodPost, URL: api + "/users/login",
				Body:           map[string]string{"email": who.Email, "password": who.Password},
				ExpectedStatus: http.StatusUnauthorized, ExpectedContent: []string{code("invalid_credentials")}}
		}
		pw := map[string]string{"password": password}
		e.run(t,
			del("hides_the_account_from_another_user", u.ID, other.Token, pw, http.StatusNotFound, code("user_not_found")),
			del("refuses_an_api_token", u.ID, tok.Token, pw, http.StatusForbidden, code("session_required")),
			del("requires_the_password", u.ID, u.Token, nil, http.StatusBadRequest, field("password")),
			del("refuses_a_wrong_password", u.ID, u.Token, map[string]string{"password": "not-my-password"},
				http.StatusForbidden, code("wrong_password"), field("password")),
			del("deletes_my_account_with_my_password", u.ID, u.Token, pw, http.StatusAccepted, `"saga_id":"`),
			login("refuses_to_sign_in_afterwards", u),
			get("rejects_the_accounts_session", u.ID, u.Token, http.StatusUnauthorized),
			get("rejects_the_accounts_api_token", u.ID, tok.Token, http.StatusUnauthorized),
			get("hides_the_profile_from_others", u.ID, other.Token, http.StatusNotFound),
			get("hides_the_profile_from_admins", u.ID, admin.Token, http.StatusNotFound),
			del("lets_an_admin_delete_without_a_password", victim.ID, admin.Token, nil, http.StatusAccepted),
			login("refuses_the_admin_deleted_account_a_sign_in", victim),
			get("rejects_the_admin_deleted_accounts_session", victim.ID, victim.Token, http.StatusUnauthorized),
			get("rejects_the_admin_deleted_accounts_api_token", victim.ID, victimTok.Token, http.StatusUnauthorized),
			del("answers_404_for_a_deleted_account", victim.ID, admin.Token, nil, http.StatusNotFound),
		)
		// The users.delete_account saga erases the personal data after the
		// 202 and releases the email and username.
		require.Eventually(t, func() bool {
			var n int64
			require.NoError(t, e.db.Read(context.Background()).Table("users_accounts").
				Where("email = ?", u.Email).Count(&n).Error)
			return n == 0
		}, 30*time.Second, 10*time.Millisecond, "the saga erases the account's email")
		e.run(t, testkit.Scenario{Name: "releases_a_deleted_accounts_email", Method: http.MethodPost,
			URL: api + "/users/register", Body: map[string]string{"username": "newcomer", "email": u.Email, "password": password},
			ExpectedStatus: http.StatusCreated})
	})
}

func TestBiometrics(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u, other, admin := e.newUser(t, "bio"), e.newUser(t, "peer"), e.newAdmin(t)
		url := api + "/users/" + u.ID + "/biometrics"
		put := func(name string, body any, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodPut, URL: url, Token: u.Token, Body: body,
				ExpectedStatus: status, ExpectedContent: want}
		}
		get := func(name, token string, status int, want []string, notWant ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodGet, URL: url, Token: token,
				ExpectedStatus: status, ExpectedContent: want, NotExpectedContent: notWant}
		}
		history := func(n int) func(testing.TB, *testkit.Response) {
			return func(tb testing.TB, resp *testkit.Response) {
				tb.Helper()
				var b struct {
					WeightHistory []struct {
						WeightKG   float64 `json:"weight_kg"`
						MeasuredAt string  `json:"measured_at"`
					} `json:"weight_history"`
				}
				resp.Decode(tb, &b)
				if len(b.WeightHistory) != n {
					tb.Errorf("weight history has %d entries, want %d: %s", len(b.WeightHistory), n, resp)
				}
			}
		}
		withHistory := func(s testkit.Scenario, n int) testkit.Scenario { s.After = history(n); return s }
		advance := func(s testkit.Scenario) testkit.Scenario {
			s.Before = func(testing.TB) { e.clock.Advance(24 * time.Hour) }
			return s
		}
		e.run(t,
			withHistory(get("starts_empty", u.Token, http.StatusOK,
				[]string{`"height_cm":null`, `"weight_kg":null`, `"weight_history":[]`}), 0),
			withHistory(put("records_measurements", map[string]any{"height_cm": 180, "weight_kg": 80.5,
				"birth_date": "1990-04-23", "sex": "female"}, http.StatusOK,
				`"height_cm":180`, `"weight_kg":80.5`, `"birth_date":"1990-04-23"`, `"sex":"female"`,
				`"measured_at":"2030-03-01T09:00:00Z"`), 1),
			withHistory(advance(put("keeps_the_history_when_the_weight_is_unchanged", map[string]any{"weight_kg": 80.5},
				http.StatusOK)), 1),
			withHistory(advance(put("keeps_the_history_when_only_the_height_changes", map[string]any{"height_cm": 181},
				http.StatusOK, `"height_cm":181`, `"weight_kg":80.5`)), 1),
			withHistory(advance(put("appends_a_dated_entry_when_the_weight_changes", map[string]any{"weight_kg": 79},
				http.StatusOK, `"weight_history":[{"weight_kg":79,"measured_at":"2030-03-04T09:00:00Z"},{"weight_kg":80.5`)), 2),
			withHistory(get("returns_the_latest_values_and_the_history", u.Token, http.StatusOK,
				[]string{`"height_cm":181`, `"weight_kg":79`, `"birth_date":"1990-04-23"`}), 2),
			testkit.Scenario{Name: "summarizes_biometrics_in_the_full_profile", Method: http.MethodGet,
				URL: api + "/users/" + u.ID, Token: u.Token, ExpectedStatus: http.StatusOK,
				ExpectedContent: []string{`"biometrics":{"height_cm":181,"weight_kg":79,"age":39,"sex":"female"}`}},
			put("rejects_a_short_height", map[string]any{"height_cm": 49.9}, http.StatusBadRequest, field("height_cm")),
			put("rejects_a_tall_height", map[string]any{"height_cm": 273}, http.StatusBadRequest, field("height_cm")),
			put("rejects_a_light_weight", map[string]any{"weight_kg": 19}, http.StatusBadRequest, field("weight_kg")),
			put("rejects_a_heavy_weight", map[string]any{"weight_kg": 501}, http.StatusBadRequest, field("weight_kg")),
			put("rejects_a_birth_date_before_1900", map[string]any{"birth_date": "1899-12-31"}, http.StatusBadRequest, field("birth_date")),
			put("rejects_a_birth_date_under_five_years_ago", map[string]any{"birth_date": "2026-01-01"},
				http.StatusBadRequest, field("birth_date")),
			put("rejects_a_malformed_birth_date", map[string]any{"birth_date": "23/04/1990"}, http.StatusBadRequest, field("birth_date")),
			put("rejects_an_unknown_sex", map[string]any{"sex": "robot"}, http.StatusBadRequest, field("sex")),
			put("rejects_a_wrong_type", map[string]any{"height_cm": "tall"}, http.StatusBadRequest, code("invalid_type")),
			put("rejects_an_unknown_field", map[string]any{"bmi": 22}, http.StatusBadRequest, code("unknown_field")),
			withHistory(get("keeps_values_after_rejected_updates", u.Token, http.StatusOK,
				[]string{`"height_cm":181`, `"weight_kg":79`}), 2),
			get("hides_biometrics_from_another_user", other.Token, http.StatusNotFound, []string{code("user_not_found")}, `"height_cm"`),
			testkit.Scenario{Name: "refuses_updates_from_another_user", Method: http.MethodPut, URL: url, Token: other.Token,
				Body: map[string]any{"weight_kg": 60}, ExpectedStatus: http.StatusNotFound},
			get("shows_biometrics_to_an_admin", admin.Token, http.StatusOK, []string{`"weight_kg":79`}),
			testkit.Scenario{Name: "lets_an_admin_record_a_weight", Method: http.MethodPut, URL: url, Token: admin.Token,
				Body: map[string]any{"weight_kg": 78}, ExpectedStatus: http.StatusOK, After: history(3)},
			get("refuses_anonymous_callers", "", http.StatusUnauthorized, nil),
		)
	})
}

func TestProfileAgeTurnsOnTheBirthday(t *testing.T) {
	t.Parallel()
	// The clock moves by years here; passwords must not expire on the way.
	e := newEnvOn(t, dbtest.New(t), func(d *users.Deps) { d.Auth.PasswordMaxAge = 100 * 365 * 24 * time.Hour })
	u := e.newUser(t, "aging")
	e.do(t, testkit.Scenario{Method: http.MethodPut, URL: api + "/users/" + u.ID + "/biometrics", Token: u.Token,
		Body: map[string]string{"birth_date": "1990-03-01"}, ExpectedStatus: http.StatusOK})
	age := func(name string, at time.Time, want int) {
		t.Run(name, func(t *testing.T) {
			e.clock.Advance(at.Sub(e.clock.Now()))
			e.login(t, u) // sessions last a week; the clock moves by years
			e.do(t, testkit.Scenario{Method: http.MethodGet, URL: api + "/users/" + u.ID, Token: u.Token,
				ExpectedStatus: http.StatusOK, ExpectedContent: []string{`"age":` + strconv.Itoa(want) + `,`}})
		})
	}
	age("is_forty_on_the_birthday", time.Date(2030, time.March, 1, 12, 0, 0, 0, time.UTC), 40)
	age("is_forty_on_the_day_before_the_next_birthday", time.Date(2031, time.February, 28, 12, 0, 0, 0, time.UTC), 40)
	age("is_forty_one_on_the_next_birthday", time.Date(2031, time.March, 1, 12, 0, 0, 0, time.UTC), 41)
	// In a leap year 29 February has the day-of-year number 1 March has in
	// other years, which a day-of-year comparison gets wrong.
	age("is_still_forty_one_on_a_leap_day", time.Date(2032, time.February, 29, 12, 0, 0, 0, time.UTC), 41)
	age("is_forty_two_on_the_birthday_after_a_leap_day", time.Date(2032, time.March, 1, 12, 0, 0, 0, time.UTC), 42)
}
