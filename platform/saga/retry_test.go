package saga_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/saga"
)

func TestRetryParkedSaga(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		var undoWorks atomic.Bool
		var undone atomic.Int32
		reg := saga.NewRegistry()
		require.NoError(t, reg.Register(saga.Definition{Name: "retry.me", Version: 1, Steps: []saga.Step{
			{Name: "a", Action: func(context.Context, *saga.Execution) error { return nil },
				Compensate: func(context.Context, *saga.Execution) error {
					if !undoWorks.Load() {
						return errors.New("the other system is down")
					}
					undone.Add(1)
					return nil
				}},
			{Name: "b", Action: func(context.Context, *saga.Execution) error { return errors.New("b fails") }},
		}}))
		cfg := config.Default().Sagas
		cfg.CompensationAttempts, cfg.BackoffBase = 1, time.Millisecond
		orch, err := saga.New(saga.Options{DB: db, Registry: reg, Config: cfg, Replica: "retry-test"})
		require.NoError(t, err)
		defer orch.Close()

		id, err := orch.Start(ctx, "retry.me", map[string]int{})
		require.Error(t, err)
		in, err := orch.FindByID(ctx, id)
		require.NoError(t, err)
		require.Equal(t, saga.NeedsAttention, in.State)

		engine := gin.New()
		orch.RegisterAdminRoutes(engine.Group(""))
		post := func(id string) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			engine.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/sagas/"+id+"/retry", nil))
			return w
		}
		assert.Equal(t, http.StatusNotFound, post("01900000-0000-7000-8000-0000000000ff").Code)

		undoWorks.Store(true)
		w := post(id)
		require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
		assert.Contains(t, w.Body.String(), `"state":"compensating"`)
		_, err = orch.Resume(ctx)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			in, err := orch.FindByID(ctx, id)
			return err == nil && in.State == saga.Compensated
		}, 10*time.Second, 5*time.Millisecond, "the retried compensation runs")
		assert.Equal(t, int32(1), undone.Load(), "the compensation succeeded once")

		err = orch.Retry(ctx, id)
		assert.True(t, apperr.Is(err, "saga_not_retryable"), "a compensated saga is not retryable: %v", err)
	})
}
