package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/httpx"
)

// testServer is an engine with its log captured. Requests are served through a
// ResponseRecorder on the calling goroutine, so reading the buffer is safe.
type testServer struct {
	*gin.Engine
	logs *bytes.Buffer
}

func newServer(tb testing.TB, opt httpx.Options) *testServer {
	tb.Helper()
	if opt.MaxBodyBytes == 0 {
		opt.MaxBodyBytes = 1 << 20
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return &testServer{Engine: httpx.NewEngine(log, opt), logs: &buf}
}

// do serves one request and returns the recorder.
func (s *testServer) do(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w
}

// logLines decodes every JSON log line written so far.
func (s *testServer) logLines(tb testing.TB) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(tb, json.Unmarshal([]byte(line), &m), "log line %q", line)
		out = append(out, m)
	}
	return out
}

// findLog returns the first log line with msg.
func (s *testServer) findLog(tb testing.TB, msg string) map[string]any {
	tb.Helper()
	for _, l := range s.logLines(tb) {
		if l["msg"] == msg {
			return l
		}
	}
	tb.Fatalf("no %q log line in:\n%s", msg, s.logs.String())
	return nil
}

func errorBody(tb testing.TB, w *httptest.ResponseRecorder) httpx.ErrorDetail {
	tb.Helper()
	assert.Equal(tb, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
	var body httpx.ErrorBody
	require.NoError(tb, json.Unmarshal(w.Body.Bytes(), &body), "body %s", w.Body.String())
	return body.Error
}

func TestErrorTable(t *testing.T) {
	t.Parallel()
	want := map[apperr.Kind]int{
		apperr.Internal:         500,
		apperr.Invalid:          400,
		apperr.Unauthenticated:  401,
		apperr.Forbidden:        403,
		apperr.NotFound:         404,
		apperr.Conflict:         409,
		apperr.TooLarge:         413,
		apperr.UnsupportedMedia: 415,
		apperr.RateLimited:      429,
		apperr.Unavailable:      503,
	}
	for k := apperr.Internal; k <= apperr.Unavailable; k++ {
		status, ok := want[k]
		require.True(t, ok, "kind %s has no expected status in this test", k)
		assert.Equal(t, status, httpx.StatusOf(k), "kind %s", k)
	}
	assert.Equal(t, 500, httpx.StatusOf(apperr.Kind(250)), "an unknown kind is a server error")

	for k, status := range want {
		if k == apperr.Internal {
			continue
		}
		t.Run("renders_"+k.String(), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, httpx.Options{})
			s.GET("/x", httpx.Handle(func(*gin.Context) error {
				return fmt.Errorf("wrapped: %w", &apperr.Error{Kind: k, Code: "some_code", Message: "Some message.",
					Fields: map[string]string{"f": "is bad"}})
			}))
			w := s.do(httptest.NewRequest("GET", "/x", nil))
			assert.Equal(t, status, w.Code)
			e := errorBody(t, w)
			assert.Equal(t, "some_code", e.Code)
			assert.Equal(t, "Some message.", e.Message)
			assert.Equal(t, map[string]string{"f": "is bad"}, e.Fields)
			assert.Equal(t, w.Header().Get(httpx.HeaderRequestID), e.RequestID)
			assert.NotContains(t, s.logs.String(), "internal error", "only Internal errors are logged")
		})
	}
}

func TestErrorEnvelopeShape(t *testing.T) {
	t.Parallel()
	s := newServer(t, httpx.Options{})
	s.GET("/x", httpx.Handle(func(*gin.Context) error { return apperr.NotFoundf("goal_not_found", "Goal") }))
	w := s.do(httptest.NewRequest("GET", "/x", nil))
	var raw map[string]map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &raw))
	assert.Equal(t, "goal_not_found", raw["error"]["code"])
	assert.Equal(t, "Goal not found.", raw["error"]["message"])
	_, hasFields := raw["error"]["fields"]
	assert.False(t, hasFields, "fields is omitted when empty")
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	s := newServer(t, httpx.Options{})
	s.GET("/x", httpx.Handle(func(*gin.Context) error {
		return &apperr.Error{Kind: apperr.RateLimited, Code: "too_many_attempts", Message: "Slow down.", RetryAfter: 42}
	}))
	w := s.do(httptest.NewRequest("GET", "/x", nil))
	assert.Equal(t, 429, w.Code)
	assert.Equal(t, "42", w.Header().Get("Retry-After"))
}

func TestInternalErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]error{
		"plain_error":         fmt.Errorf("query users: password=hunter2 %w", io.ErrUnexpectedEOF),
		"internal_kind":       &apperr.Error{Kind: apperr.Internal, Code: "db", Message: "password=hunter2 leaked"},
		"internal_with_cause": &apperr.Error{Kind: apperr.Internal, Code: "db", Message: "x", Err: errors.New("password=hunter2")},
	}
	for name, err := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, httpx.Options{})
			s.GET("/things/:id", httpx.Handle(func(*gin.Context) error { return err }))
			req := httptest.NewRequest("GET", "/things/1", nil)
			req.Header.Set(httpx.HeaderRequestID, "req-internal-1")
			w := s.do(req)
			assert.Equal(t, 500, w.Code)
			e := errorBody(t, w)
			assert.Equal(t, "internal", e.Code)
			assert.Equal(t, "Internal error.", e.Message)
			assert.Empty(t, e.Fields)
			assert.Equal(t, "req-internal-1", e.RequestID)
			assert.NotContains(t, w.Body.String(), "hunter2")

			l := s.findLog(t, "internal error")
			assert.Equal(t, "ERROR", l["level"])
			assert.Equal(t, "req-internal-1", l["request_id"])
			assert.Contains(t, l["error"], "hunter2", "the log keeps the cause")
			assert.Equal(t, "/things/:id", l["route"])
			assert.Equal(t, "GET", l["method"])
		})
	}
}

// TestClientClosedRequest: when the client has gone, the error the store
// returns names the cut in its own words (a driver's "bad connection", a
// rolled-back transaction); it is logged at info as 499, never as a 500 at
// ERROR. A domain error is still rendered as itself.
func TestClientClosedRequest(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		err    error
		status int
	}{
		"context_canceled": {fmt.Errorf("list workouts: %w", context.Canceled), httpx.StatusClientClosedRequest},
		"driver_error":     {errors.New("driver: bad connection"), httpx.StatusClientClosedRequest},
		"domain_error":     {apperr.E(apperr.NotFound, "workout_not_found", "No such workout."), http.StatusNotFound},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, httpx.Options{})
			s.GET("/things/:id", httpx.Handle(func(*gin.Context) error { return tc.err }))
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			w := s.do(httptest.NewRequest("GET", "/things/1", nil).WithContext(ctx))
			assert.Equal(t, tc.status, w.Code)
			for _, l := range s.logLines(t) {
				assert.NotEqual(t, "ERROR", l["level"], "log line %v", l)
			}
			if tc.status == httpx.StatusClientClosedRequest {
				l := s.findLog(t, "client closed request")
				assert.Equal(t, "INFO", l["level"])
				assert.Equal(t, tc.err.Error(), l["error"])
			}
		})
	}
	t.Run("deadline_is_still_an_error", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, httpx.Options{})
		s.GET("/things/:id", httpx.Handle(func(*gin.Context) error { return errors.New("driver: bad connection") }))
		ctx, cancel := context.WithTimeout(context.Background(), -time.Second)
		defer cancel()
		w := s.do(httptest.NewRequest("GET", "/things/1", nil).WithContext(ctx))
		assert.Equal(t, 500, w.Code)
		assert.Equal(t, "ERROR", s.findLog(t, "internal error")["level"])
	})
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	s := newServer(t, httpx.Options{AccessLog: true})
	s.GET("/boom", func(*gin.Context) { panic("secret panic value") })
	req := httptest.NewRequest("GET", "/boom", nil)
	req.Header.Set(httpx.HeaderRequestID, "req-panic")
	w := s.do(req)
	assert.Equal(t, 500, w.Code)
	e := errorBody(t, w)
	assert.Equal(t, "Internal error.", e.Message)
	assert.Equal(t, "req-panic", e.RequestID)
	assert.NotContains(t, w.Body.String(), "secret panic value")

	l := s.findLog(t, "panic")
	assert.Equal(t, "req-panic", l["request_id"])
	assert.Contains(t, l["stack"], "httpx_test")
	access := s.findLog(t, "request")
	assert.EqualValues(t, 500, access["status"], "the access log sees the recovered status")

	t.Run("server_survives", func(t *testing.T) {
		s.GET("/ok", func(c *gin.Context) { c.Status(204) })
		assert.Equal(t, 204, s.do(httptest.NewRequest("GET", "/ok", nil)).Code)
	})
}

