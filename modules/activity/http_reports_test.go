package activity_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/activity"
)

// get fetches url as u and requires 200.
func (e *env) get(tb testing.TB, u *user, url string) []byte {
	tb.Helper()
	return e.do(tb, as("", http.MethodGet, url, u.Token, nil, http.StatusOK)).Body
}

// ny is t0's zone for customer A: 2030-03-12 11:00 local, a Tuesday of
// ISO week 2030-W11.
func nyTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	loc, err := time.LoadLocation("America/New_York")
	require.NoError(tb, err)
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	require.NoError(tb, err)
	return t
}

func TestStatistics(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a := e.a
		run := e.logWorkout(t, a, "running", nyTime(t, "2030-03-11 18:00"), 1800)
		ride := e.logWorkout(t, a, "cycling", nyTime(t, "2030-03-10 23:30"), 3600)
		lift := e.logWorkout(t, a, "strength", nyTime(t, "2030-03-08 07:00"), 2400)
		run2 := e.logWorkout(t, a, "running", nyTime(t, "2030-03-10 06:00"), 1200)
		e.start(t, a, "yoga") // active: not counted
		url := api + "/users/" + a.ID + "/statistics"

		var st activity.Statistics
		require.NoError(t, json.Unmarshal(e.get(t, a, url), &st))
		assert.EqualValues(t, 4, st.TotalWorkouts)
		assert.EqualValues(t, 1800+3600+2400+1200, st.TotalDuration)
		assert.EqualValues(t, (1800+3600+2400+1200)/4, st.AverageSessionDuration)
		assert.InDelta(t, run.CaloriesBurned+ride.CaloriesBurned+lift.CaloriesBurned+run2.CaloriesBurned, st.TotalCaloriesBurned, 0.05)
		require.Len(t, st.ByType, 3)
		assert.Equal(t, "running", st.ByType[0].WorkoutType, "most workouts first")
		assert.EqualValues(t, 2, st.ByType[0].TotalWorkouts)
		assert.EqualValues(t, 1500, st.ByType[0].AverageSessionDuration)
		assert.Equal(t, 2, st.CurrentStreakDays, "none today yet; the 11th and the 10th, not the 9th")
		assert.Nil(t, st.From)

		require.NoError(t, json.Unmarshal(e.get(t, a, url+"?from=2030-03-10&to=2030-03-10"), &st))
		assert.EqualValues(t, 2, st.TotalWorkouts, "the user's day, not UTC's: 23:30 local is the 10th")
		assert.EqualValues(t, 4800, st.TotalDuration)

		e.logWorkout(t, a, "walking", nyTime(t, "2030-03-12 08:00"), 600)
		require.NoError(t, json.Unmarshal(e.get(t, a, url), &st))
		assert.Equal(t, 3, st.CurrentStreakDays, "today counts once it has a workout")

		e.run(t,
			as("refuses_a_bad_bound", http.MethodGet, url+"?from=yesterday", a.Token, nil, http.StatusBadRequest, field("from")),
			as("refuses_an_empty_range", http.MethodGet, url+"?from=2030-03-10&to=2030-03-09", a.Token, nil, http.StatusBadRequest, field("to")),
			as("hides_another_users_statistics", http.MethodGet, url, e.b.Token, nil, http.StatusNotFound, code("user_not_found")),
			as("shows_them_to_an_admin", http.MethodGet, url, e.admin.Token, nil, http.StatusOK, `"total_workouts":5`),
			as("answers_zeroes_without_workouts", http.MethodGet, api+"/users/"+e.b.ID+"/statistics", e.b.Token, nil,
				http.StatusOK, `"total_workouts":0`, `"by_type":[]`, `"current_streak_days":0`),
		)
	})
}

