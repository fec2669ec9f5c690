package etl

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/httpx"
)

// runRequest is the body of POST /admin/etl/run; it may be empty.
type runRequest struct {
	Full bool `json:"full"`
}

// RegisterAdminRoutes adds POST /etl/run (start a load: 202 with the run,
// 409 etl_running while one runs) and GET /etl/runs (newest first, paged)
// to rg, which the caller mounts under /api/v1/admin behind admin
// authentication.
func (r *Runner) RegisterAdminRoutes(rg gin.IRoutes) {
	rg.POST("/etl/run", httpx.Handle(func(c *gin.Context) error {
		var req runRequest
		if err := httpx.BindOptionalJSON(c, &req); err != nil {
			return err
		}
		return httpx.Respond(c, http.StatusAccepted)(r.Start(c.Request.Context(), TriggerAdmin, req.Full))
	}))
	rg.GET("/etl/runs", httpx.Handle(func(c *gin.Context) error {
		p, err := httpx.PageOf(c)
		if err != nil {
			return err
		}
		runs, err := r.Runs(c.Request.Context(), p.Cursor, p.Limit+1)
		if err != nil {
			return err
		}
		return httpx.JSON(c, http.StatusOK, httpx.NewList(runs, p.Limit, func(run *Run) string { return run.ID }))
	}))
}
