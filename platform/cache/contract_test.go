package cache

import (
	"context"
	"errors"
	"strconv"
	"sync"
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
	t.Run("gets_many_keys_in_order", func(t *testing.T) {
		require.NoError(t, c.Set(ctx, "m1", []byte("one"), time.Minute))
		require.NoError(t, c.Set(ctx, "m3", []byte("three"), time.Minute))
		require.NoError(t, c.Set(ctx, "m-empty", []byte{}, time.Minute))
		vals, err := c.GetMany(ctx, "m3", "m2-absent", "m1", "m-empty")
		require.NoError(t, err)
		require.Len(t, vals, 4)
		assert.Equal(t, []byte("three"), vals[0])
		assert.Nil(t, vals[1])
		assert.Equal(t, []byte("one"), vals[2])
		assert.NotNil(t, vals[3], "an empty value is not a miss")
		assert.Empty(t, vals[3])
		vals[2][0] = 'X' // the caller's copy
		v, _, err := c.Get(ctx, "m1")
		require.NoError(t, err)
		assert.Equal(t, []byte("one"), v)
		vals, err = c.GetMany(ctx)
		require.NoError(t, err)
		assert.Empty(t, vals)
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
	testUpdateContract(t, c)
}

// testUpdateContract checks Update: read-modify-write that loses no update
// however many writers race.
func testUpdateContract(t *testing.T, c Cache) {
	t.Helper()
	ctx := context.Background()
	t.Run("update_creates_an_absent_key", func(t *testing.T) {
		out, err := c.Update(ctx, "u-new", time.Minute, func(cur []byte, ok bool) ([]byte, error) {
			assert.False(t, ok)
			assert.Nil(t, cur)
			return []byte("first"), nil
		})
		require.NoError(t, err)
		assert.Equal(t, []byte("first"), out)
		v, ok, err := c.Get(ctx, "u-new")
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, []byte("first"), v)
	})
	t.Run("update_sees_the_current_value", func(t *testing.T) {
		require.NoError(t, c.Set(ctx, "u-cur", []byte("a"), time.Minute))
		out, err := c.Update(ctx, "u-cur", time.Minute, func(cur []byte, ok bool) ([]byte, error) {
			require.True(t, ok)
			return append(cur, 'b'), nil
		})
		require.NoError(t, err)
		assert.Equal(t, []byte("ab"), out)
	})
	t.Run("an_error_from_fn_stores_nothing", func(t *testing.T) {
		require.NoError(t, c.Set(ctx, "u-err", []byte("kept"), time.Minute))
		refused := errors.New("refused")
		_, err := c.Update(ctx, "u-err", time.Minute, func([]byte, bool) ([]byte, error) { return []byte("lost"), refused })
		assert.ErrorIs(t, err, refused)
		v, _, err := c.Get(ctx, "u-err")
		require.NoError(t, err)
		assert.Equal(t, []byte("kept"), v)
	})
	t.Run("a_nil_value_deletes", func(t *testing.T) {
		require.NoError(t, c.Set(ctx, "u-del", []byte("x"), time.Minute))
		out, err := c.Update(ctx, "u-del", time.Minute, func([]byte, bool) ([]byte, error) { return nil, nil })
		require.NoError(t, err)
		assert.Nil(t, out)
		_, ok, err := c.Get(ctx, "u-del")
		require.NoError(t, err)
		assert.False(t, ok)
	})
	t.Run("update_sets_the_ttl", func(t *testing.T) {
		_, err := c.Update(ctx, "u-ttl", 150*time.Millisecond, func([]byte, bool) ([]byte, error) { return []byte("v"), nil })
		require.NoError(t, err)
		assert.Eventually(t, func() bool {
			_, ok, err := c.Get(ctx, "u-ttl")
			return err == nil && !ok
		}, 3*time.Second, 20*time.Millisecond)
	})
	t.Run("racing_updates_lose_nothing", func(t *testing.T) {
		const writers, each = 8, 25
		var wg sync.WaitGroup
		for range writers {
			wg.Go(func() {
				for range each {
					_, err := c.Update(ctx, "u-race", time.Minute, func(cur []byte, _ bool) ([]byte, error) {
						n, _ := strconv.Atoi(string(cur))
						return strconv.AppendInt(nil, int64(n+1), 10), nil
					})
					assert.NoError(t, err)
				}
			})
		}
		wg.Wait()
		v, _, err := c.Get(ctx, "u-race")
		require.NoError(t, err)
		assert.Equal(t, strconv.Itoa(writers*each), string(v))
	})
}
