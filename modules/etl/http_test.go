package etl

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/httpx"
)

func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	src := newSources()
	users := src.users
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	users.put("u1", UserChange{UserID: "u1", Role: "customer", Timezone: "UTC", SignupAt: at, ChangedAt: at})
	log := slog.New(slog.DiscardHandler)
	r := NewRunner(db, loader(t, warehouse(t, db.Dialect()), src, 10), "replica-a", time.Hour, log)
	t.Cleanup(func() { _ = r.Close() })
	engine := httpx.NewEngine(log, httpx.Options{MaxBodyBytes: 1 << 10})
	r.RegisterAdminRoutes(engine.Group("/api/v1/admin"))
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		return request(t, method, srv.URL+"/api/v1/admin"+path, "", body, want)
	}

	started := call(http.MethodPost, "/etl/run", "", http.StatusAccepted)
	assert.Equal(t, StatusRunning, started["status"])
	assert.Equal(t, TriggerAdmin, started["trigger"])
	require.Eventually(t, func() bool {
		items := call(http.MethodGet, "/etl/runs", "", http.StatusOK)["items"].([]any)
		return len(items) == 1 && items[0].(map[string]any)["status"] == StatusSucceeded
	}, 10*time.Second, 20*time.Millisecond)
	full := call(http.MethodPost, "/etl/run", `{"full": true}`, http.StatusAccepted)
	assert.Equal(t, true, full["full"])
	require.Eventually(t, func() bool {
		items := call(http.MethodGet, "/etl/runs?limit=1", "", http.StatusOK)["items"].([]any)
		return items[0].(map[string]any)["status"] == StatusSucceeded
	}, 10*time.Second, 20*time.Millisecond)

	page := call(http.MethodGet, "/etl/runs?limit=1", "", http.StatusOK)
	require.Len(t, page["items"], 1)
	assert.Equal(t, full["run_id"], page["items"].([]any)[0].(map[string]any)["run_id"])
	next := call(http.MethodGet, "/etl/runs?limit=1&cursor="+page["next_cursor"].(string), "", http.StatusOK)
	assert.Equal(t, started["run_id"], next["items"].([]any)[0].(map[string]any)["run_id"])
	assert.Nil(t, next["next_cursor"])

	for _, c := range []struct{ body, code string }{
		{`{"full":`, "invalid_json"},
		{`{"full": "yes"}`, "invalid_type"},
		{`{"full": true, "tables": ["x"]}`, "unknown_field"},
		{`[]`, "invalid_json"},
		{`{"full": true, "pad": "` + strings.Repeat("x", 2<<10) + `"}`, "body_too_large"},
	} {
		status := http.StatusBadRequest
		if c.code == "body_too_large" {
			status = http.StatusRequestEntityTooLarge
		}
		got := call(http.MethodPost, "/etl/run", c.body, status)
		assert.Equal(t, c.code, got["error"].(map[string]any)["code"], c.body)
	}
	for _, q := range []string{"?limit=x", "?cursor=***", "?cursor=bm90LWEtcnVu"} {
		got := call(http.MethodGet, "/etl/runs"+q, "", http.StatusBadRequest)
		assert.Equal(t, "validation_failed", got["error"].(map[string]any)["code"], q)
	}

	// Another replica's load runs: 409, nothing recorded.
	require.NoError(t, db.Tx(context.Background(), func(tx *gorm.DB) error {
		return tx.Create(&runRow{ID: "01900000-0000-7000-8000-000000000002", Trigger: TriggerCron, Status: StatusRunning,
			StartedAt: time.Now().UTC(), Stats: "{}"}).Error
	}))
	got := call(http.MethodPost, "/etl/run", "", http.StatusConflict)
	assert.Equal(t, "etl_running", got["error"].(map[string]any)["code"])
	assert.Len(t, call(http.MethodGet, "/etl/runs", "", http.StatusOK)["items"], 3)
}

// request sends a request (with a bearer token and a JSON body when not
// empty), requires the status and decodes the JSON answer.
func request(t *testing.T, method, url, token, body string, want int) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, url, raw)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	return out
}
