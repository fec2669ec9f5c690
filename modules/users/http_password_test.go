package users_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/testkit"
)

const newPassword = "a-brand-new-passphrase"

func TestChangePassword(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u, other := e.newUser(t, "pw"), e.newUser(t, "otherpw")
		current := u.Token
		stale := e.login(t, u)
		u.Token = current
		change := func(name, token, cur, next string, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodPut, URL: api + "/users/" + u.ID + "/password",
				Token: token, Body: map[string]string{"current_password": cur, "new_password": next},
				ExpectedStatus: status, ExpectedContent: want}
		}
		login := func(name, pw string, status int) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodPost, URL: api + "/users/login",
				Body: map[string]string{"email": u.Email, "password": pw}, ExpectedStatus: status}
		}
		session := func(name, token string, status int) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodGet, URL: api + "/auth/session", Token: token,
				ExpectedStatus: status}
		}
		e.run(t,
			change("refuses_anonymous_callers", "", password, newPassword, http.StatusUnauthorized),
			change("hides_another_user", other.Token, password, newPassword, http.StatusNotFound, code("user_not_found")),
			change("refuses_a_wrong_current_password", current, "not-my-password", newPassword,
				http.StatusForbidden, code("wrong_password"), field("current_password")),
			change("requires_the_current_password", current, "", newPassword, http.StatusBadRequest, field("current_password")),
			change("refuses_a_short_new_password", current, password, "short", http.StatusBadRequest, field("new_password")),
			change("refuses_a_common_new_password", current, password, "qwertyuiop", http.StatusBadRequest, field("new_password")),
			change("refuses_the_same_password", current, password, password, http.StatusBadRequest, field("new_password")),
			change("changes_the_password_and_revokes_the_other_sessions", current, password, newPassword,
				http.StatusOK, `"revoked_sessions":1`, `"password_expires_at":"`),
			session("keeps_the_current_session", current, http.StatusOK),
			session("rejects_the_other_session", stale.Token, http.StatusUnauthorized),
			session("leaves_other_users_alone", other.Token, http.StatusOK),
			login("refuses_the_old_password", password, http.StatusUnauthorized),
			login("accepts_the_new_password", newPassword, http.StatusOK),
		)

		admin := e.newAdmin(t)
		const reset = "chosen-by-the-admin"
		e.run(t,
			change("lets_an_admin_reset_it_without_the_current_password", admin.Token, "", reset,
				http.StatusOK, `"revoked_sessions":2`),
			session("ends_every_session_of_the_user", current, http.StatusUnauthorized),
			session("keeps_the_admins_session", admin.Token, http.StatusOK),
			login("accepts_the_reset_password", reset, http.StatusOK),
		)
	})
}

func TestPasswordExpiry(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u := e.newUser(t, "expiring")
		e.clock.Advance(e.cfg.PasswordMaxAge + time.Hour)
		res := e.login(t, u)
		assert.True(t, res.PasswordExpired, "password_expired after auth.password_max_age")

		as := func(name, method, url string, body any, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: method, URL: url, Token: u.Token, Body: body,
				ExpectedStatus: status, ExpectedContent: want}
		}
		me := api + "/users/" + u.ID
		goal := map[string]any{"goal_type": "steps", "target_value": 1000, "target_date": e.clock.date(7)}
		expired := code("password_expired")
		e.run(t,
			as("refuses_the_profile", http.MethodGet, me, nil, http.StatusForbidden, expired),
			as("refuses_a_profile_update", http.MethodPut, me, map[string]string{"bio": "x"}, http.StatusForbidden, expired),
			as("refuses_biometrics", http.MethodGet, me+"/biometrics", nil, http.StatusForbidden, expired),
			as("refuses_goals", http.MethodPost, me+"/goals", goal, http.StatusForbidden, expired),
			as("refuses_tokens", http.MethodGet, me+"/tokens", nil, http.StatusForbidden, expired),
			as("refuses_account_deletion", http.MethodDelete, me, map[string]string{"password": password},
				http.StatusForbidden, expired),
			as("refuses_the_admin_api", http.MethodGet, api+"/admin/users", nil, http.StatusForbidden),
			as("allows_the_current_session", http.MethodGet, api+"/auth/session", nil, http.StatusOK),
			as("allows_the_session_list", http.MethodGet, api+"/auth/sessions", nil, http.StatusOK),
			as("allows_extending_the_session", http.MethodPut, api+"/auth/session", nil, http.StatusOK,
				`"password_expired":true`),
			as("allows_the_password_change", http.MethodPut, me+"/password",
				map[string]string{"current_password": password, "new_password": newPassword}, http.StatusOK),
			as("serves_the_profile_once_the_password_changed", http.MethodGet, me, nil, http.StatusOK, `"email":"`),
			as("accepts_goals_once_the_password_changed", http.MethodPost, me+"/goals", goal, http.StatusCreated),
		)

		u.Password = newPassword
		assert.False(t, e.login(t, u).PasswordExpired, "a fresh password is not expired")
	})
}

func TestPasswordExpiryReachesLiveSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u := e.newUser(t, "livesession")
		me := api + "/users/" + u.ID
		// A session opened an hour before the password expires outlives it.
		e.clock.Advance(e.cfg.PasswordMaxAge - time.Hour)
		require.False(t, e.login(t, u).PasswordExpired)
		get := testkit.Scenario{Method: http.MethodGet, URL: me, Token: u.Token}

		get.Name, get.ExpectedStatus = "serves_the_profile_before_the_expiry", http.StatusOK
		e.run(t, get)
		e.clock.Advance(2 * time.Hour)
		get.Name, get.ExpectedStatus = "restricts_the_same_session_after_the_expiry", http.StatusForbidden
		get.ExpectedContent = []string{code("password_expired")}
		e.run(t, get)
	})
}