func TestPanicAbortHandlerIsRepanicked(t *testing.T) {
	t.Parallel()
	s := newServer(t, httpx.Options{})
	s.GET("/abort", func(*gin.Context) { panic(http.ErrAbortHandler) })
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { s.do(httptest.NewRequest("GET", "/abort", nil)) },
		"net/http must see ErrAbortHandler to drop the connection quietly")
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	s := newServer(t, httpx.Options{})
	var seen string
	s.GET("/id", func(c *gin.Context) {
		seen = httpx.RequestID(c)
		httpx.Logger(c).Info("in handler")
		c.Status(204)
	})
	get := func(id string, set bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/id", nil)
		if set {
			req.Header.Set(httpx.HeaderRequestID, id)
		}
		return s.do(req)
	}

	t.Run("generated_when_missing", func(t *testing.T) {
		w := get("", false)
		id := w.Header().Get(httpx.HeaderRequestID)
		assert.Regexp(t, `^[0-9a-f]{24}$`, id)
		assert.Equal(t, id, seen)
		other := get("", false).Header().Get(httpx.HeaderRequestID)
		assert.NotEqual(t, id, other, "each request gets its own id")
	})
	t.Run("accepted_and_echoed", func(t *testing.T) {
		for _, id := range []string{"abc-123", "trace:4bf92f3577b34da6a3ce929d0e0e4736", strings.Repeat("x", 128), "a/b_c.d=e"} {
			w := get(id, true)
			assert.Equal(t, id, w.Header().Get(httpx.HeaderRequestID))
			assert.Equal(t, id, seen)
		}
	})
	t.Run("request_logger_carries_it", func(t *testing.T) {
		s.logs.Reset()
		get("log-me", true)
		assert.Equal(t, "log-me", s.findLog(t, "in handler")["request_id"])
	})
	t.Run("rejected_and_replaced", func(t *testing.T) {
		for name, id := range map[string]string{
			"space":     "has space",
			"non_ascii": "café",
			"control":   "a\x01b",
			"too_long":  strings.Repeat("x", 129),
			"tab":       "a\tb",
		} {
			w := get(id, true)
			got := w.Header().Get(httpx.HeaderRequestID)
			assert.NotEqual(t, id, got, name)
			assert.Regexp(t, `^[0-9a-f]{24}$`, got, name)
			assert.Equal(t, got, seen, name)
		}
	})
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	s := newServer(t, httpx.Options{AccessLog: true})
	s.GET("/users/:user_id", func(c *gin.Context) { c.JSON(200, gin.H{"ok": true}) })

	req := httptest.NewRequest("GET", "/users/u-123", nil)
	req.Header.Set(httpx.HeaderRequestID, "req-access")
	s.do(req)
	l := s.findLog(t, "request")
	assert.Equal(t, "INFO", l["level"])
	assert.Equal(t, "GET", l["method"])
	assert.Equal(t, "/users/:user_id", l["route"], "the route pattern, not the raw path")
	assert.EqualValues(t, 200, l["status"])
	assert.Equal(t, "req-access", l["request_id"])
	assert.Contains(t, l, "duration")
	assert.Contains(t, l, "client_ip")
	assert.NotContains(t, s.logs.String(), "u-123")

	t.Run("unmatched_routes", func(t *testing.T) {
		s.logs.Reset()
		s.do(httptest.NewRequest("GET", "/nowhere/secret-token", nil))
		l := s.findLog(t, "request")
		assert.Equal(t, "unmatched", l["route"])
		assert.EqualValues(t, 404, l["status"])
		assert.NotContains(t, s.logs.String(), "secret-token")
	})
	t.Run("off_when_disabled", func(t *testing.T) {
		quiet := newServer(t, httpx.Options{AccessLog: false})
		quiet.GET("/x", func(c *gin.Context) { c.Status(204) })
		quiet.do(httptest.NewRequest("GET", "/x", nil))
		assert.Empty(t, quiet.logs.String())
	})
}

