package cache

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testContract checks the Cache semantics every implementation shares, in
// real time: expiries are short and awaited with Eventually.
func testContract(t *testing.T, c Cache) {
	t.Helper()
	ctx := context.Background()
	t.Run("misses_an_absent_key", func(t *testing.T) {
		_, ok, err := c.Get(ctx, "absent")
		require.NoError(t, err)
		assert.False(t, ok)
	})
	t.Run("returns_what_was_set", func(t *testing.T) {
		require.NoError(t, c.Set(ctx, "k1", []byte("hello"), time.Minute))
		v, ok, err := c.Get(ctx, "k1")
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, []byte("hello"), v)
	})
	t.Run("deletes_several_keys", func(t *testing.T) {
		for _, k := range []string{"d1", "d2", "d3"} {
			require.NoError(t, c.Set(ctx, k, []byte(k), time.Minute))
		}
		require.NoError(t, c.Delete(ctx, "d1", "d2", "d3", "never-set"))
		for _, k := range []string{"d1", "d2", "d3"} {
			_, ok, err := c.Get(ctx, k)
			require.NoError(t, err)
			assert.False(t, ok, k)
		}
	})
	t.Run("expires_after_the_ttl", func(t *testing.T) {
		require.NoError(t, c.Set(ctx, "short", []byte("v"), 150*time.Millisecond))
		assert.Eventually(t, func() bool {
			_, ok, err := c.Get(ctx, "short")
			return err == nil && !ok
		}, 3*time.Second, 20*time.Millisecond)
	})
	t.Run("counts_in_a_window_started_by_the_first_incr", func(t *testing.T) {
		for want := int64(1); want <= 3; want++ {
			n, err := c.Incr(ctx, "counter", 300*time.Millisecond)
			require.NoError(t, err)
			assert.Equal(t, want, n)
		}
		assert.Eventually(t, func() bool {
			_, ok, err := c.Get(ctx, "counter")
			return err == nil && !ok
		}, 3*time.Second, 20*time.Millisecond)
		n, err := c.Incr(ctx, "counter", time.Minute)
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
	})
	t.Run("refuses_to_count_a_value", func(t *testing.T) {
		require.NoError(t, c.Set(ctx, "text", []byte("abc"), time.Minute))
		_, err := c.Incr(ctx, "text", time.Minute)
		assert.Error(t, err)
	})
}
