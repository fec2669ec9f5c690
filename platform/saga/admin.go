package saga

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/httpx"
)

// Instance is a saga instance as the admin API shows it.
type Instance struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Version        int             `json:"version"`
	State          State           `json:"state"`
	Step           int             `json:"step"`
	Data           json.RawMessage `json:"data"`
	LastError      string          `json:"last_error,omitempty"`
	Attempts       int             `json:"attempts"`
	LeaseOwner     string          `json:"lease_owner,omitempty"`
	LeaseExpiresAt *time.Time      `json:"lease_expires_at,omitempty"`
	NextAttemptAt  *time.Time      `json:"next_attempt_at,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	FinishedAt     *time.Time      `json:"finished_at,omitempty"`
	Steps          []StepLog       `json:"steps,omitempty"`
}

// StepLog is one entry of an instance's step log.
type StepLog struct {
	Step    int       `json:"step"`
	Name    string    `json:"name"`
	Phase   Phase     `json:"phase"`
	Status  string    `json:"status"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error,omitempty"`
	At      time.Time `json:"at"`
}

func (r *instanceRow) instance() *Instance {
	return &Instance{ID: r.ID, Name: r.Name, Version: r.Version, State: r.State, Step: r.Step,
		Data: json.RawMessage(r.Data), LastError: r.LastError, Attempts: r.Attempts, LeaseOwner: r.LeaseOwner,
		LeaseExpiresAt: r.LeaseExpiresAt, NextAttemptAt: r.NextAttemptAt, CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt, FinishedAt: r.FinishedAt}
}

// Find lists instances, newest first, optionally only those in state ("" is
// any), one keyset page at a time. An unknown state is an Invalid error.
func (o *Orchestrator) Find(ctx context.Context, state State, page httpx.Page) (httpx.List[*Instance], error) {
	if state != "" && !state.Valid() {
		return httpx.List[*Instance]{}, apperr.FieldError("state",
			"must be running, compensating, completed, compensated or needs_attention")
	}
	limit := min(max(page.Limit, 1), httpx.MaxLimit)
	q := o.store.db.Read(ctx).Order("id DESC").Limit(limit + 1)
	if state != "" {
		q = q.Where("state = ?", state)
	}
	if page.Cursor != "" {
		q = q.Where("id < ?", page.Cursor)
	}
	var rows []instanceRow
	if err := q.Find(&rows).Error; err != nil {
		return httpx.List[*Instance]{}, fmt.Errorf("saga: find: %w", err)
	}
	items := make([]*Instance, len(rows))
	for i := range rows {
		items[i] = rows[i].instance()
	}
	return httpx.NewList(items, limit, func(in *Instance) string { return in.ID }), nil
}

// FindByID returns one instance with its step log; NotFound when unknown.
func (o *Orchestrator) FindByID(ctx context.Context, id string) (*Instance, error) {
	db := o.store.db.Read(ctx)
	var row instanceRow
	if err := db.Where("id = ?", id).Take(&row).Error; err != nil {
		if database.IsNotFound(err) {
			return nil, apperr.NotFoundf("saga_not_found", "Saga")
		}
		return nil, fmt.Errorf("saga: find %s: %w", id, err)
	}
	var log []stepRow
	if err := db.Where("saga_id = ?", id).Order("at, id").Find(&log).Error; err != nil {
		return nil, fmt.Errorf("saga: find %s steps: %w", id, err)
	}
	in := row.instance()
	in.Steps = make([]StepLog, len(log))
	for i, s := range log {
		in.Steps[i] = StepLog{Step: s.Step, Name: s.Name, Phase: s.Phase, Status: s.Status, Attempt: s.Attempt,
			Error: s.Error, At: s.At}
	}
	return in, nil
}

// RegisterAdminRoutes mounts GET /sagas?state=&limit=&cursor=,
// GET /sagas/:id and POST /sagas/:id/retry. The caller mounts them under /api/v1/admin behind admin
// authorization: saga data may hold personal data.
func (o *Orchestrator) RegisterAdminRoutes(rg gin.IRoutes) {
	rg.GET("/sagas", httpx.Handle(func(c *gin.Context) error {
		page, err := httpx.PageOf(c)
		if err != nil {
			return err
		}
		return httpx.Respond(c, http.StatusOK)(o.Find(c.Request.Context(), State(c.Query("state")), page))
	}))
	rg.GET("/sagas/:id", httpx.Handle(func(c *gin.Context) error {
		return httpx.Respond(c, http.StatusOK)(o.FindByID(c.Request.Context(), c.Param("id")))
	}))
	rg.POST("/sagas/:id/retry", httpx.Handle(o.handleRetry))
}
