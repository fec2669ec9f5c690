package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/apperr"
)

// HeaderRequestID carries the request id in and out. It is written in
// canonical form: a non-canonical key is re-canonicalized (and allocated) on
// every Get and Set.
const HeaderRequestID = "X-Request-Id"

type ctxKey struct{}

// requestInfo is what the middleware stores in the request context: one
// value, so one allocation, per request.
type requestInfo struct {
	id  string
	log *slog.Logger
}

// requestCtx carries requestInfo: one allocation where context.WithValue
// and a separate info struct would take two on every request.
type requestCtx struct {
	context.Context
	info requestInfo
}

// Value implements context.Context.
func (r *requestCtx) Value(key any) any {
	if key == (ctxKey{}) {
		return &r.info
	}
	return r.Context.Value(key)
}

func infoFrom(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(ctxKey{}).(*requestInfo)
	return ri
}

// RequestID returns the request's id.
func RequestID(c *gin.Context) string {
	if ri := infoFrom(c.Request.Context()); ri != nil {
		return ri.id
	}
	return ""
}

// Logger returns the request-scoped logger (with the request id attached).
func Logger(c *gin.Context) *slog.Logger {
	return LoggerFrom(c.Request.Context())
}

// LoggerFrom returns the logger for ctx with its request id attached, or the
// default logger outside a request. The id is attached here, on demand, not
// once per request: most requests log only their access line, which adds the
// id itself.
func LoggerFrom(ctx context.Context) *slog.Logger {
	if ri := infoFrom(ctx); ri != nil {
		return ri.log.With(slog.String("request_id", ri.id))
	}
	return slog.Default()
}

// requestIDMiddleware accepts a sane incoming X-Request-ID or makes one, echoes
// it, and stores it with the logger in the request context.
func requestIDMiddleware(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.Request.Header.Get(HeaderRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Writer.Header()[HeaderRequestID] = []string{id}
		c.Request = c.Request.WithContext(&requestCtx{Context: c.Request.Context(), info: requestInfo{id: id, log: log}})
		c.Next()
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	var out [24]byte
	_, _ = rand.Read(b[:])
	hex.Encode(out[:], b[:])
	return string(out[:])
}

// Summary describes a finished request, for metrics.
type Summary struct {
	Route    string // the route pattern, or "unmatched"
	Method   string
	Status   int
	Duration time.Duration
}

// finish runs the rest of the chain, then summarizes the request once for
// both the access log and the observer (metrics). The log record goes
// straight to the handler with no caller PC: slog.Logger would walk the stack
// for every line although the source is never printed.
func finish(accessLog bool, observe func(Summary)) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		end := time.Now()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		sum := Summary{Route: route, Method: c.Request.Method, Status: c.Writer.Status(), Duration: end.Sub(start)}
		if observe != nil {
			observe(sum)
		}
		if accessLog {
			logRequest(c, sum, end)
		}
	}
}

func logRequest(c *gin.Context, sum Summary, end time.Time) {
	ctx := c.Request.Context()
	ri := infoFrom(ctx)
	if ri == nil {
		return
	}
	h := ri.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r := slog.NewRecord(end, slog.LevelInfo, "request", 0)
	r.AddAttrs(
		slog.String("request_id", ri.id),
		slog.String("method", sum.Method),
		slog.String("route", sum.Route),
		slog.Int("status", sum.Status),
		slog.Int("bytes", c.Writer.Size()),
		slog.Duration("duration", sum.Duration),
		slog.String("client_ip", c.ClientIP()),
	)
	_ = h.Handle(ctx, r)
}

// recovery turns a panic into a logged Internal error.
func recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				Logger(c).Error("panic", slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
				WriteError(c, fmt.Errorf("panic: %v", r))
			}
		}()
		c.Next()
	}
}

// bodyLimit caps every request body (routes may have their own limit);
// BindJSON reports the overflow as 413.
func bodyLimit(def int64, routes map[string]int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		max := def
		if n, ok := routes[c.Request.Method+" "+c.FullPath()]; ok {
			max = n
		}
		if c.Request.ContentLength > max {
			WriteError(c, apperr.E(apperr.TooLarge, "body_too_large", "The request body is too large."))
			return
		}
		if c.Request.Body != nil && c.Request.Body != http.NoBody {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		}
		c.Next()
	}
}

// cors answers preflights and sets the CORS headers for allowed origins.
// An empty list allows no cross-origin browser calls (same-origin only).
func cors(origins []string) gin.HandlerFunc {
	all := slices.Contains(origins, "*")
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" || (!all && !slices.Contains(origins, origin)) {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", strings.Join([]string{HeaderRequestID, "Retry-After"}, ", "))
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, X-Request-ID")
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}
