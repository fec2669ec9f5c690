// Package idempotency makes POST routes safe to retry with an Idempotency-Key
// header (draft-ietf-httpapi-idempotency-key-header; Stripe's semantics).
//
// The first request with a key claims it in the database (a committed
// in-flight row, unique per caller, method, route pattern and key) and runs;
// its status, body and content type are stored. A retry with the same key and
// the same request gets the stored answer with "Idempotent-Replayed: true".
// The same key with a different request is refused (422
// idempotency_key_reused); a retry while the first is still running is
// refused (409 idempotency_in_flight). Answers with status 5xx are not stored,
// so the client may retry them. Keys expire after the TTL (config
// http.idempotency_ttl) and are then treated as new; CleanupJob deletes them.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/httpx"
)

// Headers.
const (
	Header         = "Idempotency-Key"
	ReplayedHeader = "Idempotent-Replayed"
)

// MaxKeyLength is the longest key accepted.
const MaxKeyLength = 255

// Clock tells the time; nil means the wall clock in UTC.
type Clock func() time.Time

// Errors the middleware answers with.
var (
	ErrKeyInvalid = apperr.E(apperr.Invalid, "idempotency_key_invalid",
		"Idempotency-Key must be 1 to 255 printable ASCII characters.")
	ErrKeyReused = apperr.E(apperr.Unprocessable, "idempotency_key_reused",
		"This Idempotency-Key was used with a different request.")
	ErrInFlight = apperr.E(apperr.Conflict, "idempotency_in_flight",
		"A request with this Idempotency-Key is still being processed; retry later.")
)

// Middleware handles Idempotency-Key on the routes that use it; requests
// without the header pass through. Put it after authentication: keys are
// scoped by the principal's user id ("anon" without one).
func Middleware(db *database.DB, ttl time.Duration, clock Clock) gin.HandlerFunc {
	if clock == nil {
		clock = func() time.Time { return time.Now().UTC() }
	}
	return func(c *gin.Context) {
		key := c.GetHeader(Header)
		if key == "" {
			c.Next()
			return
		}
		rec, err := newRecord(c, key, clock(), ttl)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		held, err := claim(c.Request.Context(), db, rec)
		switch {
		case err != nil:
			httpx.WriteError(c, err)
		case held == nil:
			serve(c, db, rec)
		case held.RequestHash != rec.RequestHash:
			httpx.WriteError(c, ErrKeyReused)
		case held.State != stateDone:
			httpx.WriteError(c, ErrInFlight)
		default:
			replay(c, held)
		}
	}
}

// replay answers with the stored answer.
func replay(c *gin.Context, held *record) {
	c.Header(ReplayedHeader, "true")
	if held.ContentType != "" {
		c.Header("Content-Type", held.ContentType)
	}
	c.Status(held.Status)
	if len(held.ResponseBody) > 0 && held.Status != http.StatusNoContent && held.Status != http.StatusNotModified {
		_, _ = c.Writer.Write(held.ResponseBody)
	}
	c.Abort()
}

// newRecord validates the key and fingerprints the request: its path, query
// and body (read whole, then put back for the handler).
func newRecord(c *gin.Context, key string, now time.Time, ttl time.Duration) (*record, error) {
	if len(key) > MaxKeyLength || !printable(key) {
		return nil, ErrKeyInvalid
	}
	var body []byte
	if c.Request.Body != nil {
		var err error
		if body, err = io.ReadAll(c.Request.Body); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, apperr.E(apperr.TooLarge, "body_too_large", "The request body is too large.")
			}
			return nil, apperr.E(apperr.Invalid, "unreadable_body", "The request body could not be read.")
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
	}
	h := sha256.New()
	h.Write([]byte(c.Request.URL.EscapedPath() + "?" + c.Request.URL.RawQuery + "\n"))
	h.Write(body)
	user := "anon"
	if p := auth.From(c); p != nil {
		user = p.UserID
	}
	now = now.UTC().Truncate(time.Microsecond) // the fencing token; see record
	return &record{UserID: user, Method: c.Request.Method, Route: c.FullPath(), IdemKey: key,
		RequestHash: hex.EncodeToString(h.Sum(nil)), State: stateInFlight, CreatedAt: now, ExpiresAt: now.Add(ttl)}, nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// serve runs the handler that owns the key and stores its answer, or
// releases the key when the answer is a server error, the handler panics, or
// the handler gave up because the client went away (499: there is no real
// answer to replay; handlers that must finish their work whatever the client
// does detach from the request's cancellation themselves).
func serve(c *gin.Context, db *database.DB, rec *record) {
	w := &recorder{ResponseWriter: c.Writer}
	c.Writer = w
	ctx := context.WithoutCancel(c.Request.Context()) // store even if the client left
	finished := false
	defer func() {
		c.Writer = w.ResponseWriter
		if finished && w.Status() < 500 && w.Status() != httpx.StatusClientClosedRequest {
			rec.Status, rec.ResponseBody, rec.ContentType = w.Status(), w.body.Bytes(), w.Header().Get("Content-Type")
			if err := complete(ctx, db, rec); err != nil {
				httpx.Logger(c).Error("idempotency: store answer", "error", err.Error())
			}
			return
		}
		if err := release(ctx, db, rec); err != nil {
			httpx.Logger(c).Error("idempotency: release key", "error", err.Error())
		}
	}()
	c.Next()
	finished = true
}

// recorder copies what the handler writes.
type recorder struct {
	gin.ResponseWriter
	body bytes.Buffer
}

var _ gin.ResponseWriter = (*recorder)(nil)

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) WriteString(s string) (int, error) {
	r.body.WriteString(s)
	return r.ResponseWriter.WriteString(s)
}