func TestObserve(t *testing.T) {
	t.Parallel()
	var routes []string
	var statuses []int
	s := newServer(t, httpx.Options{Observe: func(sum httpx.Summary) {
		routes = append(routes, sum.Method+" "+sum.Route)
		statuses = append(statuses, sum.Status)
		assert.GreaterOrEqual(t, sum.Duration, time.Duration(0))
	}})
	s.GET("/a/:id", func(c *gin.Context) { c.Status(204) })
	s.do(httptest.NewRequest("GET", "/a/1", nil))
	s.do(httptest.NewRequest("GET", "/zzz", nil))
	assert.Equal(t, []string{"GET /a/:id", "GET unmatched"}, routes)
	assert.Equal(t, []int{204, 404}, statuses)
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	t.Parallel()
	s := newServer(t, httpx.Options{})
	s.GET("/things", func(c *gin.Context) { c.Status(200) })
	s.POST("/things", func(c *gin.Context) { c.Status(201) })

	t.Run("unknown_route_is_json_404", func(t *testing.T) {
		w := s.do(httptest.NewRequest("GET", "/nope", nil))
		assert.Equal(t, 404, w.Code)
		e := errorBody(t, w)
		assert.Equal(t, "route_not_found", e.Code)
		assert.NotEmpty(t, e.RequestID)
	})
	t.Run("wrong_method_is_json_405_with_allow", func(t *testing.T) {
		w := s.do(httptest.NewRequest("DELETE", "/things", nil))
		assert.Equal(t, 405, w.Code)
		e := errorBody(t, w)
		assert.Equal(t, "method_not_allowed", e.Code)
		assert.NotEmpty(t, e.RequestID)
		assert.ElementsMatch(t, []string{"GET", "POST"}, strings.Split(w.Header().Get("Allow"), ", "))
	})
}

func TestHandleRespondNoContent(t *testing.T) {
	t.Parallel()
	s := newServer(t, httpx.Options{})
	s.GET("/respond", httpx.Handle(func(c *gin.Context) error {
		return httpx.Respond(c, 201)(map[string]int{"n": 1}, nil)
	}))
	s.GET("/respond-err", httpx.Handle(func(c *gin.Context) error {
		return httpx.Respond(c, 201)(nil, apperr.E(apperr.Conflict, "taken", "Taken."))
	}))
	s.GET("/none", httpx.Handle(func(c *gin.Context) error { return httpx.NoContent(c, nil) }))
	s.GET("/none-err", httpx.Handle(func(c *gin.Context) error {
		return httpx.NoContent(c, apperr.E(apperr.Forbidden, "no", "No."))
	}))

	w := s.do(httptest.NewRequest("GET", "/respond", nil))
	assert.Equal(t, 201, w.Code)
	assert.JSONEq(t, `{"n":1}`, w.Body.String())
	assert.Equal(t, 409, s.do(httptest.NewRequest("GET", "/respond-err", nil)).Code)
	w = s.do(httptest.NewRequest("GET", "/none", nil))
	assert.Equal(t, 204, w.Code)
	assert.Empty(t, w.Body.String())
	assert.Equal(t, 403, s.do(httptest.NewRequest("GET", "/none-err", nil)).Code)
}

func TestLoggerFromDefaults(t *testing.T) {
	t.Parallel()
	assert.Same(t, slog.Default(), httpx.LoggerFrom(t.Context()))
}
