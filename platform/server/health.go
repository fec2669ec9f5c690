package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Check is one readiness check: nil when the dependency is usable.
type Check func(ctx context.Context) error

// RegisterHealth adds /healthz (the process answers) and /readyz (every check
// passes within two seconds; 503 with the failing checks otherwise).
func RegisterHealth(r gin.IRoutes, checks map[string]Check) {
	r.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		status, code := "ready", http.StatusOK
		results := make(map[string]string, len(checks))
		for name, check := range checks {
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
