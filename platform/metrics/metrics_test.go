package metrics_test

import (
	"database/sql"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/httpx"
	"github.com/fitloop/fitloop/platform/metrics"
)

func scrape(t *testing.T, h *gin.Engine) string {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, w.Code)
	return w.Body.String()
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := metrics.New()
	reg.RegisterDBStats(func() map[string]sql.DBStats {
		return map[string]sql.DBStats{
			"write": {OpenConnections: 1, InUse: 1},
			"read":  {OpenConnections: 4, WaitCount: 7, WaitDuration: 1500 * time.Millisecond},
		}
	})
	e := httpx.NewEngine(slog.New(slog.NewTextHandler(io.Discard, nil)), httpx.Options{
		MaxBodyBytes: 1 << 20, Observe: reg.Observe,
	})
	e.GET("/metrics", gin.WrapH(reg.Handler()))
	e.GET("/users/:user_id/goals/:goal_id", func(c *gin.Context) { c.Status(200) })
	e.POST("/users/:user_id/goals", func(c *gin.Context) { c.Status(201) })

	for _, path := range []string{"/users/u1/goals/g1", "/users/u2/goals/g2", "/users/u3/goals/g3"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/users/u1/goals", nil))
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/no/such/route-secret", nil))

	out := scrape(t, e)
	t.Run("counts_by_route_pattern", func(t *testing.T) {
		assert.Contains(t, out, `fitloop_http_requests_total{method="GET",route="/users/:user_id/goals/:goal_id",status="200"} 3`)
		assert.Contains(t, out, `fitloop_http_requests_total{method="POST",route="/users/:user_id/goals",status="201"} 1`)
		assert.Contains(t, out, `fitloop_http_requests_total{method="GET",route="unmatched",status="404"} 1`)
		for _, raw := range []string{"u1", "u2", "g1", "route-secret"} {
			assert.NotContains(t, out, raw, "raw paths must not become labels")
		}
	})
	t.Run("records_latency", func(t *testing.T) {
		assert.Contains(t, out, `fitloop_http_request_duration_seconds_count{method="GET",route="/users/:user_id/goals/:goal_id"} 3`)
	})
	t.Run("exports_go_and_process_metrics", func(t *testing.T) {
		assert.Contains(t, out, "go_goroutines ")
		if runtime.GOOS == "linux" {
			assert.Contains(t, out, "process_open_fds ")
		}
	})
	t.Run("exports_db_pool_stats", func(t *testing.T) {
		assert.Contains(t, out, `fitloop_db_open_connections{pool="write"} 1`)
		assert.Contains(t, out, `fitloop_db_open_connections{pool="read"} 4`)
		assert.Contains(t, out, `fitloop_db_in_use_connections{pool="write"} 1`)
		assert.Contains(t, out, `fitloop_db_wait_count_total{pool="read"} 7`)
		assert.Contains(t, out, `fitloop_db_wait_seconds_total{pool="read"} 1.5`)
	})
	t.Run("the_scrape_itself_is_counted", func(t *testing.T) {
		again := scrape(t, e)
		assert.Contains(t, again, `fitloop_http_requests_total{method="GET",route="/metrics",status="200"} 1`)
	})
}

func TestRegistriesAreIndependent(t *testing.T) {
	t.Parallel()
	// Two apps in one process (tests do this) must not collide on registration.
	a, b := metrics.New(), metrics.New()
	assert.NotPanics(t, func() {
		a.RegisterDBStats(func() map[string]sql.DBStats { return nil })
		b.RegisterDBStats(func() map[string]sql.DBStats { return nil })
	})
}
