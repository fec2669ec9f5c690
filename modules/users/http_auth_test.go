package users_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/testkit"
)

func TestRegister(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		taken := e.newUser(t, "taken")
		customer := e.newUser(t, "cust")
		admin := e.newAdmin(t)
		reg := func(username, email, pw string) map[string]string {
			return map[string]string{"username": username, "email": email, "password": pw}
		}
		post := func(name string, body any, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodPost, URL: api + "/users/register",
				Body: body, ExpectedStatus: status, ExpectedContent: want}
		}
		huge := []byte(`{"username":"` + strings.Repeat("a", 2<<20) + `"}`)
		e.run(t,
			post("registers_a_customer_with_a_normalized_email", reg("alice", "Alice@Example.COM", password),
				http.StatusCreated, `"username":"alice"`, `"email":"alice@example.com"`, `"role":"customer"`, `"user_id":"`),
			post("registers_an_instructor", map[string]string{"username": "ivan", "email": "ivan@example.com",
				"password": password, "role": "instructor"}, http.StatusCreated, `"role":"instructor"`),
			post("lower_cases_the_username", reg("BoB", "bob@example.com", password), http.StatusCreated, `"username":"bob"`),
			post("rejects_a_taken_email_in_any_case", reg("someone", strings.ToUpper(taken.Email), password),
				http.StatusConflict, code("email_taken"), field("email")),
			post("rejects_a_taken_username", reg(taken.Username, "other@example.com", password),
				http.StatusConflict, code("username_taken"), field("username")),
			post("rejects_a_short_username", reg("ab", "ab@example.com", password),
				http.StatusBadRequest, code("validation_failed"), field("username")),
			post("rejects_a_long_username", reg(strings.Repeat("a", 33), "long@example.com", password),
				http.StatusBadRequest, field("username")),
			post("rejects_a_username_with_spaces", reg("bad name", "bad@example.com", password),
				http.StatusBadRequest, field("username")),
			post("rejects_a_malformed_email", reg("carol", "not-an-email", password), http.StatusBadRequest, field("email")),
			post("rejects_an_email_without_a_domain_dot", reg("carol", "carol@localhost", password),
				http.StatusBadRequest, field("email")),
			post("rejects_an_email_with_a_display_name", reg("carol", "Carol <carol@example.com>", password),
				http.StatusBadRequest, field("email")),
			post("rejects_a_short_password", reg("carol", "carol@example.com", "short"),
				http.StatusBadRequest, field("password"), "at least 10"),
			post("rejects_a_common_password", reg("carol", "carol@example.com", "Password123"),
				http.StatusBadRequest, field("password"), "common"),
			post("reports_every_bad_field_at_once", reg("x", "nope", "short"),
				http.StatusBadRequest, field("username"), field("email"), field("password")),
			post("rejects_an_unknown_role", map[string]string{"username": "carol", "email": "carol@example.com",
				"password": password, "role": "superuser"}, http.StatusBadRequest, field("role")),
			post("refuses_an_admin_role_to_anonymous_callers", map[string]string{"username": "mallory",
				"email": "mallory@example.com", "password": password, "role": "admin"}, http.StatusForbidden, code("role_forbidden")),
			testkit.Scenario{Name: "refuses_an_admin_role_to_customers", Method: http.MethodPost, URL: api + "/users/register",
				Token: customer.Token, Body: map[string]string{"username": "mallory", "email": "mallory@example.com",
					"password": password, "role": "admin"},
				ExpectedStatus: http.StatusForbidden, ExpectedContent: []string{code("role_forbidden")}},
			testkit.Scenario{Name: "lets_an_admin_create_an_admin", Method: http.MethodPost, URL: api + "/users/register",
				Token: admin.Token, Body: map[string]string{"username": "root2", "email": "root2@example.com",
					"password": password, "role": "admin"},
				ExpectedStatus: http.StatusCreated, ExpectedContent: []string{`"role":"admin"`}},
			testkit.Scenario{Name: "rejects_a_bad_bearer_token", Method: http.MethodPost, URL: api + "/users/register",
				Token: "not-a-token", Body: reg("dave", "dave@example.com", password),
				ExpectedStatus: http.StatusUnauthorized, ExpectedContent: []string{code("unauthenticated")}},
			post("rejects_malformed_json", `{"username":`, http.StatusBadRequest, code("invalid_json")),
			post("rejects_a_json_array", `[]`, http.StatusBadRequest, code("invalid_json")),
			post("rejects_two_json_values", `{} {}`, http.StatusBadRequest, code("invalid_json")),
			post("rejects_an_unknown_field", map[string]string{"username": "dave", "email": "dave@example.com",
				"password": password, "nickname": "d"}, http.StatusBadRequest, code("unknown_field"), "nickname"),
			post("rejects_a_field_of_the_wrong_type", map[string]any{"username": 5, "email": "dave@example.com",
				"password": password}, http.StatusBadRequest, code("invalid_type"), field("username")),
			testkit.Scenario{Name: "rejects_a_body_without_a_content_type", Method: http.MethodPost, URL: api + "/users/register",
				Body: reg("dave", "dave@example.com", password), Headers: map[string]string{"Content-Type": ""},
				ExpectedStatus: http.StatusUnsupportedMediaType, ExpectedContent: []string{code("unsupported_media_type")}},
			testkit.Scenario{Name: "rejects_a_text_body", Method: http.MethodPost, URL: api + "/users/register",
				Body: "username=dave", Headers: map[string]string{"Content-Type": "text/plain"},
				ExpectedStatus: http.StatusUnsupportedMediaType},
			post("rejects_a_body_over_the_limit", huge, http.StatusRequestEntityTooLarge, code("body_too_large")),
			post("rejects_a_streamed_body_over_the_limit", bytes.NewReader(huge),
				http.StatusRequestEntityTooLarge, code("body_too_large")),
			testkit.Scenario{Name: "answers_405_for_a_wrong_method", Method: http.MethodPatch, URL: api + "/users/register",
				ExpectedStatus: http.StatusMethodNotAllowed},
		)
	})
}

