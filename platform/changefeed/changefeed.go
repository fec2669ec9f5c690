// Package changefeed is what the modules' change feeds share: the cursor
// and the page limit. A feed answers the rows created, changed or deleted
// (as tombstones) strictly after a cursor, ordered by (changed_at, id), at
// most a limit; the reporting warehouse (modules/etl) reads the other
// modules only through such feeds.
//
// changed_at comes from the writing replica's clock before its commit, so
// a change may become visible after a later-stamped one: a consumer
// re-reads a margin before its last cursor (or stays that far behind the
// present), and must apply changes idempotently.
package changefeed

import (
	"fmt"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
)

// MaxLimit is the most changes one page may ask for.
const MaxLimit = 10_000

// Cursor is a position in a feed: the ChangedAt and id of the last change
// taken. The zero Cursor is before every change.
type Cursor struct {
	At time.Time `json:"changed_at"`
	ID string    `json:"id"`
}

// After reports whether c is later than o.
func (c Cursor) After(o Cursor) bool {
	return c.At.After(o.At) || (c.At.Equal(o.At) && c.ID > o.ID)
}

// CheckLimit refuses a page size outside 1..MaxLimit (apperr Invalid on
// the field "limit").
func CheckLimit(limit int) error {
	if limit < 1 || limit > MaxLimit {
		return apperr.FieldError("limit", fmt.Sprintf("must be between 1 and %d", MaxLimit))
	}
	return nil
}
