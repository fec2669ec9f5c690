package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Check is one readiness check: nil when the dependency is usable.
type Check func(ctx context.Context) error

// RegisterHealth adds /healthz (the process answers) and /readyz. Every
// required check must pass within two seconds, or /readyz answers 503 with
// the failing checks. An optional check (a dependency the API survives
// without, such as Redis behind its circuit breaker) that fails makes the
// status "degraded" but keeps 200, so a shared outage does not take every
// replica out of the load balancer.
func RegisterHealth(r gin.IRoutes, required, optional map[string]Check) {
	r.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		status, code := "ready", http.StatusOK
		results := make(map[string]string, len(required)+len(optional))
		for name, check := range optional {
			if err := check(ctx); err != nil {
				results[name] = err.Error()
				status = "degraded"
				continue
			}
			results[name] = "ok"
		}
		for name, check := range required {
			if err := check(ctx); err != nil {
				results[name] = err.Error()
				status, code = "unavailable", http.StatusServiceUnavailable
				continue
			}
			results[name] = "ok"
		}
		c.JSON(code, gin.H{"status": status, "checks": results})
	})
}
