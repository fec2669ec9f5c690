package users_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestLeaderboardOptIn(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u, other, admin := e.newUser(t, "board"), e.newUser(t, "peer"), e.newAdmin(t)
		profile := api + "/users/" + u.ID
		optIn := func(v bool) string {
			if v {
				return `"leaderboard_opt_in":true`
			}
			return `"leaderboard_opt_in":false`
		}
		put := func(name, token string, body any, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodPut, URL: profile, Token: token,
				Body: body, ExpectedStatus: status, ExpectedContent: want}
		}
		get := func(name, token string, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodGet, URL: profile, Token: token,
				ExpectedStatus: http.StatusOK, ExpectedContent: want}
		}
		// rejectsType answers 400 invalid_type naming only leaderboard_opt_in.
		rejectsType := func(name string, value any) testkit.Scenario {
			s := put(name, u.Token, map[string]any{"leaderboard_opt_in": value, "bio": "changed"},
				http.StatusBadRequest, code("invalid_type"), field("leaderboard_opt_in"))
			s.After = func(tb testing.TB, resp *testkit.Response) {
				tb.Helper()
				fields := errorOf(tb, resp).Error.Fields
				assert.Equal(tb, []string{"leaderboard_opt_in"}, slices.Collect(maps.Keys(fields)))
				assert.Equal(tb, "must be a boolean", fields["leaderboard_opt_in"])
			}
			return s
		}
		e.run(t,
			get("is_off_by_default", u.Token, optIn(false)),
			put("opts_in", u.Token, map[string]any{"leaderboard_opt_in": true}, http.StatusOK, optIn(true)),
			get("reads_back_the_opt_in", u.Token, optIn(true), `"timezone":"UTC"`, `"quiet_hours_start":"22:00"`),
			put("leaves_it_alone_when_absent", u.Token, map[string]any{"bio": "Sprints."}, http.StatusOK,
				optIn(true), `"bio":"Sprints."`),
			put("leaves_it_alone_on_null", u.Token, map[string]any{"leaderboard_opt_in": nil}, http.StatusOK, optIn(true)),
			rejectsType("rejects_a_string", "yes"),
			rejectsType("rejects_a_quoted_boolean", "true"),
			rejectsType("rejects_a_number", 1),
			rejectsType("rejects_an_object", map[string]any{"on": true}),
			get("keeps_it_and_the_other_fields_after_rejected_updates", u.Token, optIn(true), `"bio":"Sprints."`),
			put("opts_out", u.Token, map[string]any{"leaderboard_opt_in": false}, http.StatusOK, optIn(false)),
			get("reads_back_the_opt_out", u.Token, optIn(false)),
			put("refuses_another_user", other.Token, map[string]any{"leaderboard_opt_in": true},
				http.StatusNotFound, code("user_not_found")),
			get("is_unchanged_by_the_refused_update", u.Token, optIn(false)),
			testkit.Scenario{Name: "hides_it_from_another_user", Method: http.MethodGet, URL: profile,
				Token: other.Token, ExpectedStatus: http.StatusOK, NotExpectedContent: []string{"leaderboard"}},
			put("refuses_anonymous_callers", "", map[string]any{"leaderboard_opt_in": true}, http.StatusUnauthorized),
			put("lets_an_admin_set_it", admin.Token, map[string]any{"leaderboard_opt_in": true}, http.StatusOK, optIn(true)),
			get("shows_it_to_an_admin", admin.Token, optIn(true)),
			testkit.Scenario{Name: "shows_it_in_the_admin_list", Method: http.MethodGet,
				URL: api + "/admin/users?q=" + u.Username, Token: admin.Token, ExpectedStatus: http.StatusOK,
				ExpectedContent: []string{`"user_id":"` + u.ID + `"`, optIn(true)}},
		)
		// The leaderboard's members: the opted-in, live accounts, named.
		members, err := e.mod.LeaderboardMembers(context.Background())
		require.NoError(t, err)
		assert.Equal(t, []users.LeaderboardMember{{UserID: u.ID, DisplayName: u.Username}}, members)
		e.run(t, testkit.Scenario{Name: "names_itself", Method: http.MethodPut, URL: profile, Token: u.Token,
			Body: map[string]any{"display_name": "Sprinter"}, ExpectedStatus: http.StatusOK},
			put("peer_opts_in", other.Token, map[string]any{"leaderboard_opt_in": true}, http.StatusNotFound))
		members, err = e.mod.LeaderboardMembers(context.Background())
		require.NoError(t, err)
		assert.Equal(t, []users.LeaderboardMember{{UserID: u.ID, DisplayName: "Sprinter"}}, members)
		e.run(t, testkit.Scenario{Name: "peer_opts_in_for_real", Method: http.MethodPut, URL: api + "/users/" + other.ID,
			Token: other.Token, Body: map[string]any{"leaderboard_opt_in": true}, ExpectedStatus: http.StatusOK},
			put("opts_out_again", u.Token, map[string]any{"leaderboard_opt_in": false}, http.StatusOK))
		members, err = e.mod.LeaderboardMembers(context.Background())
		require.NoError(t, err)
		assert.Equal(t, []users.LeaderboardMember{{UserID: other.ID, DisplayName: other.Username}}, members,
			"an opt-out counts at once")
	})
}
