package activity_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/activity"
	"github.com/fitloop/fitloop/platform/httpx"
)

// notifications lists u's notifications (query as given).
func (e *env) notifications(tb testing.TB, u *user, query string) []activity.Notification {
	tb.Helper()
	var l httpx.List[activity.Notification]
	require.NoError(tb, json.Unmarshal(e.get(tb, u, api+"/users/"+u.ID+"/notifications"+query), &l))
	return l.Items
}

// alerts runs the activity.goal_alerts job once.
func (e *env) alerts(tb testing.TB) {
	tb.Helper()
	require.NoError(tb, e.mod.GoalAlerts().Run(context.Background()))
}

func TestGoalAlerts(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a := e.a
		// t0 is 11:00 in New York: 4 of A's 15 waking hours have passed.
		e.users.add(activity.UserBasics{UserID: a.ID, Timezone: "America/New_York", Quiet: activity.DefaultQuietHours})
		e.users.addGoal(activity.GoalSpec{GoalID: "g1-steps", UserID: a.ID, GoalType: "steps", Period: "daily",
			TargetValue: 10000, TargetDate: "2030-12-31", CreatedAt: t0.AddDate(0, 0, -3)})
		e.users.addGoal(activity.GoalSpec{GoalID: "g2-weekly", UserID: a.ID, GoalType: "workouts", Period: "weekly",
			TargetValue: 1, TargetDate: "2030-12-31", CreatedAt: t0.AddDate(0, 0, -3)})
		e.post(t, a, sample("steps", 800, t0.Add(-time.Hour)))

		e.alerts(t)
		got := e.notifications(t, a, "")
		require.Len(t, got, 1, "one alert a run, however many goals are behind")
		assert.Equal(t, activity.KindGoalBehind, got[0].Kind)
		assert.Equal(t, "9,200 more steps today to reach 10,000.", got[0].Message)
		assert.Nil(t, got[0].ReadAt)
		sent := e.push.sent()
		require.Len(t, sent, 1, "pushed live to the user's sockets")
		assert.Equal(t, a.ID, sent[0].UserID)
		assert.Equal(t, activity.EventNotification, sent[0].Type)
		assert.Equal(t, got[0].ID, sent[0].Data.(*activity.Notification).ID)

		e.alerts(t)
		assert.Len(t, e.notifications(t, a, ""), 1, "alerts are three hours apart")
		e.clock.Advance(3 * time.Hour) // 14:00
		e.alerts(t)
		e.clock.Advance(3 * time.Hour) // 17:00
		e.alerts(t)
		e.clock.Advance(3 * time.Hour) // 20:00
		e.alerts(t)
		assert.Len(t, e.notifications(t, a, ""), 3, "at most three a day")
		e.clock.Advance(3 * time.Hour) // 23:00: a new UTC day, quiet hours in New York
		e.alerts(t)
		assert.Len(t, e.notifications(t, a, ""), 3, "none in the quiet hours")
		e.clock.Advance(9 * time.Hour) // 08:00 the next day
		e.alerts(t)
		assert.Len(t, e.notifications(t, a, ""), 4, "a new local day")
		e.clock.Advance(-21 * time.Hour) // back to t0

		// Reaching the goal is announced at once, by the check new data starts.
		e.post(t, a, sample("steps", 9200, t0.Add(-time.Minute)))
		require.Eventually(t, func() bool {
			n := e.notifications(t, a, "?limit=1")
			return len(n) == 1 && n[0].Kind == activity.KindGoalAchieved
		}, 10*time.Second, 10*time.Millisecond)
		achieved := e.notifications(t, a, "")[0]
		assert.Equal(t, "Goal achieved: 10,000 steps today.", achieved.Message)
		assert.Equal(t, "g1-steps", achieved.GoalID)
		e.alerts(t)
		assert.Len(t, e.notifications(t, a, "?unread=true"), 5, "an achievement is announced once")
	})
}

