package httpx

import (
	"encoding/base64"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/apperr"
)

// Page limits.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Page is a keyset page request: at most Limit items after Cursor.
type Page struct {
	Limit  int
	Cursor string
}

// PageOf reads ?limit= and ?cursor=. The limit is clamped to [1, MaxLimit];
// the cursor is opaque to clients (base64url of the last item's sort key).
func PageOf(c *gin.Context) (Page, error) {
	p := Page{Limit: DefaultLimit}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return p, apperr.FieldError("limit", "must be an integer")
		}
		p.Limit = min(max(n, 1), MaxLimit)
	}
	if s := c.Query("cursor"); s != "" {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(raw) == 0 || len(raw) > 256 {
			return p, apperr.FieldError("cursor", "is not a cursor this server issued")
		}
		p.Cursor = string(raw)
	}
	return p, nil
}

// List is the JSON shape of every paginated list.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// NewList builds the response from one extra-item fetch: items holds up to
// limit+1 rows; when it holds more than limit, the next cursor is the key of
// the last returned item.
func NewList[T any](items []T, limit int, key func(T) string) List[T] {
	l := List[T]{Items: items}
	if len(items) > limit {
		l.Items = items[:limit]
		l.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(key(items[limit-1])))
	}
	if l.Items == nil {
		l.Items = []T{}
	}
	return l
}