func TestReports(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a := e.a
		e.post(t, a, sample("steps", 8000, nyTime(t, "2030-03-11 12:00")), sample("steps", 12000, nyTime(t, "2030-03-12 09:00")),
			sample("steps", 10000, nyTime(t, "2030-03-05 10:00")), sample("heart_rate", 60, nyTime(t, "2030-03-11 12:00")),
			sample("heart_rate", 70, nyTime(t, "2030-03-11 13:00")))
		run := e.logWorkout(t, a, "running", nyTime(t, "2030-03-11 18:00"), 1800)
		e.logWorkout(t, a, "walking", nyTime(t, "2030-03-04 18:00"), 600)
		e.users.addGoal(activity.GoalSpec{GoalID: "g-daily", UserID: a.ID, GoalType: "steps", Period: "daily",
			TargetValue: 10000, TargetDate: "2030-12-31", CreatedAt: t0.AddDate(0, 0, -30)})
		e.users.addGoal(activity.GoalSpec{GoalID: "g-weekly", UserID: a.ID, GoalType: "workouts", Period: "weekly",
			TargetValue: 3, TargetDate: "2030-12-31", CreatedAt: t0.AddDate(0, 0, -30)})
		e.users.addGoal(activity.GoalSpec{GoalID: "g-monthly", UserID: a.ID, GoalType: "steps", Period: "monthly",
			TargetValue: 100000, TargetDate: "2030-12-31", CreatedAt: t0.AddDate(0, 0, -30)})
		url := api + "/users/" + a.ID + "/reports/"

		var r activity.Report
		require.NoError(t, json.Unmarshal(e.get(t, a, url+"weekly"), &r))
		assert.Equal(t, "2030-W11", r.Label, "the current week by default")
		assert.Equal(t, "2030-03-11", r.From)
		assert.Equal(t, "2030-03-17", r.To)
		assert.Equal(t, "2030-W10", r.Previous)
		require.Len(t, r.Days, 7)
		assert.Equal(t, map[string]float64{"steps": 8000, "heart_rate": 65}, r.Days[0].Metrics)
		assert.EqualValues(t, 1, r.Days[0].Workouts)
		assert.EqualValues(t, 1800, r.Days[0].Duration)
		assert.Equal(t, run.CaloriesBurned, r.Days[0].CaloriesBurned)
		assert.Equal(t, map[string]float64{"steps": 12000}, r.Days[1].Metrics)
		assert.Empty(t, r.Days[2].Metrics)

		steps := r.Metrics[0]
		require.Equal(t, "steps", steps.Metric)
		assert.Equal(t, 20000.0, *steps.Value)
		assert.Equal(t, 10000.0, *steps.Previous)
		assert.Equal(t, 10000.0, *steps.Change)
		assert.Equal(t, 100.0, *steps.ChangePercent)
		for _, m := range r.Metrics {
			if m.Metric == "heart_rate" {
				assert.Equal(t, 65.0, *m.Value, "an average metric's mean")
				assert.Nil(t, m.Previous)
				assert.Nil(t, m.ChangePercent)
			}
		}
		assert.EqualValues(t, 1, r.Workouts.TotalWorkouts)
		assert.EqualValues(t, 1, r.Workouts.Previous.TotalWorkouts)
		assert.EqualValues(t, 1200, r.Workouts.Change.TotalDuration)

		goals := map[string]activity.GoalAttainment{}
		for _, g := range r.Goals {
			goals[g.GoalID] = g
		}
		assert.Len(t, goals, 2, "a monthly goal is left out of a weekly report")
		assert.Equal(t, 2, goals["g-daily"].Periods, "Monday and today, not the days to come")
		assert.Equal(t, 1, goals["g-daily"].PeriodsMet, "12,000 on Tuesday; 8,000 on Monday")
		assert.Equal(t, 10000.0, goals["g-daily"].Value, "the mean per day")
		assert.Equal(t, 1.0, goals["g-weekly"].Value)
		assert.Equal(t, 0, goals["g-weekly"].PeriodsMet)

		require.NoError(t, json.Unmarshal(e.get(t, a, url+"weekly?week=2030-W10"), &r))
		assert.Equal(t, "2030-03-04", r.From)
		assert.Equal(t, 10000.0, *r.Metrics[0].Value)

		require.NoError(t, json.Unmarshal(e.get(t, a, url+"monthly"), &r))
		assert.Equal(t, "2030-03", r.Label)
		assert.Len(t, r.Days, 31)
		assert.Equal(t, "2030-02", r.Previous)
		assert.Equal(t, 30000.0, *r.Metrics[0].Value)
		assert.Nil(t, r.Metrics[0].Previous, "no steps in February")
		monthly := r.Goals[len(r.Goals)-1]
		assert.Equal(t, "g-monthly", monthly.GoalID)
		assert.Equal(t, 30000.0, monthly.Value)

		e.run(t,
			as("refuses_a_bad_week", http.MethodGet, url+"weekly?week=2030-W60", a.Token, nil, http.StatusBadRequest, field("week")),
			as("refuses_a_bad_month", http.MethodGet, url+"monthly?month=March", a.Token, nil, http.StatusBadRequest, field("month")),
			as("hides_another_users_report", http.MethodGet, url+"weekly", e.b.Token, nil, http.StatusNotFound, code("user_not_found")),
			as("shows_it_to_an_admin", http.MethodGet, url+"monthly?month=2030-03", e.admin.Token, nil, http.StatusOK, `"label":"2030-03"`),
		)
	})
}

