// Package httpx is fitloop's HTTP machinery: the gin engine and its middleware,
// handlers that return errors, JSON binding that rejects what it does not
// understand, the one error→status table, and pagination.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/apperr"
)

// statusOf is the one table from error kind to HTTP status.
var statusOf = map[apperr.Kind]int{
	apperr.Internal:         http.StatusInternalServerError,
	apperr.Invalid:          http.StatusBadRequest,
	apperr.Unauthenticated:  http.StatusUnauthorized,
	apperr.Forbidden:        http.StatusForbidden,
	apperr.NotFound:         http.StatusNotFound,
	apperr.Conflict:         http.StatusConflict,
	apperr.TooLarge:         http.StatusRequestEntityTooLarge,
	apperr.UnsupportedMedia: http.StatusUnsupportedMediaType,
	apperr.RateLimited:      http.StatusTooManyRequests,
	apperr.Unavailable:      http.StatusServiceUnavailable,
	apperr.Unprocessable:    http.StatusUnprocessableEntity,
}

// StatusOf returns the HTTP status for an error kind.
func StatusOf(k apperr.Kind) int {
	if s, ok := statusOf[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// StatusClientClosedRequest is logged when the client disconnects before its
// answer (nginx's convention); no client ever sees it.
const StatusClientClosedRequest = 499

// ErrorBody is the JSON error envelope every failing request answers with.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of the envelope.
type ErrorDetail struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields,omitempty"`
	Details   map[string]string `json:"details,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// WriteError renders err as the envelope. Internal errors are logged with the
// request id and answered with "Internal error." only.
func WriteError(c *gin.Context, err error) {
	e, ok := apperr.As(err)
	if (!ok || e.Kind == apperr.Internal) && errors.Is(c.Request.Context().Err(), context.Canceled) {
		// The client went away mid-request. The store's error then names
		// the cut (context canceled, a driver's bad connection or a
		// rolled-back transaction); nobody reads this answer and nothing
		// failed on our side.
		Logger(c).Info("client closed request", slog.String("route", c.FullPath()),
			slog.String("error", err.Error()))
		c.AbortWithStatus(StatusClientClosedRequest)
		return
	}
	if !ok || e.Kind == apperr.Internal {
		Logger(c).Error("internal error", slog.String("error", err.Error()),
			slog.String("method", c.Request.Method), slog.String("route", c.FullPath()))
		e = apperr.E(apperr.Internal, "internal", "Internal error.")
	}
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	c.AbortWithStatusJSON(StatusOf(e.Kind), ErrorBody{Error: ErrorDetail{
		Code: e.Code, Message: e.Message, Fields: e.Fields, Details: e.Details, RequestID: RequestID(c),
	}})
}

// Handle adapts a handler that returns an error into a gin handler; a non-nil
// error is rendered by WriteError.
func Handle(h func(c *gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			WriteError(c, err)
		}
	}
}

// Respond returns a function that writes v as JSON with status, or hands err
// to the error renderer; it reads well around a service call:
//
//	return httpx.Respond(c, http.StatusOK)(svc.FindGoalByID(ctx, userID, goalID))
func Respond(c *gin.Context, status int) func(v any, err error) error {
	return func(v any, err error) error {
		if err != nil {
			return err
		}
		return JSON(c, status, v)
	}
}

// JSON writes v as the answer with its Content-Length, so the body leaves in
// one write; gin's c.JSON sends a body past the server's 2 KiB buffer
// chunked, in several writes.
func JSON(c *gin.Context, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	c.Header("Content-Length", strconv.Itoa(len(b)))
	c.Data(status, "application/json; charset=utf-8", b)
	return nil
}

// NoContent answers 204 unless err is set.
func NoContent(c *gin.Context, err error) error {
	if err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
