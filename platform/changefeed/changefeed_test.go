package changefeed_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/changefeed"
)

func TestCursorOrder(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	a := changefeed.Cursor{At: t0, ID: "a"}
	assert.True(t, changefeed.Cursor{At: t0.Add(time.Microsecond)}.After(a), "a later time, whatever the id")
	assert.True(t, changefeed.Cursor{At: t0, ID: "b"}.After(a), "the same time, a later id")
	assert.False(t, a.After(a), "strictly after")
	assert.False(t, changefeed.Cursor{At: t0, ID: ""}.After(a))
	assert.True(t, a.After(changefeed.Cursor{}), "everything is after the zero cursor")
	assert.True(t, changefeed.Cursor{At: t0.In(time.FixedZone("x", 3600)), ID: "b"}.After(a), "zones do not matter")
}

func TestCheckLimit(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 500, changefeed.MaxLimit} {
		assert.NoError(t, changefeed.CheckLimit(n), n)
	}
	for _, n := range []int{-1, 0, changefeed.MaxLimit + 1} {
		assert.Equal(t, apperr.Invalid, apperr.KindOf(changefeed.CheckLimit(n)), n)
	}
}
