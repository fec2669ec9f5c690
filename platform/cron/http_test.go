package cron_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/cron"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	gin.SetMode(gin.TestMode)
	db := dbtest.New(t)
	s := newScheduler(t, db, newClock(), "r", testConfig())
	release := make(chan struct{})
	require.NoError(t, s.Register(cron.Job{Name: "test.job", Schedule: "*/5 * * * *",
		Run: func(context.Context) error { <-release; return nil }}))
	require.NoError(t, s.Start(context.Background()))
	r := gin.New()
	s.RegisterAdminRoutes(r.Group("/api/v1/admin"))
	do := func(method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w
	}

	w := do(http.MethodPost, "/api/v1/admin/jobs/test.job/run")
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	var started cron.RunStarted
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &started))
	assert.NotEmpty(t, started.RunID)

	w = do(http.MethodPost, "/api/v1/admin/jobs/test.job/run")
	assert.Equal(t, http.StatusConflict, w.Code)
	assert.Contains(t, w.Body.String(), `"job_running"`)

	w = do(http.MethodPost, "/api/v1/admin/jobs/test.nope/run")
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Contains(t, w.Body.String(), `"job_not_found"`)

	close(release)
	require.Eventually(t, func() bool {
		runs := runsOf(t, db, "test.job")
		return len(runs) == 1 && runs[0].Status == cron.StatusSucceeded
	}, 10*time.Second, 5*time.Millisecond)

	w = do(http.MethodGet, "/api/v1/admin/jobs")
	require.Equal(t, http.StatusOK, w.Code)
	var body struct {
		Items []struct {
			Name     string     `json:"name"`
			Schedule string     `json:"schedule"`
			Enabled  bool       `json:"enabled"`
			NextRun  *time.Time `json:"next_run"`
			LastRun  *struct {
				ID        string    `json:"id"`
				Status    string    `json:"status"`
				StartedAt time.Time `json:"started_at"`
				Manual    bool      `json:"manual"`
			} `json:"last_run"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), w.Body.String())
	require.Len(t, body.Items, 2)
	cleanup, job := body.Items[0], body.Items[1]
	assert.Equal(t, cron.CleanupJobName, cleanup.Name)
	assert.False(t, cleanup.Enabled)
	assert.Nil(t, cleanup.LastRun)
	assert.Equal(t, "test.job", job.Name)
	assert.Equal(t, "*/5 * * * *", job.Schedule)
	assert.True(t, job.Enabled)
	require.NotNil(t, job.NextRun)
	assert.True(t, t0.Add(5*time.Minute).Equal(*job.NextRun))
	require.NotNil(t, job.LastRun)
	assert.Equal(t, started.RunID, job.LastRun.ID)
	assert.Equal(t, "succeeded", job.LastRun.Status)
	assert.True(t, job.LastRun.Manual)
}
