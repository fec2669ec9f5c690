package httpx_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/httpx"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	s := newServer(t, httpx.Options{CORSOrigins: []string{"https://app.example"}})
	handled := 0
	s.POST("/things", func(c *gin.Context) { handled++; c.Status(201) })
	s.GET("/things", func(c *gin.Context) { handled++; c.Status(200) })

	preflight := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("OPTIONS", "/things", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "Authorization, Content-Type")
		return s.do(req)
	}

	t.Run("allowed_origin_gets_headers", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/things", nil)
		req.Header.Set("Origin", "https://app.example")
		w := s.do(req)
		assert.Equal(t, 200, w.Code)
		assert.Equal(t, "https://app.example", w.Header().Get("Access-Control-Allow-Origin"))
		assert.Contains(t, w.Header().Values("Vary"), "Origin")
		assert.Contains(t, w.Header().Get("Access-Control-Expose-Headers"), httpx.HeaderRequestID)
	})
	t.Run("allowed_preflight_is_204_without_reaching_the_handler", func(t *testing.T) {
		before := handled
		w := preflight("https://app.example")
		assert.Equal(t, 204, w.Code)
		assert.Equal(t, before, handled)
		assert.Equal(t, "https://app.example", w.Header().Get("Access-Control-Allow-Origin"))
		assert.Contains(t, w.Header().Get("Access-Control-Allow-Methods"), "POST")
		assert.Contains(t, w.Header().Get("Access-Control-Allow-Headers"), "Authorization")
		assert.Contains(t, w.Header().Get("Access-Control-Allow-Headers"), "Content-Type")
		assert.Contains(t, w.Header().Get("Access-Control-Allow-Headers"), "Idempotency-Key")
		assert.NotEmpty(t, w.Header().Get("Access-Control-Max-Age"))
	})
	t.Run("disallowed_origin_gets_none", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/things", nil)
		req.Header.Set("Origin", "https://evil.example")
		w := s.do(req)
		assert.Equal(t, 200, w.Code, "same-origin policy is the browser's job; the request is served")
		assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))

		w = preflight("https://evil.example")
		assert.NotEqual(t, 204, w.Code)
		for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
			assert.Empty(t, w.Header().Get(h), h)
		}
	})
	t.Run("origin_match_is_exact", func(t *testing.T) {
		for _, o := range []string{"https://app.example.evil.com", "http://app.example", "https://APP.example/"} {
			assert.Empty(t, preflight(o).Header().Get("Access-Control-Allow-Origin"), o)
		}
	})
	t.Run("no_origin_no_headers", func(t *testing.T) {
		w := s.do(httptest.NewRequest("GET", "/things", nil))
		assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))
	})
	t.Run("empty_list_allows_none", func(t *testing.T) {
		none := newServer(t, httpx.Options{})
		none.GET("/things", func(c *gin.Context) { c.Status(200) })
		req := httptest.NewRequest("GET", "/things", nil)
		req.Header.Set("Origin", "https://app.example")
		assert.Empty(t, none.do(req).Header().Get("Access-Control-Allow-Origin"))
	})
	t.Run("wildcard_allows_any_origin", func(t *testing.T) {
		any := newServer(t, httpx.Options{CORSOrigins: []string{"*"}})
		any.POST("/things", func(c *gin.Context) { c.Status(201) })
		req := httptest.NewRequest("OPTIONS", "/things", nil)
		req.Header.Set("Origin", "https://whoever.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		w := any.do(req)
		assert.Equal(t, 204, w.Code)
		// The origin is echoed (not "*") so credentials could work with Vary: Origin.
		assert.Equal(t, "https://whoever.example", w.Header().Get("Access-Control-Allow-Origin"))
	})
}

func pageOf(t *testing.T, query string) (httpx.Page, error) {
	t.Helper()
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("GET", "/x?"+query, nil)
	return httpx.PageOf(c)
}

func TestPageOf(t *testing.T) {
	t.Parallel()
	limits := map[string]int{
		"":           httpx.DefaultLimit,
		"limit=5":    5,
		"limit=1":    1,
		"limit=0":    1,
		"limit=-7":   1,
		"limit=100":  100,
		"limit=101":  100,
		"limit=1000": 100,
	}
	for q, want := range limits {
		p, err := pageOf(t, q)
		require.NoError(t, err, q)
		assert.Equal(t, want, p.Limit, q)
	}

	t.Run("rejects_a_non_integer_limit", func(t *testing.T) {
		for _, q := range []string{"limit=abc", "limit=1.5", "limit=99999999999999999999"} {
			_, err := pageOf(t, q)
			requireFieldError(t, err, "limit")
		}
	})
	t.Run("decodes_a_cursor", func(t *testing.T) {
		c := base64.RawURLEncoding.EncodeToString([]byte("0192-key"))
		p, err := pageOf(t, "cursor="+c)
		require.NoError(t, err)
		assert.Equal(t, "0192-key", p.Cursor)
	})
	t.Run("rejects_a_bad_cursor", func(t *testing.T) {
		tooLong := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("k", 257)))
		padded := base64.URLEncoding.EncodeToString([]byte("ab"))
		for _, q := range []string{"cursor=!!!", "cursor=" + tooLong, "cursor=" + padded, "cursor=a"} {
			_, err := pageOf(t, q)
			requireFieldError(t, err, "cursor")
		}
	})
}

func requireFieldError(t *testing.T, err error, field string) {
	t.Helper()
	require.Error(t, err)
	s := newServer(t, httpx.Options{})
	s.GET("/e", httpx.Handle(func(*gin.Context) error { return err }))
	w := s.do(httptest.NewRequest("GET", "/e", nil))
	assert.Equal(t, 400, w.Code)
	assert.Contains(t, errorBody(t, w).Fields, field)
}

type item struct{ ID string }

func TestNewList(t *testing.T) {
	t.Parallel()
	key := func(i item) string { return i.ID }
	items := func(n int) []item {
		out := make([]item, n)
		for i := range out {
			out[i] = item{ID: string(rune('a' + i))}
		}
		return out
	}

	t.Run("no_cursor_when_nothing_more", func(t *testing.T) {
		for _, n := range []int{0, 1, 3} {
			l := httpx.NewList(items(n), 3, key)
			assert.Len(t, l.Items, n)
			assert.Empty(t, l.NextCursor, "n=%d", n)
		}
	})
	t.Run("cursor_is_the_key_of_the_last_returned_item", func(t *testing.T) {
		l := httpx.NewList(items(4), 3, key)
		assert.Equal(t, items(3), l.Items)
		raw, err := base64.RawURLEncoding.DecodeString(l.NextCursor)
		require.NoError(t, err)
		assert.Equal(t, "c", string(raw))
	})
	t.Run("cursor_round_trips_through_page_of", func(t *testing.T) {
		l := httpx.NewList(items(3), 2, key)
		p, err := pageOf(t, "limit=2&cursor="+l.NextCursor)
		require.NoError(t, err)
		assert.Equal(t, "b", p.Cursor)
	})
	t.Run("json_shape", func(t *testing.T) {
		b, err := json.Marshal(httpx.NewList[item](nil, 10, key))
		require.NoError(t, err)
		assert.JSONEq(t, `{"items":[]}`, string(b), "an empty list is [] and next_cursor is omitted")
		b, err = json.Marshal(httpx.NewList(items(2), 1, key))
		require.NoError(t, err)
		assert.Contains(t, string(b), `"next_cursor":"`)
	})
}
