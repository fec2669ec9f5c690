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

// HeaderRequestID carries the request id in and out.
const HeaderRequestID = "X-Request-ID"

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
)

// RequestID returns the request's id.
func RequestID(c *gin.Context) string {
	id, _ := c.Request.Context().Value(requestIDKey).(string)
	return id
}

// Logger returns the request-scoped logger (with the request id attached).
func Logger(c *gin.Context) *slog.Logger {
	return LoggerFrom(c.Request.Context())
}

// LoggerFrom returns the logger stored in ctx, or the default logger.
func LoggerFrom(ctx context.Context) *slog.Logger {
	l, ok := ctx.Value(loggerKey).(*slog.Logger)
	if !ok {
		l = slog.Default()
	}
	// The request id is attached here, on demand, rather than once per request:
	// most requests log only their access line, which adds the id itself.
	if id, ok := ctx.Value(requestIDKey).(string); ok {
		return l.With(slog.String("request_id", id))
	}
	return l
}

// requestIDMiddleware accepts a sane incoming X-Request-ID or makes one, echoes
// it, and stores it with a request logger in the request context.
func requestIDMiddleware(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(HeaderRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Header(HeaderRequestID, id)
		ctx := context.WithValue(c.Request.Context(), requestIDKey, id)
		ctx = context.WithValue(ctx, loggerKey, log)
		c.Request = c.Request.WithContext(ctx)
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
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// accessLog writes one line per request after it finishes.
func accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		l, _ := c.Request.Context().Value(loggerKey).(*slog.Logger)
		if l == nil || !l.Enabled(c.Request.Context(), slog.LevelInfo) {
			return
		}
		l.LogAttrs(c.Request.Context(), slog.LevelInfo, "request",
			slog.String("request_id", RequestID(c)),
			slog.String("method", c.Request.Method),
			slog.String("route", route),
			slog.Int("status", c.Writer.Status()),
			slog.Int("bytes", c.Writer.Size()),
			slog.Duration("duration", time.Since(start)),
			slog.String("client_ip", c.ClientIP()),
		)
	}
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

// bodyLimit caps every request body; BindJSON reports the overflow as 413.
func bodyLimit(max int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > max {
			WriteError(c, apperr.E(apperr.TooLarge, "body_too_large", "The request body is too large."))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
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