func TestDownload(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a := e.a
		at := nyTime(t, "2030-03-11 12:00")
		e.post(t, a, sample("steps", 800, at), sample("heart_rate", 61.5, at),
			map[string]any{"metric": "steps", "value": 5, "recorded_at": rfc(at.Add(time.Minute)), "source": "=cmd|calc", "sample_id": "s-1"})
		w := e.do(t, as("", http.MethodPost, api+"/users/"+a.ID+"/workouts", a.Token, map[string]any{
			"workout_type": "running", "start_time": rfc(at), "duration": 1800, "notes": "@SUM(A1)", "distance_km": 5.2,
		}, http.StatusCreated))
		run := decode[activity.Workout](t, w)
		url := api + "/users/" + a.ID + "/reports/download"

		resp := e.do(t, as("", http.MethodGet, url+"?from=2030-03-11&to=2030-03-11", a.Token, nil, http.StatusOK))
		assert.Equal(t, `attachment; filename="fitloop-20300311-20300312.csv"`, resp.Header.Get("Content-Disposition"))
		assert.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
		rows, err := csv.NewReader(strings.NewReader(string(resp.Body))).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 5, "header, one workout, three samples")
		assert.Equal(t, []string{"record", "time", "end_time", "name", "value", "unit", "source", "id", "duration",
			"calories_burned", "distance_km", "avg_heart_rate", "notes"}, rows[0])
		assert.Equal(t, []string{"workout", rfc(at), rfc(at.Add(30 * time.Minute)), "running", "", "", "manual", run.ID,
			"1800", strconv.FormatFloat(run.CaloriesBurned, 'f', -1, 64), "5.2", "", "'@SUM(A1)"}, rows[1])
		assert.Equal(t, []string{"sample", rfc(at), "", "heart_rate", "61.5", "bpm", "", "", "", "", "", "", ""}, rows[2],
			"samples by metric, then time")
		assert.Equal(t, []string{"sample", rfc(at.Add(time.Minute)), "", "steps", "5", "count", "'=cmd|calc", "s-1", "", "", "", "", ""}, rows[4],
			"text a spreadsheet would run is defused")

		resp = e.do(t, as("", http.MethodGet, url+"?format=json&from=2030-03-11", a.Token, nil, http.StatusOK))
		assert.Contains(t, resp.Header.Get("Content-Disposition"), `.json"`)
		var doc struct {
			UserID   string             `json:"user_id"`
			Workouts []activity.Workout `json:"workouts"`
			Samples  []activity.Sample  `json:"samples"`
		}
		require.NoError(t, json.Unmarshal(resp.Body, &doc), string(resp.Body))
		assert.Equal(t, a.ID, doc.UserID)
		require.Len(t, doc.Workouts, 1)
		assert.Equal(t, "@SUM(A1)", doc.Workouts[0].Notes, "JSON keeps text as it is")
		assert.Len(t, doc.Samples, 3)

		resp = e.do(t, as("", http.MethodGet, api+"/users/"+e.b.ID+"/reports/download?format=json", e.b.Token, nil, http.StatusOK))
		assert.Contains(t, string(resp.Body), `"workouts":[],"samples":[]`)

		e.run(t,
			as("refuses_an_unknown_format", http.MethodGet, url+"?format=xlsx", a.Token, nil, http.StatusBadRequest, field("format")),
			as("refuses_a_bad_range", http.MethodGet, url+"?from=2030-03-12&to=2030-03-01", a.Token, nil, http.StatusBadRequest, field("to")),
			as("refuses_a_range_before_2000", http.MethodGet, url+"?from=1999-12-31", a.Token, nil, http.StatusBadRequest, field("from")),
			as("hides_another_users_data", http.MethodGet, url, e.b.Token, nil, http.StatusNotFound, code("user_not_found")),
		)
	})
}
