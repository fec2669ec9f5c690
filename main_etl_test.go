package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/users"
)

// The warehouse is loaded from the real modules' feeds: by the command
// line and by the admin route, each load recorded; a deleted workout
// leaves it.
func TestWarehouseLoadsThroughTheApp(t *testing.T) {
	dataDir := mainEnv(t, "")
	code, out, errOut := runCmd(t, "admin", "create-user", "--email", "root@example.com", "--username", "root",
		"--password", "Admin-Password-123")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)

	s := startServer(t)
	rootID, token := s.login(t, "root@example.com", "Admin-Password-123")
	var ids []string
	for i := range 3 {
		status, body := s.call(t, "POST", "/api/v1/users/"+rootID+"/workouts", token, map[string]any{
			"workout_type": "running", "duration": 1800 + i,
			"start_time": time.Now().Add(-time.Duration(3+i) * time.Hour).UTC().Format(time.RFC3339)})
		require.Equal(t, http.StatusCreated, status, string(body))
		var w struct {
			ID string `json:"session_id"`
		}
		require.NoError(t, json.Unmarshal(body, &w))
		ids = append(ids, w.ID)
	}
	status, body := s.call(t, "POST", "/api/v1/admin/etl/run", token, nil)
	require.Equal(t, http.StatusAccepted, status, string(body))
	var run struct {
		ID     string `json:"run_id"`
		Status string `json:"status"`
	}
	require.NoError(t, json.Unmarshal(body, &run))
	assert.Equal(t, "running", run.Status)
	var runs struct {
		Items []struct {
			ID     string `json:"run_id"`
			Status string `json:"status"`
			Stats  struct {
				Tables map[string]struct{ Read, Written int } `json:"tables"`
			} `json:"stats"`
		} `json:"items"`
	}
	require.Eventually(t, func() bool {
		status, body := s.call(t, "GET", "/api/v1/admin/etl/runs", token, nil)
		require.Equal(t, http.StatusOK, status, string(body))
		require.NoError(t, json.Unmarshal(body, &runs))
		return len(runs.Items) == 1 && runs.Items[0].Status != "running"
	}, 20*time.Second, 50*time.Millisecond)
	require.Equal(t, "succeeded", runs.Items[0].Status)
	assert.Equal(t, 3, runs.Items[0].Stats.Tables["fact_workouts"].Written)
	assert.Equal(t, 1, runs.Items[0].Stats.Tables["dim_user"].Written)

	status, body = s.call(t, "DELETE", "/api/v1/workouts/"+ids[0], token, nil)
	require.Equal(t, http.StatusNoContent, status, string(body))
	require.Equal(t, 0, s.stop(t))

	code, out, errOut = runCmd(t, "etl", "run")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.Contains(t, out, " succeeded\n")
	assert.Regexp(t, `fact_workouts\s+read \d+, written \d+`, out)
	assert.FileExists(t, filepath.Join(dataDir, "warehouse.db"))
	assert.FileExists(t, filepath.Join(dataDir, "pseudonym.key"))

	code, _, errOut = runCmd(t, "etl", "load")
	assert.Equal(t, 2, code)
	assert.True(t, strings.Contains(errOut, "usage: fitloop etl run [--full]"), errOut)
	code, out, _ = runCmd(t, "etl", "run", "--full")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "fact_workouts        read 3, written 2", "two workouts, and the deleted one's tombstone")
}

// `fitloop dev seed` makes data whose load feeds every fact table, and the
// analytics routes answer from it.
func TestSeededDataFeedsTheAnalytics(t *testing.T) {
	mainEnv(t, "")
	code, _, errOut := runCmd(t, "dev", "seed", "--users", "0")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, users.SeedUsage)
	code, _, _ = runCmd(t, "dev", "plant")
	assert.Equal(t, 2, code)
	code, out, errOut := runCmd(t, "dev", "seed", "--users", "12", "--days", "21", "--seed", "7")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.Regexp(t, `seeded 12 users .*, \d+ workouts, \d+ samples`, out)
	code, out, errOut = runCmd(t, "etl", "run")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	for _, table := range []string{"dim_user", "dim_goal", "fact_workouts", "stage_metric_days", "fact_daily_metrics", "fact_goal_progress"} {
		assert.Regexp(t, table+`\s+read \d+, written [1-9]`, out)
	}
	code, out, errOut = runCmd(t, "admin", "create-user", "--email", "root@example.com", "--username", "root",
		"--password", "Admin-Password-123")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)

	s := startServer(t)
	id, token := s.login(t, users.SeedEmail(1), users.SeedPassword)
	status, body := s.call(t, "GET", "/api/v1/analytics/leaderboard?metric=steps&period=month", token, nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var lb struct {
		Entries []struct{ Rank int }      `json:"entries"`
		Me      struct{ Rank, OutOf int } `json:"me"`
	}
	require.NoError(t, json.Unmarshal(body, &lb))
	assert.NotEmpty(t, lb.Entries, "some seeded users opted in")
	assert.Positive(t, lb.Me.Rank)
	status, body = s.call(t, "GET", "/api/v1/users/"+id+"/trends?weeks=3", token, nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var tr struct {
		Weeks []struct{ Total float64 } `json:"weeks"`
	}
	require.NoError(t, json.Unmarshal(body, &tr))
	require.Len(t, tr.Weeks, 3)
	_, admin := s.login(t, "root@example.com", "Admin-Password-123")
	status, body = s.call(t, "GET", "/api/v1/admin/analytics/overview?days=7", admin, nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var ov struct {
		WeeklyActiveUsers int `json:"weekly_active_users"`
	}
	require.NoError(t, json.Unmarshal(body, &ov))
	assert.Positive(t, ov.WeeklyActiveUsers)
	require.Equal(t, 0, s.stop(t))
}