func TestLogin(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u := e.newUser(t, "login")
		login := func(email, pw string) testkit.Scenario {
			return testkit.Scenario{Method: http.MethodPost, URL: api + "/users/login",
				Body: map[string]string{"email": email, "password": pw}}
		}
		ok := login(strings.ToUpper(u.Email), u.Password)
		ok.Name, ok.ExpectedStatus = "signs_in_with_any_email_case", http.StatusOK
		ok.ExpectedContent = []string{`"token":"`, `"user_id":"` + u.ID + `"`, `"expires_at":"`, `"password_expired":false`}
		ok.After = func(tb testing.TB, resp *testkit.Response) {
			var res loginResult
			resp.Decode(tb, &res)
			assert.Equal(tb, start.Add(e.cfg.SessionTTL), res.ExpiresAt.UTC(), "session lifetime")
		}
		missing := login("", "")
		missing.Name, missing.ExpectedStatus = "refuses_empty_credentials", http.StatusUnauthorized
		e.run(t, ok, missing)

		t.Run("answers_unknown_email_and_wrong_password_alike", func(t *testing.T) {
			wrong := login(u.Email, "wrong-password-here")
			wrong.ExpectedStatus = http.StatusUnauthorized
			unknown := login("nobody@example.com", u.Password)
			unknown.ExpectedStatus = http.StatusUnauthorized
			a, b := errorOf(t, e.do(t, wrong)), errorOf(t, e.do(t, unknown))
			assert.Equal(t, "invalid_credentials", a.Error.Code)
			assert.Equal(t, a, b)
		})
	})
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	attempt := func(email, pw, addr string, status int) testkit.Scenario {
		return testkit.Scenario{Method: http.MethodPost, URL: api + "/users/login", RemoteAddr: addr,
			Body: map[string]string{"email": email, "password": pw}, ExpectedStatus: status}
	}
	checkRetryAfter := func(tb testing.TB, resp *testkit.Response) {
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		require.NoError(tb, err, "Retry-After %q", resp.Header.Get("Retry-After"))
		assert.True(tb, secs > 0 && secs <= 15*60+1, "Retry-After %d", secs)
		assert.Contains(tb, resp.String(), code("too_many_attempts"))
	}

	t.Run("blocks_an_account_after_ten_failures_from_anywhere", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		u, other := e.newUser(t, "victim"), e.newUser(t, "bystander")
		for i := range 10 {
			e.do(t, attempt(u.Email, "wrong-password-here", fmt.Sprintf("198.51.100.%d:4000", i+1), http.StatusUnauthorized))
		}
		blocked := attempt(u.Email, u.Password, "203.0.113.50:4000", http.StatusTooManyRequests)
		blocked.After = checkRetryAfter
		e.do(t, blocked)
		e.do(t, attempt(other.Email, other.Password, "198.51.100.1:4000", http.StatusOK))

		e.clock.Advance(e.cfg.LoginWindow)
		e.do(t, attempt(u.Email, u.Password, "203.0.113.50:4000", http.StatusOK))
	})

	t.Run("blocks_a_client_address_after_ten_failures", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		u := e.newUser(t, "shared")
		const addr = "203.0.113.9:5000"
		for i := range 10 {
			e.do(t, attempt(fmt.Sprintf("nobody%d@example.com", i), "wrong-password-here", addr, http.StatusUnauthorized))
		}
		blocked := attempt(u.Email, u.Password, addr, http.StatusTooManyRequests)
		blocked.After = checkRetryAfter
		e.do(t, blocked)
		e.do(t, attempt(u.Email, u.Password, "203.0.113.10:5000", http.StatusOK))

		e.clock.Advance(e.cfg.LoginWindow)
		e.do(t, attempt(u.Email, u.Password, addr, http.StatusOK))
	})

	t.Run("forgets_an_accounts_failures_after_a_success", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		u := e.newUser(t, "forgetful")
		for round := range 2 {
			for i := range 9 {
				e.do(t, attempt(u.Email, "wrong-password-here", fmt.Sprintf("198.51.%d.%d:4000", round, i+1), http.StatusUnauthorized))
			}
			e.do(t, attempt(u.Email, u.Password, fmt.Sprintf("198.51.%d.100:4000", round), http.StatusOK))
		}
	})
}

func TestSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u, other := e.newUser(t, "sess"), e.newUser(t, "othersess")
		first, firstID := u.Token, u.SessionID
		second := e.login(t, u)
		u.Token, u.SessionID = first, firstID
		get := func(name, token string, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodGet, URL: api + "/auth/session", Token: token,
				ExpectedStatus: status, ExpectedContent: want}
		}
		var firstSession string
		e.run(t,
			get("refuses_anonymous_callers", "", http.StatusUnauthorized, code("unauthenticated")),
			get("refuses_a_forged_token", first[:len(first)-4]+"AAAA", http.StatusUnauthorized),
			testkit.Scenario{Name: "describes_the_current_session", Method: http.MethodGet, URL: api + "/auth/session",
				Token: first, ExpectedStatus: http.StatusOK,
				ExpectedContent: []string{`"user_id":"` + u.ID + `"`, `"role":"customer"`, `"current":true`,
					`"created_at":"`, `"expires_at":"`, `"last_seen_at":"`},
				After: func(tb testing.TB, resp *testkit.Response) {
					var s struct {
						SessionID string `json:"session_id"`
					}
					resp.Decode(tb, &s)
					firstSession = s.SessionID
				}},
			testkit.Scenario{Name: "lists_my_sessions_only", Method: http.MethodGet, URL: api + "/auth/sessions",
				Token: first, ExpectedStatus: http.StatusOK,
				ExpectedContent:    []string{second.SessionID, `"items":[`},
				NotExpectedContent: []string{other.SessionID}},
			testkit.Scenario{Name: "hides_another_users_session", Method: http.MethodDelete,
				URL: api + "/auth/sessions/" + other.SessionID, Token: first,
				ExpectedStatus: http.StatusNotFound, ExpectedContent: []string{code("session_not_found")}},
			get("leaves_the_other_users_session_alive", other.Token, http.StatusOK),
			testkit.Scenario{Name: "answers_404_for_an_unknown_session", Method: http.MethodDelete,
				URL: api + "/auth/sessions/nope", Token: first, ExpectedStatus: http.StatusNotFound},
			testkit.Scenario{Name: "revokes_another_of_my_sessions", Method: http.MethodDelete,
				URL: api + "/auth/sessions/" + second.SessionID, Token: first, ExpectedStatus: http.StatusNoContent},
			get("rejects_the_revoked_sessions_token", second.Token, http.StatusUnauthorized),
			testkit.Scenario{Name: "forgets_the_revoked_session_in_the_list", Method: http.MethodGet,
				URL: api + "/auth/sessions", Token: first, ExpectedStatus: http.StatusOK,
				NotExpectedContent: []string{second.SessionID}},
		)
		assert.Equal(t, u.SessionID, firstSession)

		t.Run("extends_the_session_with_a_new_token", func(t *testing.T) {
			e.clock.Advance(time.Hour)
			resp := e.do(t, testkit.Scenario{Method: http.MethodPut, URL: api + "/auth/session", Token: first,
				ExpectedStatus: http.StatusOK})
			var res loginResult
			resp.Decode(t, &res)
			assert.NotEqual(t, first, res.Token)
			assert.Equal(t, u.SessionID, res.SessionID)
			assert.Equal(t, e.clock.Now().Add(e.cfg.SessionTTL), res.ExpiresAt.UTC())
			e.do(t, get("", res.Token, http.StatusOK, `"session_id":"`+u.SessionID+`"`))
			u.Token = res.Token
		})

		t.Run("logs_out_and_rejects_every_token_of_the_session", func(t *testing.T) {
			e.do(t, testkit.Scenario{Method: http.MethodDelete, URL: api + "/auth/session", Token: u.Token,
				ExpectedStatus: http.StatusNoContent})
			e.do(t, get("", u.Token, http.StatusUnauthorized))
			e.do(t, get("", first, http.StatusUnauthorized))
			e.do(t, testkit.Scenario{Method: http.MethodGet, URL: api + "/users/" + u.ID, Token: u.Token,
				ExpectedStatus: http.StatusUnauthorized})
			e.do(t, testkit.Scenario{Method: http.MethodDelete, URL: api + "/auth/session", Token: u.Token,
				ExpectedStatus: http.StatusUnauthorized})
		})

		t.Run("expires_a_session_after_its_lifetime", func(t *testing.T) {
			e.login(t, u)
			e.do(t, get("", u.Token, http.StatusOK))
			e.clock.Advance(e.cfg.SessionTTL + time.Minute)
			e.do(t, get("", u.Token, http.StatusUnauthorized))
		})
	})
}

func TestRegisterAdminNeedsAFullAdminCredential(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.newAdmin(t)
	read := e.newToken(t, admin, []string{"read"}, nil)
	write := e.newToken(t, admin, []string{"write"}, nil)
	n := 0
	register := func(name, token string, status int, want ...string) testkit.Scenario {
		n++
		return testkit.Scenario{Name: name, Method: http.MethodPost, URL: api + "/users/register", Token: token,
			Body: map[string]string{"username": fmt.Sprintf("boss%d", n), "email": fmt.Sprintf("boss%d@example.com", n),
				"password": password, "role": "admin"},
			ExpectedStatus: status, ExpectedContent: want}
	}
	e.run(t,
		register("refuses_a_read_only_admin_token", read.Token, http.StatusForbidden, code("role_forbidden"), "write scope"),
		register("accepts_an_admin_token_with_the_write_scope", write.Token, http.StatusCreated, `"role":"admin"`),
	)
	e.clock.Advance(e.cfg.PasswordMaxAge + time.Hour)
	e.login(t, admin)
	e.run(t, register("refuses_an_admin_whose_password_expired", admin.Token, http.StatusForbidden,
		code("role_forbidden"), "password has expired"))
}
