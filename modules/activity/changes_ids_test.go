package activity

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMetricChangeIDs: the byte order of the metric feed's ids is the
// order of (user id, metric, slot start) the stores page in, for ids that
// are prefixes of one another, any bytes from 0x20 up, and starts before
// 1970; each id parses back.
func TestMetricChangeIDs(t *testing.T) {
	t.Parallel()
	type key struct {
		user, metric string
		start        int64
	}
	users := []string{"", "u", "u-b", "u0", "u ", "u\x7f", "ü", "uü"}
	for range 4 {
		users = append(users, uuid.Must(uuid.NewV7()).String())
	}
	var keys []key
	for _, u := range users {
		for _, m := range []string{"", "s", "steps", "steps_x", "heart_rate"} {
			for _, s := range []int64{math.MinInt64, -900_000_000, -1, 0, 1, 900_000_000, 1_772_442_000_000_000, math.MaxInt64} {
				keys = append(keys, key{u, m, s})
			}
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(strings.Compare(a.user, b.user), strings.Compare(a.metric, b.metric), cmp.Compare(a.start, b.start))
	})
	prev := ""
	for i, k := range keys {
		id := metricChangeID(k.user, k.metric, k.start)
		if i > 0 {
			require.Less(t, prev, id, "%q sorts after %q", id, prev)
		}
		prev = id
		u, m, s, ok := parseMetricChangeID(id)
		require.True(t, ok, "%q parses", id)
		assert.Equal(t, k, key{u, m, s})
	}
	assert.Equal(t, "u\x1fsteps\x1f0001772442000000000", metricChangeID("u", "steps", 1_772_442_000_000_000),
		"readable after 1970")
}
