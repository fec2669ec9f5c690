package users_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fitloop/fitloop/platform/testkit"
)

// profileList is a page of the admin user list.
type profileList struct {
	Items []struct {
		UserID   string `json:"user_id"`
		Username string `json:"username"`
		Email    string `json:"email"`
		Disabled bool   `json:"disabled"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func TestAdminUserList(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		admin, customer, zebra := e.newAdmin(t), e.newUser(t, "plain"), e.newUser(t, "zebra")
		for i := range 10 {
			e.newUser(t, fmt.Sprintf("member%c", 'a'+i))
		}
		list := func(name, query, token string, status int, after func(testing.TB, *testkit.Response), want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodGet, URL: api + "/admin/users?" + query, Token: token,
				ExpectedStatus: status, ExpectedContent: want, After: after}
		}
		names := func(want ...string) func(testing.TB, *testkit.Response) {
			return func(tb testing.TB, resp *testkit.Response) {
				var l profileList
				resp.Decode(tb, &l)
				got := []string{}
				for _, it := range l.Items {
					got = append(got, it.Username)
				}
				assert.ElementsMatch(tb, want, got)
			}
		}
		e.run(t,
			list("refuses_anonymous_callers", "", "", http.StatusUnauthorized, nil),
			list("refuses_customers", "", customer.Token, http.StatusForbidden, nil, code("forbidden")),
			list("lists_users_with_their_emails_for_admins", "", admin.Token, http.StatusOK, nil,
				`"email":"`+customer.Email+`"`, `"username":"`+admin.Username+`"`),
			list("searches_by_username", "q=ebr", admin.Token, http.StatusOK, names(zebra.Username)),
			list("searches_by_email_in_any_case", "q="+url.QueryEscape(strings.ToUpper(customer.Email)), admin.Token, http.StatusOK,
				names(customer.Username)),
			list("treats_like_wildcards_literally", "q="+url.QueryEscape("%"), admin.Token, http.StatusOK, names()),
			list("treats_underscores_literally", "q=_", admin.Token, http.StatusOK, names()),
			list("rejects_a_bad_limit", "limit=x", admin.Token, http.StatusBadRequest, nil, field("limit")),
		)

		t.Run("pages_through_every_user_once", func(t *testing.T) {
			seen := map[string]bool{}
			var sizes []int
			cursor := ""
			for range 10 {
				q := url.Values{"limit": {"5"}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				resp := e.do(t, list("", q.Encode(), admin.Token, http.StatusOK, nil))
				var l profileList
				resp.Decode(t, &l)
				sizes = append(sizes, len(l.Items))
				for _, it := range l.Items {
					assert.False(t, seen[it.UserID], "user %s on two pages", it.Username)
					seen[it.UserID] = true
				}
				if cursor = l.NextCursor; cursor == "" {
					break
				}
			}
			assert.Equal(t, []int{5, 5, 3}, sizes)
			assert.Len(t, seen, 13)
		})
	})
}

func TestAdminUpdateUser(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		admin, u, other := e.newAdmin(t), e.newUser(t, "managed"), e.newUser(t, "peer")
		tok := e.newToken(t, u, []string{"read"}, nil)
		adminRead := e.newToken(t, admin, []string{"read"}, nil)
		put := func(name, id, token string, body any, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodPut, URL: api + "/admin/users/" + id, Token: token,
				Body: body, ExpectedStatus: status, ExpectedContent: want}
		}
		get := func(name, url, token string, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodGet, URL: url, Token: token,
				ExpectedStatus: status, ExpectedContent: want}
		}
		login := func(name string, status int) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodPost, URL: api + "/users/login",
				Body: map[string]string{"email": u.Email, "password": password}, ExpectedStatus: status}
		}
		profile := api + "/users/" + u.ID
		e.run(t,
			put("refuses_customers", u.ID, other.Token, map[string]bool{"disabled": true}, http.StatusForbidden),
			put("refuses_a_read_only_admin_token", u.ID, adminRead.Token, map[string]bool{"disabled": true},
				http.StatusForbidden, code("insufficient_scope")),
			put("rejects_an_unknown_role", u.ID, admin.Token, map[string]string{"role": "owner"}, http.StatusBadRequest,
				field("role")),
			put("rejects_an_unknown_field", u.ID, admin.Token, map[string]string{"email": "x@example.com"},
				http.StatusBadRequest, code("unknown_field")),
			put("answers_404_for_an_unknown_user", "01890000-0000-7000-8000-000000000000", admin.Token,
				map[string]bool{"disabled": true}, http.StatusNotFound, code("user_not_found")),
			put("changes_a_role", u.ID, admin.Token, map[string]string{"role": "instructor"}, http.StatusOK,
				`"role":"instructor"`),
			get("applies_the_role_to_live_sessions", api+"/auth/session", u.Token, http.StatusOK, `"role":"instructor"`),
			get("applies_the_role_to_api_tokens", profile, tok.Token, http.StatusOK, `"role":"instructor"`),
			put("refuses_to_disable_themself", admin.ID, admin.Token, map[string]bool{"disabled": true},
				http.StatusConflict, code("cannot_modify_self")),
			put("refuses_to_demote_themself", admin.ID, admin.Token, map[string]string{"role": "customer"},
				http.StatusConflict, code("cannot_modify_self")),
			put("lets_an_admin_keep_their_own_role", admin.ID, admin.Token, map[string]string{"role": "admin"},
				http.StatusOK),
			put("disables_a_user", u.ID, admin.Token, map[string]bool{"disabled": true}, http.StatusOK, `"disabled":true`),
			get("rejects_the_disabled_users_session", profile, u.Token, http.StatusUnauthorized),
			get("rejects_the_disabled_users_api_token", profile, tok.Token, http.StatusUnauthorized),
			login("refuses_the_disabled_user_a_sign_in", http.StatusUnauthorized),
			get("hides_the_disabled_user_from_others", profile, other.Token, http.StatusNotFound),
			get("shows_the_disabled_user_to_admins", profile, admin.Token, http.StatusOK, `"disabled":true`),
			put("enables_the_user_again", u.ID, admin.Token, map[string]bool{"disabled": false}, http.StatusOK,
				`"disabled":false`),
			login("lets_the_enabled_user_sign_in", http.StatusOK),
			get("keeps_the_old_api_token_dead", profile, tok.Token, http.StatusUnauthorized),
		)
	})
}
