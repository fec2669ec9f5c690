package users_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/testkit"
)

// goalOut is a goal as the API shows it.
type goalOut struct {
	GoalID          string  `json:"goal_id"`
	GoalType        string  `json:"goal_type"`
	TargetValue     float64 `json:"target_value"`
	TargetDate      string  `json:"target_date"`
	Period          string  `json:"period"`
	Status          string  `json:"status"`
	CurrentProgress float64 `json:"current_progress"`
}

// goalList is a page of goals.
type goalList struct {
	Items      []goalOut `json:"items"`
	NextCursor string    `json:"next_cursor"`
}

// newGoal creates a steps goal for u and returns it.
func (e *env) newGoal(tb testing.TB, u *user) goalOut {
	tb.Helper()
	resp := e.do(tb, testkit.Scenario{Method: http.MethodPost, URL: api + "/users/" + u.ID + "/goals", Token: u.Token,
		Body:           map[string]any{"goal_type": "steps", "target_value": 10000, "target_date": e.clock.date(30)},
		ExpectedStatus: http.StatusCreated})
	var g goalOut
	resp.Decode(tb, &g)
	require.NotEmpty(tb, g.GoalID)
	return g
}

func TestGoals(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u, other, admin := e.newUser(t, "goals"), e.newUser(t, "peer"), e.newAdmin(t)
		g := e.newGoal(t, u)
		done := e.newGoal(t, u)
		goals := api + "/users/" + u.ID + "/goals"
		one := goals + "/" + g.GoalID
		create := func(name string, body any, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodPost, URL: goals, Token: u.Token, Body: body,
				ExpectedStatus: status, ExpectedContent: want}
		}
		goal := func(typ string, value any, date string) map[string]any {
			return map[string]any{"goal_type": typ, "target_value": value, "target_date": date}
		}
		as := func(name, method, url, token string, body any, status int, want ...string) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: method, URL: url, Token: token, Body: body,
				ExpectedStatus: status, ExpectedContent: want}
		}
		e.run(t,
			create("creates_a_goal_with_the_default_period", goal("distance_km", 42.2, e.clock.date(60)), http.StatusCreated,
				`"goal_id":"`, `"goal_type":"distance_km"`, `"target_value":42.2`, `"target_date":"`+e.clock.date(60)+`"`,
				`"period":"total"`, `"status":"active"`,
				`"current_progress":0,"pace":{"expected":null,"projected_date":null,"on_track":false}`),
			create("creates_a_weekly_goal", map[string]any{"goal_type": "workouts", "target_value": 3,
				"target_date": e.clock.date(90), "period": "weekly"}, http.StatusCreated, `"period":"weekly"`),
			create("accepts_today_as_the_target_date", goal("active_minutes", 30, e.clock.date(0)), http.StatusCreated),
			create("rejects_an_unknown_goal_type_listing_the_allowed_ones", goal("swimming", 1, e.clock.date(1)),
				http.StatusBadRequest, field("goal_type"), "steps, calories_burned, workouts, active_minutes, distance_km, weight_kg"),
			create("rejects_a_past_target_date", goal("steps", 1000, e.clock.date(-1)), http.StatusBadRequest,
				field("target_date"), "past"),
			create("rejects_a_malformed_target_date", goal("steps", 1000, "next week"), http.StatusBadRequest, field("target_date")),
			create("rejects_a_zero_target", goal("steps", 0, e.clock.date(1)), http.StatusBadRequest, field("target_value")),
			create("rejects_a_negative_target", goal("weight_kg", -70, e.clock.date(1)), http.StatusBadRequest, field("target_value")),
			create("rejects_an_unknown_period", map[string]any{"goal_type": "steps", "target_value": 1,
				"target_date": e.clock.date(1), "period": "yearly"}, http.StatusBadRequest, field("period")),
			create("rejects_a_wrong_type", goal("steps", "ten", e.clock.date(1)), http.StatusBadRequest,
				code("invalid_type"), field("target_value")),
			create("rejects_an_unknown_field", map[string]any{"goal_type": "steps", "target_value": 1,
				"target_date": e.clock.date(1), "owner": other.ID}, http.StatusBadRequest, code("unknown_field")),
			as("reads_one_goal", http.MethodGet, one, u.Token, nil, http.StatusOK, `"goal_id":"`+g.GoalID+`"`),
			as("completes_a_goal", http.MethodPut, goals+"/"+done.GoalID, u.Token, map[string]string{"status": "completed"},
				http.StatusOK, `"status":"completed"`, `"target_value":10000`),
			as("updates_target_and_period", http.MethodPut, one, u.Token,
				map[string]any{"target_value": 12000, "target_date": e.clock.date(45), "period": "daily"},
				http.StatusOK, `"target_value":12000`, `"target_date":"`+e.clock.date(45)+`"`, `"period":"daily"`, `"status":"active"`),
			as("rejects_an_unknown_status", http.MethodPut, one, u.Token, map[string]string{"status": "abandoned"},
				http.StatusBadRequest, field("status")),
			as("rejects_a_past_target_date_on_update", http.MethodPut, one, u.Token,
				map[string]string{"target_date": e.clock.date(-3)}, http.StatusBadRequest, field("target_date")),
			as("rejects_an_unknown_field_on_update", http.MethodPut, one, u.Token, map[string]string{"goal_type": "steps"},
				http.StatusBadRequest, code("unknown_field")),
			testkit.Scenario{Name: "filters_by_status", Method: http.MethodGet, URL: goals + "?status=completed",
				Token: u.Token, ExpectedStatus: http.StatusOK,
				After: func(tb testing.TB, resp *testkit.Response) {
					var l goalList
					resp.Decode(tb, &l)
					if assert.Len(tb, l.Items, 1) {
						assert.Equal(tb, done.GoalID, l.Items[0].GoalID)
					}
				}},
			testkit.Scenario{Name: "lists_active_goals", Method: http.MethodGet, URL: goals + "?status=active",
				Token: u.Token, ExpectedStatus: http.StatusOK, ExpectedContent: []string{g.GoalID},
				NotExpectedContent: []string{done.GoalID}},
			as("rejects_an_unknown_status_filter", http.MethodGet, goals+"?status=someday", u.Token, nil,
				http.StatusBadRequest, field("status")),
			as("hides_the_list_from_another_user", http.MethodGet, goals, other.Token, nil, http.StatusNotFound,
				code("user_not_found")),
			as("refuses_creating_for_another_user", http.MethodPost, goals, other.Token,
				goal("steps", 1, e.clock.date(1)), http.StatusNotFound),
			as("hides_a_goal_from_another_user", http.MethodGet, one, other.Token, nil, http.StatusNotFound, code("goal_not_found")),
			as("refuses_updates_from_another_user", http.MethodPut, one, other.Token, map[string]string{"status": "cancelled"},
				http.StatusNotFound, code("goal_not_found")),
			as("refuses_deletion_by_another_user", http.MethodDelete, one, other.Token, nil, http.StatusNotFound,
				code("goal_not_found")),
			as("hides_a_goal_under_the_wrong_owner", http.MethodGet, api+"/users/"+other.ID+"/goals/"+g.GoalID, other.Token,
				nil, http.StatusNotFound, code("goal_not_found")),
			as("shows_a_goal_to_an_admin", http.MethodGet, one, admin.Token, nil, http.StatusOK, g.GoalID),
			as("lets_an_admin_create_a_goal", http.MethodPost, goals, admin.Token, goal("calories_burned", 500, e.clock.date(10)),
				http.StatusCreated),
			as("refuses_anonymous_callers", http.MethodGet, goals, "", nil, http.StatusUnauthorized),
			as("deletes_a_goal", http.MethodDelete, one, u.Token, nil, http.StatusNoContent),
			as("answers_404_after_deletion", http.MethodGet, one, u.Token, nil, http.StatusNotFound, code("goal_not_found")),
			as("answers_404_deleting_twice", http.MethodDelete, one, u.Token, nil, http.StatusNotFound),
			as("answers_404_updating_a_deleted_goal", http.MethodPut, one, u.Token, map[string]string{"status": "completed"},
				http.StatusNotFound),
		)
	})
}

