package jobs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	base, maxDelay := time.Second, 10*time.Second

	t.Run("doubles_per_attempt_up_to_the_cap", func(t *testing.T) {
		t.Parallel()
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second}
		for i, w := range want {
			assert.Equal(t, w, ceiling(i+1, base, maxDelay), "attempt %d", i+1)
		}
		assert.Equal(t, maxDelay, ceiling(500, base, maxDelay), "no overflow on huge attempt counts")
	})

	t.Run("jitters_within_zero_and_the_ceiling", func(t *testing.T) {
		t.Parallel()
		seen := map[bool]int{}
		for range 1000 {
			d := backoff(3, base, maxDelay)
			assert.GreaterOrEqual(t, d, time.Duration(0))
			assert.LessOrEqual(t, d, 4*time.Second)
			seen[d < 2*time.Second]++
		}
		assert.Len(t, seen, 2, "delays spread over the whole range")
	})
}
