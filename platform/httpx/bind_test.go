package httpx_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/httpx"
)

type inner struct {
	N  int        `json:"n"`
	At *time.Time `json:"at,omitempty"`
}

type payload struct {
	Name  string     `json:"name"`
	Age   int        `json:"age"`
	OK    bool       `json:"ok"`
	Tags  []string   `json:"tags"`
	Score float64    `json:"score"`
	Inner *inner     `json:"inner"`
	When  *time.Time `json:"when,omitempty"`
	Laps  []inner    `json:"laps,omitempty"`
}

// bindServer echoes what BindJSON decoded into a payload.
func bindServer(tb testing.TB, maxBody int64) *testServer {
	tb.Helper()
	s := newServer(tb, httpx.Options{MaxBodyBytes: maxBody})
	s.POST("/bind", httpx.Handle(func(c *gin.Context) error {
		var p payload
		if err := httpx.BindJSON(c, &p); err != nil {
			return err
		}
		c.JSON(200, p)
		return nil
	}))
	return s
}

func post(body, contentType string) *http.Request {
	req := httptest.NewRequest("POST", "/bind", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// chunked makes a request whose length is unknown, as with Transfer-Encoding:
// chunked: only the body limit on reading can stop it.
func chunked(body string) *http.Request {
	req := httptest.NewRequest("POST", "/bind", io.MultiReader(strings.NewReader(body)))
	req.ContentLength = -1
	req.TransferEncoding = []string{"chunked"}
	req.Header.Set("Content-Type", "application/json")
	return req
}

const timeMsg = "must be an RFC 3339 time, like 2026-11-21T09:30:00Z"

func TestBindJSON(t *testing.T) {
	t.Parallel()
	s := bindServer(t, 1<<20)

	t.Run("decodes_a_valid_body", func(t *testing.T) {
		for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON"} {
			w := s.do(post(`{"name":"ann","age":30,"ok":true,"tags":["a"],"score":1.5,"inner":{"n":2}}`, ct))
			require.Equal(t, 200, w.Code, "content type %q: %s", ct, w.Body.String())
			assert.JSONEq(t, `{"name":"ann","age":30,"ok":true,"tags":["a"],"score":1.5,"inner":{"n":2}}`, w.Body.String())
		}
	})
	t.Run("accepts_surrounding_whitespace", func(t *testing.T) {
		w := s.do(post(" \n{\"name\":\"x\"}\n\n ", "application/json"))
		assert.Equal(t, 200, w.Code, w.Body.String())
	})

	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		code        string
		fields      map[string]string
	}{
		{name: "missing_content_type", body: `{}`, status: 415, code: "unsupported_media_type"},
		{name: "text_plain", body: `{}`, contentType: "text/plain", status: 415, code: "unsupported_media_type"},
		{name: "form", body: `name=x`, contentType: "application/x-www-form-urlencoded", status: 415, code: "unsupported_media_type"},
		{name: "json_lookalike", body: `{}`, contentType: "application/jsonx", status: 415, code: "unsupported_media_type"},
		{name: "malformed_content_type", body: `{}`, contentType: "application/json; =", status: 415, code: "unsupported_media_type"},

		{name: "empty_body", body: ``, status: 400, code: "invalid_json"},
		{name: "malformed", body: `{"name":`, status: 400, code: "invalid_json"},
		{name: "not_json", body: `{name: x}`, status: 400, code: "invalid_json"},
		{name: "trailing_garbage", body: `{"name":"x"} x`, status: 400, code: "invalid_json"},
		{name: "trailing_comma_garbage", body: `{"name":"x"},`, status: 400, code: "invalid_json"},
		{name: "two_values", body: `{"name":"x"}{"name":"y"}`, status: 400, code: "invalid_json"},
		{name: "array", body: `[1,2]`, status: 400, code: "invalid_json"},
		{name: "string", body: `"hello"`, status: 400, code: "invalid_json"},
		{name: "number", body: `42`, status: 400, code: "invalid_json"},
		{name: "null", body: `null`, status: 400, code: "invalid_json"},

		{name: "unknown_field", body: `{"name":"x","nmae":"y"}`, status: 400, code: "unknown_field", fields: map[string]string{"nmae": "unknown field"}},
		{name: "unknown_nested_field", body: `{"inner":{"m":1}}`, status: 400, code: "unknown_field", fields: map[string]string{"m": "unknown field"}},

		{name: "string_for_int", body: `{"age":"ten"}`, status: 400, code: "invalid_type", fields: map[string]string{"age": "must be an integer"}},
		{name: "fraction_for_int", body: `{"age":1.5}`, status: 400, code: "invalid_type", fields: map[string]string{"age": "must be an integer"}},
		{name: "number_for_string", body: `{"name":5}`, status: 400, code: "invalid_type", fields: map[string]string{"name": "must be a string"}},
		{name: "string_for_bool", body: `{"ok":"yes"}`, status: 400, code: "invalid_type", fields: map[string]string{"ok": "must be a boolean"}},
		{name: "string_for_array", body: `{"tags":"a"}`, status: 400, code: "invalid_type", fields: map[string]string{"tags": "must be an array"}},
		{name: "string_for_number", body: `{"score":"high"}`, status: 400, code: "invalid_type", fields: map[string]string{"score": "must be a number"}},
		{name: "array_for_object", body: `{"inner":[1]}`, status: 400, code: "invalid_type", fields: map[string]string{"inner": "must be an object"}},
		{name: "nested_field_is_named_by_path", body: `{"inner":{"n":"x"}}`, status: 400, code: "invalid_type", fields: map[string]string{"inner.n": "must be an integer"}},
		{name: "malformed_time", body: `{"when":"tomorrow"}`, status: 400, code: "invalid_type", fields: map[string]string{"when": timeMsg}},
		{name: "number_for_time", body: `{"name":"x","when":5}`, status: 400, code: "invalid_type", fields: map[string]string{"when": timeMsg}},
		{name: "nested_time_is_named_by_path", body: `{"when":"2026-11-21T09:30:00Z","laps":[{"at":"2026-11-21T09:31:00Z"},{"n":1,"at":"9:32"}]}`,
			status: 400, code: "invalid_type", fields: map[string]string{"laps[1].at": timeMsg}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.contentType
			if ct == "" && tt.status != 415 {
				ct = "application/json"
			}
			w := s.do(post(tt.body, ct))
			assert.Equal(t, tt.status, w.Code, w.Body.String())
			e := errorBody(t, w)
			assert.Equal(t, tt.code, e.Code)
			assert.NotEmpty(t, e.Message)
			if tt.fields != nil {
				assert.Equal(t, tt.fields, e.Fields)
			}
			if tt.code == "unknown_field" {
				for f := range tt.fields {
					assert.Contains(t, e.Message, f, "the message names the field")
				}
			}
		})
	}
}

