package cron

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/httpx"
)

// JobInfo is what the admin API says about a job.
type JobInfo struct {
	Name     string `json:"name"`
	Schedule string `json:"schedule"`
	Enabled  bool   `json:"enabled"`
	// TimeoutSeconds is the per-run timeout (0: none).
	TimeoutSeconds float64    `json:"timeout_seconds"`
	LastRun        *Run       `json:"last_run"`
	NextRun        *time.Time `json:"next_run"`
}

// Jobs describes every registered job in registration order: its effective
// schedule, whether it runs on schedule, its last run (on any replica) and
// its next slot (nil when it does not run on schedule).
func (s *Scheduler) Jobs(ctx context.Context) ([]JobInfo, error) {
	s.mu.Lock()
	entries := make([]*entry, 0, len(s.order))
	for _, name := range s.order {
		entries = append(entries, s.entries[name])
	}
	s.mu.Unlock()
	now := s.clock.Now()
	out := make([]JobInfo, 0, len(entries))
	for _, e := range entries {
		info := JobInfo{Name: e.job.Name, Schedule: e.spec, Enabled: s.cfg.Enabled && e.enabled,
			TimeoutSeconds: e.timeout.Seconds()}
		last, err := s.store.lastRun(ctx, e.job.Name)
		if err != nil {
			return nil, err
		}
		info.LastRun = last
		if info.Enabled {
			next := e.sched.Next(now)
			info.NextRun = &next
		}
		out = append(out, info)
	}
	return out, nil
}

// RegisterAdminRoutes mounts GET /jobs and POST /jobs/:name/run on rg, which
// the caller mounts under /api/v1/admin behind admin-only authentication.
func (s *Scheduler) RegisterAdminRoutes(rg gin.IRoutes) {
	rg.GET("/jobs", httpx.Handle(s.handleList))
	rg.POST("/jobs/:name/run", httpx.Handle(s.handleRun))
}

func (s *Scheduler) handleList(c *gin.Context) error {
	jobs, err := s.Jobs(c.Request.Context())
	if err != nil {
		return err
	}
	return httpx.JSON(c, http.StatusOK, httpx.List[JobInfo]{Items: jobs})
}

// RunStarted is the answer to POST /jobs/:name/run.
type RunStarted struct {
	RunID string `json:"run_id"`
}

func (s *Scheduler) handleRun(c *gin.Context) error {
	id, err := s.RunNow(c.Request.Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return httpx.JSON(c, http.StatusAccepted, RunStarted{RunID: id})
}
