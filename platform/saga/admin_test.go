package saga_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		l := newLedger(t, db)
		reg := registry(t, crashDefinitions(l)...)
		o := newOrchestrator(t, db, reg, "r1")
		ctx := context.Background()
		okID, err := o.Start(ctx, "crash.ok", map[string]string{"user_id": "u1"})
		require.NoError(t, err)
		failID, err := o.Start(ctx, "crash.fail", nil)
		require.Error(t, err)

		gin.SetMode(gin.TestMode)
		engine := gin.New()
		o.RegisterAdminRoutes(engine.Group("/api/v1/admin"))
		get := func(t *testing.T, path string, want int) map[string]any {
			t.Helper()
			rec := httptest.NewRecorder()
			engine.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			require.Equal(t, want, rec.Code, rec.Body.String())
			var body map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			return body
		}

		t.Run("lists_sagas_newest_first_filtered_by_state", func(t *testing.T) {
			body := get(t, "/api/v1/admin/sagas?state=compensated", http.StatusOK)
			items := body["items"].([]any)
			require.Len(t, items, 1)
			assert.Equal(t, failID, items[0].(map[string]any)["id"])
			assert.Equal(t, "compensated", items[0].(map[string]any)["state"])
		})
		t.Run("pages_with_a_cursor", func(t *testing.T) {
			first := get(t, "/api/v1/admin/sagas?limit=1", http.StatusOK)
			require.Len(t, first["items"], 1)
			assert.Equal(t, failID, first["items"].([]any)[0].(map[string]any)["id"])
			cursor, _ := first["next_cursor"].(string)
			require.NotEmpty(t, cursor)
			second := get(t, "/api/v1/admin/sagas?limit=1&cursor="+cursor, http.StatusOK)
			require.Len(t, second["items"], 1)
			assert.Equal(t, okID, second["items"].([]any)[0].(map[string]any)["id"])
			assert.Empty(t, second["next_cursor"])
		})
		t.Run("rejects_an_unknown_state", func(t *testing.T) {
			body := get(t, "/api/v1/admin/sagas?state=bogus", http.StatusBadRequest)
			assert.Contains(t, body["error"].(map[string]any)["fields"], "state")
		})
		t.Run("shows_one_saga_with_its_step_log", func(t *testing.T) {
			body := get(t, "/api/v1/admin/sagas/"+okID, http.StatusOK)
			assert.Equal(t, "completed", body["state"])
			assert.Equal(t, map[string]any{"user_id": "u1"}, body["data"])
			assert.Len(t, body["steps"], 6)
		})
		t.Run("answers_404_for_an_unknown_saga", func(t *testing.T) {
			body := get(t, "/api/v1/admin/sagas/nope", http.StatusNotFound)
			assert.Equal(t, "saga_not_found", body["error"].(map[string]any)["code"])
		})
	})
}