func TestBindJSONBodyLimit(t *testing.T) {
	t.Parallel()
	const limit = 64
	s := bindServer(t, limit)
	big := `{"name":"` + strings.Repeat("a", 200) + `"}`
	padded := `{"name":"x"}` + strings.Repeat(" ", 200)

	t.Run("content_length_past_the_limit", func(t *testing.T) {
		req := post(big, "application/json")
		require.Greater(t, req.ContentLength, int64(limit))
		w := s.do(req)
		assert.Equal(t, 413, w.Code)
		assert.Equal(t, "body_too_large", errorBody(t, w).Code)
	})
	t.Run("chunked_body_past_the_limit", func(t *testing.T) {
		w := s.do(chunked(big))
		assert.Equal(t, 413, w.Code)
		assert.Equal(t, "body_too_large", errorBody(t, w).Code)
	})
	t.Run("chunked_body_whose_value_fits_but_the_rest_does_not", func(t *testing.T) {
		w := s.do(chunked(padded))
		assert.Equal(t, 413, w.Code)
		assert.Equal(t, "body_too_large", errorBody(t, w).Code)
	})
	t.Run("chunked_body_under_the_limit", func(t *testing.T) {
		w := s.do(chunked(`{"name":"x"}`))
		assert.Equal(t, 200, w.Code, w.Body.String())
	})
	t.Run("exactly_at_the_limit", func(t *testing.T) {
		body := `{"name":"` + strings.Repeat("a", limit-11) + `"}`
		require.Len(t, body, limit)
		assert.Equal(t, 200, s.do(post(body, "application/json")).Code)
		assert.Equal(t, 200, s.do(chunked(body)).Code)
	})
	t.Run("over_a_real_connection", func(t *testing.T) {
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		// A reader without a known length makes the client send chunked.
		req, err := http.NewRequest("POST", srv.URL+"/bind", io.MultiReader(strings.NewReader(big)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, 413, resp.StatusCode)
	})
}

func TestBodyLimitPerRoute(t *testing.T) {
	t.Parallel()
	s := newServer(t, httpx.Options{MaxBodyBytes: 64, BodyLimits: map[string]int64{"POST /big/:id": 1024}})
	echo := httpx.Handle(func(c *gin.Context) error {
		var p payload
		if err := httpx.BindJSON(c, &p); err != nil {
			return err
		}
		c.JSON(200, p)
		return nil
	})
	s.POST("/big/:id", echo)
	s.POST("/bind", echo)
	body := `{"name":"` + strings.Repeat("a", 200) + `"}`
	big := httptest.NewRequest("POST", "/big/1", strings.NewReader(body))
	big.Header.Set("Content-Type", "application/json")
	assert.Equal(t, 200, s.do(big).Code, "the route's own limit applies")
	assert.Equal(t, 413, s.do(post(body, "application/json")).Code, "other routes keep the default")
	huge := httptest.NewRequest("POST", "/big/1", strings.NewReader(`{"name":"`+strings.Repeat("a", 2000)+`"}`))
	huge.Header.Set("Content-Type", "application/json")
	assert.Equal(t, 413, s.do(huge).Code)
}

func TestBindOptionalJSON(t *testing.T) {
	t.Parallel()
	s := newServer(t, httpx.Options{MaxBodyBytes: 64})
	s.POST("/opt", httpx.Handle(func(c *gin.Context) error {
		p := payload{Name: "unset"}
		if err := httpx.BindOptionalJSON(c, &p); err != nil {
			return err
		}
		c.JSON(200, p)
		return nil
	}))
	req := func(body string, chunked bool, ct string) *http.Request {
		r := httptest.NewRequest("POST", "/opt", strings.NewReader(body))
		if chunked {
			r = httptest.NewRequest("POST", "/opt", io.MultiReader(strings.NewReader(body)))
			r.ContentLength = -1
		}
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		return r
	}
	for _, tt := range []struct {
		name, body string
		chunked    bool
		ct         string
		code       int
		want       string
	}{
		{"no_body", "", false, "", 200, `"name":"unset"`},
		{"empty_chunked_body_without_content_type", "", true, "", 200, `"name":"unset"`},
		{"blank_body", "  \n", false, "application/json", 200, `"name":"unset"`},
		{"a_body_is_bound", `{"name":"x"}`, true, "application/json", 200, `"name":"x"`},
		{"a_body_needs_json", `{"name":"x"}`, false, "text/plain", 415, "unsupported_media_type"},
		{"a_bad_body_is_refused", `{"name":`, false, "application/json", 400, "invalid_json"},
		{"an_oversize_body_is_413", `{"name":"` + strings.Repeat("a", 100) + `"}`, true, "application/json", 413, "body_too_large"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := s.do(req(tt.body, tt.chunked, tt.ct))
			assert.Equal(t, tt.code, w.Code, w.Body.String())
			assert.Contains(t, w.Body.String(), tt.want)
		})
	}
}
