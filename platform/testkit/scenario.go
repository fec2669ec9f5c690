package testkit

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Scenario is one HTTP request against a handler and what its answer must
// look like. Tables of scenarios are how API tests read (pocketbase
// tests/api.go): name, request, credential, expected status, and body
// fragments that must or must not appear.
type Scenario struct {
	// Name is the subtest name: a sentence in snake case.
	Name   string
	Method string
	URL    string
	// Body is sent as is when it is a string or []byte, streamed with an
	// unknown length (no Content-Length) when it is an io.Reader, and
	// marshalled to JSON otherwise. A non-nil Body gets
	// "Content-Type: application/json" unless Headers says otherwise.
	Body any
	// Headers are set on the request; an empty value removes the header
	// (to send a body without a Content-Type, say).
	Headers map[string]string
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// RemoteAddr, when set, is the client address ("203.0.113.7:4000").
	RemoteAddr string

	// ExpectedStatus is the status the answer must have.
	ExpectedStatus int
	// ExpectedContent are fragments the body must contain.
	ExpectedContent []string
	// NotExpectedContent are fragments the body must not contain.
	NotExpectedContent []string

	// Before runs before the request is built.
	Before func(tb testing.TB)
	// After runs after the checks, with the answer.
	After func(tb testing.TB, resp *Response)
}

// Response is a recorded answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// String returns the body as text.
func (r *Response) String() string { return string(r.Body) }

// Decode unmarshals the JSON body into dst, failing the test when it cannot.
func (r *Response) Decode(tb testing.TB, dst any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, dst); err != nil {
		tb.Fatalf("testkit: decode response body %q: %v", truncate(r.Body), err)
	}
}

// ResponseValidator checks one exchange against a contract. *OpenAPIValidator
// is one; any type with this method will do.
type ResponseValidator interface {
	Check(tb testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, body []byte)
}

// CheckFunc inspects one exchange after the scenario's own checks.
type CheckFunc func(tb testing.TB, req *http.Request, reqBody []byte, resp *Response)

// Option changes how scenarios run.
type Option func(*runConfig)

type runConfig struct {
	checks      []CheckFunc
	notExpected []string
	headers     map[string]string
}

// WithValidator checks every exchange with v (the OpenAPI document, say).
func WithValidator(v ResponseValidator) Option {
	return WithCheck(func(tb testing.TB, req *http.Request, reqBody []byte, resp *Response) {
		tb.Helper()
		v.Check(tb, req, reqBody, resp.Status, resp.Header, resp.Body)
	})
}

// WithCheck runs fn on every exchange.
func WithCheck(fn CheckFunc) Option {
	return func(c *runConfig) { c.checks = append(c.checks, fn) }
}

// WithNotExpectedContent adds fragments no body may ever contain (a password
// hash marker, say), on top of each scenario's own list.
func WithNotExpectedContent(fragments ...string) Option {
	return func(c *runConfig) { c.notExpected = append(c.notExpected, fragments...) }
}

// WithHeaders sets headers on every request; a scenario's Headers win.
func WithHeaders(h map[string]string) Option {
	return func(c *runConfig) {
		if c.headers == nil {
			c.headers = map[string]string{}
		}
		for k, v := range h {
			c.headers[k] = v
		}
	}
}

// Run runs the scenario as the subtest s.Name of t.
func (s Scenario) Run(t *testing.T, h http.Handler, opts ...Option) {
	t.Helper()
	t.Run(s.Name, func(t *testing.T) {
		t.Helper()
		s.Do(t, h, opts...)
	})
}

// Do runs the scenario in tb itself and returns the answer, so a test that
// walks through a flow can use what one step returns in the next.
func (s Scenario) Do(tb testing.TB, h http.Handler, opts ...Option) *Response {
	tb.Helper()
	cfg := runConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if s.Before != nil {
		s.Before(tb)
	}
	req, reqBody := s.request(tb, cfg.headers)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := &Response{Status: rec.Code, Header: rec.Result().Header, Body: rec.Body.Bytes()}

	if s.ExpectedStatus != 0 && resp.Status != s.ExpectedStatus {
		tb.Errorf("%s %s: status %d, want %d; body: %s", s.Method, s.URL, resp.Status, s.ExpectedStatus, truncate(resp.Body))
	}
	for _, want := range s.ExpectedContent {
		if !bytes.Contains(resp.Body, []byte(want)) {
			tb.Errorf("%s %s: body lacks %q; body: %s", s.Method, s.URL, want, truncate(resp.Body))
		}
	}
	for _, bad := range append(append([]string{}, cfg.notExpected...), s.NotExpectedContent...) {
		if bad != "" && bytes.Contains(resp.Body, []byte(bad)) {
			tb.Errorf("%s %s: body contains %q; body: %s", s.Method, s.URL, bad, truncate(resp.Body))
		}
	}
	for _, check := range cfg.checks {
		check(tb, req, reqBody, resp)
	}
	if s.After != nil {
		s.After(tb, resp)
	}
	return resp
}

// request builds the scenario's request and returns the body bytes it carries.
func (s Scenario) request(tb testing.TB, defaults map[string]string) (*http.Request, []byte) {
	tb.Helper()
	var (
		raw    []byte
		reader io.Reader
	)
	switch b := s.Body.(type) {
	case nil:
	case string:
		raw = []byte(b)
		reader = strings.NewReader(b)
	case []byte:
		raw = b
		reader = bytes.NewReader(b)
	case io.Reader:
		var err error
		if raw, err = io.ReadAll(b); err != nil {
			tb.Fatalf("testkit: read scenario body: %v", err)
		}
		// Not a *bytes.Reader, so httptest leaves the length unknown.
		reader = io.MultiReader(bytes.NewReader(raw))
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			tb.Fatalf("testkit: marshal scenario body: %v", err)
		}
		reader = bytes.NewReader(raw)
	}
	method := s.Method
	if method == "" {
		method = http.MethodGet
	}
	req := httptest.NewRequest(method, s.URL, reader)
	if s.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	for _, hs := range []map[string]string{defaults, s.Headers} {
		for k, v := range hs {
			if v == "" {
				req.Header.Del(k)
			} else {
				req.Header.Set(k, v)
			}
		}
	}
	if s.RemoteAddr != "" {
		req.RemoteAddr = s.RemoteAddr
	}
	return req, raw
}

// truncate shortens a body for a failure message.
func truncate(b []byte) string {
	const max = 2000
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// ErrorBody is the JSON error envelope, decoded.
type ErrorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
		Details map[string]string `json:"details"`
	} `json:"error"`
}

// ErrorOf decodes an error answer.
func ErrorOf(tb testing.TB, resp *Response) ErrorBody {
	tb.Helper()
	var e ErrorBody
	resp.Decode(tb, &e)
	return e
}

// Code is the fragment an error body with that code contains (for
// Scenario's body checks).
func Code(c string) string { return `"code":"` + c + `"` }

// Field is the fragment an error body naming that field contains.
func Field(f string) string { return `"` + f + `":` }
