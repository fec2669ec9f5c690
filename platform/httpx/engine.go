package httpx

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/apperr"
)

// Options configures the engine.
type Options struct {
	MaxBodyBytes int64
	// BodyLimits overrides MaxBodyBytes for single routes, keyed by method
	// and gin path ("POST /api/v1/users/:user_id/metrics").
	BodyLimits     map[string]int64
	CORSOrigins    []string
	TrustedProxies []string
	AccessLog      bool
	// Observe, when set, is told about every finished request (metrics).
	Observe func(Summary)
}

// NewEngine returns a gin engine with fitloop's middleware chain: request id,
// access log, metrics, panic recovery, CORS, body limit; and JSON 404/405s.
func NewEngine(log *slog.Logger, opt Options) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	_ = e.SetTrustedProxies(opt.TrustedProxies)
	e.Use(requestIDMiddleware(log))
	if opt.AccessLog || opt.Observe != nil {
		e.Use(finish(opt.AccessLog, opt.Observe))
	}
	e.Use(recovery())
	if len(opt.CORSOrigins) > 0 { // with no origins allowed, CORS has nothing to add
		e.Use(cors(opt.CORSOrigins))
	}
	e.Use(bodyLimit(opt.MaxBodyBytes, opt.BodyLimits))
	e.NoRoute(func(c *gin.Context) {
		WriteError(c, apperr.E(apperr.NotFound, "route_not_found", "No such route."))
	})
	e.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, ErrorBody{Error: ErrorDetail{
			Code: "method_not_allowed", Message: "Method not allowed.", RequestID: RequestID(c)}})
	})
	return e
}