func TestNotificationRoutes(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a, b := e.a, e.b
		e.users.addGoal(activity.GoalSpec{GoalID: "g-a", UserID: a.ID, GoalType: "workouts", Period: "daily",
			TargetValue: 1, TargetDate: "2030-12-31", CreatedAt: t0.AddDate(0, 0, -3)})
		e.users.addGoal(activity.GoalSpec{GoalID: "g-b", UserID: b.ID, GoalType: "workouts", Period: "weekly",
			TargetValue: 1, TargetDate: "2030-12-31", CreatedAt: t0.AddDate(0, 0, -3)})
		e.logWorkout(t, a, "running", t0.Add(-2*time.Hour), 600)
		e.logWorkout(t, b, "running", t0.Add(-2*time.Hour), 600)
		e.alerts(t)
		na, nb := e.notifications(t, a, ""), e.notifications(t, b, "")
		require.Len(t, na, 1)
		require.Len(t, nb, 1)
		assert.Equal(t, "Goal achieved: 1 workouts this week.", nb[0].Message)
		base := api + "/users/" + a.ID + "/notifications"

		e.run(t,
			as("marks_one_read", http.MethodPost, base+"/"+na[0].ID+"/read", a.Token, nil, http.StatusOK, `"read_at":"`),
			as("leaves_it_out_of_the_unread", http.MethodGet, base+"?unread=true", a.Token, nil, http.StatusOK, `"items":[]`),
			as("marks_it_read_again_without_change", http.MethodPost, base+"/"+na[0].ID+"/read", a.Token, nil, http.StatusOK),
			as("hides_another_users_notification", http.MethodPost, api+"/users/"+b.ID+"/notifications/"+na[0].ID+"/read",
				b.Token, nil, http.StatusNotFound, code("notification_not_found")),
			as("hides_it_behind_the_owners_path_too", http.MethodPost, base+"/"+nb[0].ID+"/read", a.Token, nil,
				http.StatusNotFound, code("notification_not_found")),
			as("hides_another_users_list", http.MethodGet, base, b.Token, nil, http.StatusNotFound, code("user_not_found")),
			as("refuses_a_bad_unread_flag", http.MethodGet, base+"?unread=yes", a.Token, nil, http.StatusBadRequest, field("unread")),
			as("answers_not_found_for_an_unknown_one", http.MethodPost, base+"/nope/read", a.Token, nil, http.StatusNotFound),
			as("marks_all_of_b_read", http.MethodPost, api+"/users/"+b.ID+"/notifications/read-all", b.Token, nil,
				http.StatusOK, `{"updated":1}`),
			as("marks_none_the_second_time", http.MethodPost, api+"/users/"+b.ID+"/notifications/read-all", b.Token, nil,
				http.StatusOK, `{"updated":0}`),
			as("lets_an_admin_read_for_a_user", http.MethodPost, base+"/read-all", e.admin.Token, nil, http.StatusOK, `{"updated":0}`),
			as("refuses_a_read_only_token", http.MethodPost, base+"/read-all", e.aRead.Token, nil, http.StatusForbidden),
		)
		e.clock.Advance(time.Hour)
		resp := e.do(t, as("", http.MethodPost, base+"/"+na[0].ID+"/read", a.Token, nil, http.StatusOK))
		read := decode[activity.Notification](t, resp)
		require.NotNil(t, read.ReadAt)
		assert.Equal(t, t0, *read.ReadAt, "the first read time stays")
	})
}

func TestGoalProgressAndPlanner(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a := e.a
		ctx := context.Background()
		e.post(t, a, sample("weight_kg", 84, t0.AddDate(0, 0, -2)), sample("steps", 7000, t0.Add(-time.Hour)),
			sample("distance_km", 2.5, t0.Add(-time.Hour)))
		w := e.do(t, as("", http.MethodPost, api+"/users/"+a.ID+"/workouts", a.Token, map[string]any{
			"workout_type": "running", "start_time": rfc(t0.Add(-3 * time.Hour)), "duration": 1800, "distance_km": 5,
		}, http.StatusCreated))
		run := decode[activity.Workout](t, w)

		weight := activity.PlannedGoal{GoalID: "g-w", UserID: a.ID, GoalType: "weight_kg", Period: "total", TargetValue: 80}
		require.NoError(t, e.mod.GoalSet(ctx, "saga-1:notify_planner", weight))
		e.post(t, a, sample("weight_kg", 70, t0.Add(-time.Minute)))
		require.NoError(t, e.mod.GoalSet(ctx, "saga-1:notify_planner", weight), "a key applies once: the start stays 84")

		spec := func(typ, period string, target float64) activity.GoalSpec {
			return activity.GoalSpec{GoalID: "g-" + typ, UserID: a.ID, GoalType: typ, Period: period, TargetValue: target,
				TargetDate: "2030-04-11", CreatedAt: t0.AddDate(0, 0, -1), Timezone: "America/New_York", Quiet: activity.DefaultQuietHours}
		}
		p, err := e.mod.GoalProgress(ctx, spec("distance_km", "daily", 10))
		require.NoError(t, err)
		assert.Equal(t, 7.5, p.Current, "samples and workouts both count")
		require.NotNil(t, p.Expected)
		assert.InDelta(t, 10*4.0/15, *p.Expected, 0.05, "4 of 15 waking hours")
		assert.True(t, p.OnTrack)

		p, err = e.mod.GoalProgress(ctx, spec("active_minutes", "weekly", 150))
		require.NoError(t, err)
		assert.Equal(t, 30.0, p.Current)
		p, err = e.mod.GoalProgress(ctx, spec("calories_burned", "monthly", 5000))
		require.NoError(t, err)
		assert.Equal(t, run.CaloriesBurned, p.Current)
		p, err = e.mod.GoalProgress(ctx, spec("workouts", "total", 1))
		require.NoError(t, err)
		assert.True(t, p.Reached)
		assert.Equal(t, "2030-03-12", *p.ProjectedDate)

		wg := spec("weight_kg", "total", 80)
		wg.GoalID = "g-w"
		p, err = e.mod.GoalProgress(ctx, wg)
		require.NoError(t, err)
		assert.Equal(t, 70.0, p.Current, "the latest weight")
		assert.True(t, p.Reached, "losing from 84 toward 80")

		p, err = e.mod.GoalProgress(ctx, spec("steps", "daily", 10000))
		require.NoError(t, err)
		assert.Equal(t, 7000.0, p.Current)
		require.NotNil(t, p.ProjectedDate, "7,000 in 4 waking hours reaches 10,000 today")
		assert.Equal(t, "2030-03-12", *p.ProjectedDate)
	})
}