func TestGoalTargetDateUsesTheUsersTimeZone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser(t, "kiribati")
	e.do(t, testkit.Scenario{Method: http.MethodPut, URL: api + "/users/" + u.ID, Token: u.Token,
		Body: map[string]string{"timezone": "Pacific/Kiritimati"}, ExpectedStatus: http.StatusOK})
	e.clock.Advance(12 * time.Hour) // 21:00 UTC is 11:00 the next day at UTC+14
	today := e.clock.Now().Format(time.DateOnly)
	e.do(t, testkit.Scenario{Method: http.MethodPost, URL: api + "/users/" + u.ID + "/goals", Token: u.Token,
		Body:           map[string]any{"goal_type": "steps", "target_value": 1, "target_date": today},
		ExpectedStatus: http.StatusBadRequest, ExpectedContent: []string{field("target_date")}})
	e.do(t, testkit.Scenario{Method: http.MethodPost, URL: api + "/users/" + u.ID + "/goals", Token: u.Token,
		Body:           map[string]any{"goal_type": "steps", "target_value": 1, "target_date": e.clock.date(1)},
		ExpectedStatus: http.StatusCreated})
}

func TestGoalPagination(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u := e.newUser(t, "pager")
		want := map[string]bool{}
		for range 25 {
			want[e.newGoal(t, u).GoalID] = true
		}
		seen := map[string]bool{}
		var sizes []int
		cursor := ""
		for page := 0; page < 5; page++ {
			q := url.Values{"limit": {"10"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			resp := e.do(t, testkit.Scenario{Method: http.MethodGet, URL: api + "/users/" + u.ID + "/goals?" + q.Encode(),
				Token: u.Token, ExpectedStatus: http.StatusOK})
			var l goalList
			resp.Decode(t, &l)
			sizes = append(sizes, len(l.Items))
			for _, g := range l.Items {
				assert.False(t, seen[g.GoalID], "goal %s on two pages", g.GoalID)
				seen[g.GoalID] = true
			}
			if cursor = l.NextCursor; cursor == "" {
				break
			}
		}
		assert.Equal(t, []int{10, 10, 5}, sizes)
		assert.Equal(t, want, seen, "every goal exactly once")

		get := func(name, query string, status int, after func(testing.TB, *testkit.Response)) testkit.Scenario {
			return testkit.Scenario{Name: name, Method: http.MethodGet, URL: api + "/users/" + u.ID + "/goals?" + query,
				Token: u.Token, ExpectedStatus: status, After: after}
		}
		count := func(n int, more bool) func(testing.TB, *testkit.Response) {
			return func(tb testing.TB, resp *testkit.Response) {
				var l goalList
				resp.Decode(tb, &l)
				assert.Len(tb, l.Items, n)
				assert.Equal(tb, more, l.NextCursor != "", "next_cursor")
			}
		}
		e.run(t,
			get("defaults_to_twenty_per_page", "", http.StatusOK, count(20, true)),
			get("clamps_a_large_limit", "limit=1000", http.StatusOK, count(25, false)),
			get("clamps_a_zero_limit_to_one", "limit=0", http.StatusOK, count(1, true)),
			get("rejects_a_non_numeric_limit", "limit=ten", http.StatusBadRequest, nil),
			get("rejects_a_cursor_it_did_not_issue", "cursor=%21%21%21", http.StatusBadRequest, nil),
			get("answers_an_empty_page_past_the_end", "cursor="+base64.RawURLEncoding.EncodeToString([]byte("0")),
				http.StatusOK, count(0, false)),
		)
	})
}
