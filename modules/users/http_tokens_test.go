package users_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/fitloop/fitloop/platform/testkit"
)

func TestAPITokens(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u, other, admin := e.newUser(t, "tok"), e.newUser(t, "peer"), e.newAdmin(t)
		tokens := api + "/users/" + u.ID + "/tokens"
		me := api + "/users/" + u.ID
		create := func(name string, body any, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodPost, URL: tokens, Token: u.Token, Body: body,
				ExpectedStatus: status, ExpectedContent: want}
		}
		as := func(name, method, url, token string, body any, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: method, URL: url, Token: token, Body: body,
				ExpectedStatus: status, ExpectedContent: want}
		}
		past := e.clock.Now().Add(-time.Minute)
		e.run(t,
			create("shows_a_new_token_once", map[string]any{"name": "ci", "scopes": []string{"read"}}, http.StatusCreated,
				`"token":"flp_`, `"token_id":"`, `"prefix":"flp_`, `"scopes":["read"]`, `"expires_at":null`),
			create("requires_a_name", map[string]any{"name": "  ", "scopes": []string{"read"}}, http.StatusBadRequest, field("name")),
			create("requires_a_scope", map[string]any{"name": "x", "scopes": []string{}}, http.StatusBadRequest, field("scopes")),
			create("rejects_an_unknown_scope", map[string]any{"name": "x", "scopes": []string{"admin"}}, http.StatusBadRequest,
				field("scopes")),
			create("rejects_a_past_expiry", map[string]any{"name": "x", "scopes": []string{"read"}, "expires_at": past},
				http.StatusBadRequest, field("expires_at")),
			create("rejects_a_malformed_expiry", map[string]any{"name": "x", "scopes": []string{"read"}, "expires_at": "soon"},
				http.StatusBadRequest),
			create("rejects_scopes_of_the_wrong_type", map[string]any{"name": "x", "scopes": "read"}, http.StatusBadRequest,
				code("invalid_type")),
			as("hides_tokens_from_another_user", http.MethodGet, tokens, other.Token, nil, http.StatusNotFound),
			as("refuses_creating_for_another_user", http.MethodPost, tokens, other.Token,
				map[string]any{"name": "x", "scopes": []string{"read"}}, http.StatusNotFound),
			as("refuses_anonymous_callers", http.MethodGet, tokens, "", nil, http.StatusUnauthorized),
			as("lets_an_admin_list_them", http.MethodGet, tokens, admin.Token, nil, http.StatusOK, `"name":"ci"`),
			as("answers_404_to_an_admin_for_an_unknown_user", http.MethodGet,
				"/api/v1/users/01900000-0000-7000-8000-000000000000/tokens", admin.Token, nil, http.StatusNotFound,
				code("user_not_found")),
		)

		read := e.newToken(t, u, []string{"read"}, nil)
		write := e.newToken(t, u, []string{"read", "write"}, nil)
		otherTok := e.newToken(t, other, []string{"read", "write"}, nil)
		goal := map[string]any{"goal_type": "steps", "target_value": 100, "target_date": e.clock.date(3)}
		forbidden := func(name, method, url, token string, body any, c string) testkit.Scenario {
			return as(name, method, url, token, body, http.StatusForbidden, code(c))
		}
		e.run(t,
			testkit.Scenario{Name: "lists_tokens_without_secrets", Method: http.MethodGet, URL: tokens, Token: u.Token,
				ExpectedStatus: http.StatusOK, ExpectedContent: []string{read.TokenID, write.TokenID, read.Prefix},
				NotExpectedContent: []string{read.Token, write.Token}},
			as("authenticates_with_a_read_token", http.MethodGet, me, read.Token, nil, http.StatusOK, `"email":"`+u.Email+`"`),
			as("reads_goals_with_a_read_token", http.MethodGet, me+"/goals", read.Token, nil, http.StatusOK),
			forbidden("refuses_writes_to_a_read_token", http.MethodPost, me+"/goals", read.Token, goal, "insufficient_scope"),
			forbidden("refuses_profile_writes_to_a_read_token", http.MethodPut, me, read.Token,
				map[string]string{"bio": "x"}, "insufficient_scope"),
			as("writes_with_a_write_token", http.MethodPost, me+"/goals", write.Token, goal, http.StatusCreated),
			forbidden("refuses_token_listing_to_a_token", http.MethodGet, tokens, write.Token, nil, "session_required"),
			forbidden("refuses_token_creation_to_a_token", http.MethodPost, tokens, write.Token,
				map[string]any{"name": "x", "scopes": []string{"read"}}, "session_required"),
			forbidden("refuses_token_deletion_to_a_token", http.MethodDelete, tokens+"/"+read.TokenID, write.Token, nil,
				"session_required"),
			forbidden("refuses_the_session_to_a_token", http.MethodGet, api+"/auth/session", write.Token, nil, "session_required"),
			forbidden("refuses_the_session_list_to_a_token", http.MethodGet, api+"/auth/sessions", write.Token, nil,
				"session_required"),
			forbidden("refuses_logout_to_a_token", http.MethodDelete, api+"/auth/session", write.Token, nil, "session_required"),
			forbidden("refuses_a_password_change_to_a_token", http.MethodPut, me+"/password", write.Token,
				map[string]string{"current_password": password, "new_password": newPassword}, "session_required"),
			as("hides_my_goals_from_another_users_token", http.MethodGet, me+"/goals", otherTok.Token, nil, http.StatusNotFound),
			as("hides_my_biometrics_from_another_users_token", http.MethodGet, me+"/biometrics", otherTok.Token, nil,
				http.StatusNotFound),
			as("shows_only_my_public_profile_to_another_users_token", http.MethodGet, me, otherTok.Token, nil, http.StatusOK),
			as("refuses_deleting_another_users_token", http.MethodDelete, api+"/users/"+other.ID+"/tokens/"+otherTok.TokenID,
				u.Token, nil, http.StatusNotFound),
			as("hides_a_token_under_the_wrong_owner", http.MethodDelete, api+"/users/"+other.ID+"/tokens/"+read.TokenID,
				other.Token, nil, http.StatusNotFound, code("token_not_found")),
			as("rejects_an_unknown_token", http.MethodGet, me, "flp_0000000000000000000000000000000000000000000000000000000000000000",
				nil, http.StatusUnauthorized),
			as("deletes_a_token", http.MethodDelete, tokens+"/"+read.TokenID, u.Token, nil, http.StatusNoContent),
			as("rejects_a_deleted_token", http.MethodGet, me, read.Token, nil, http.StatusUnauthorized),
			as("answers_404_deleting_twice", http.MethodDelete, tokens+"/"+read.TokenID, u.Token, nil, http.StatusNotFound),
			testkit.Scenario{Name: "drops_a_deleted_token_from_the_list", Method: http.MethodGet, URL: tokens, Token: u.Token,
				ExpectedStatus: http.StatusOK, ExpectedContent: []string{write.TokenID},
				NotExpectedContent: []string{read.TokenID}},
			as("keeps_the_other_users_token_working", http.MethodGet, api+"/users/"+other.ID, otherTok.Token, nil, http.StatusOK),
		)

		t.Run("records_when_a_token_was_last_used", func(t *testing.T) {
			resp := e.do(t, testkit.Scenario{Method: http.MethodGet, URL: tokens, Token: u.Token, ExpectedStatus: http.StatusOK})
			var l struct {
				Items []struct {
					TokenID    string     `json:"token_id"`
					LastUsedAt *time.Time `json:"last_used_at"`
				} `json:"items"`
			}
			resp.Decode(t, &l)
			for _, it := range l.Items {
				if it.TokenID == write.TokenID {
					assert.NotNil(t, it.LastUsedAt, "last_used_at of a used token")
					return
				}
			}
			t.Errorf("token %s missing from %s", write.TokenID, resp)
		})

		t.Run("rejects_a_token_after_its_expiry", func(t *testing.T) {
			exp := e.clock.Now().Add(time.Hour)
			short := e.newToken(t, u, []string{"read"}, &exp)
			if assert.NotNil(t, short.ExpiresAt) {
				assert.True(t, exp.Equal(*short.ExpiresAt), "expires_at %v, want %v", short.ExpiresAt, exp)
			}
			e.do(t, as("", http.MethodGet, me, short.Token, nil, http.StatusOK))
			e.clock.Advance(2 * time.Hour)
			e.do(t, as("", http.MethodGet, me, short.Token, nil, http.StatusUnauthorized))
			e.do(t, testkit.Scenario{Method: http.MethodGet, URL: tokens, Token: u.Token, ExpectedStatus: http.StatusOK,
				NotExpectedContent: []string{short.TokenID}})
		})
	})
}
