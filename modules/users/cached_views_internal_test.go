package users

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/cache"
)

func newTestViews() *viewCache {
	return &viewCache{c: cache.NewMemory(), log: slog.New(slog.DiscardHandler)}
}

// reads counts the database reads a load made.
type reads struct{ n int }

func (r *reads) of(b UserBasics) func() (*UserBasics, error) {
	return func() (*UserBasics, error) { r.n++; return &b, nil }
}

func TestCachedViewLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("reads_once_then_serves_the_cache", func(t *testing.T) {
		v, r := newTestViews(), &reads{}
		for range 3 {
			b, err := basicsViews.load(ctx, v, "u1", r.of(UserBasics{UserID: "u1", Timezone: "UTC"}))
			require.NoError(t, err)
			assert.Equal(t, "UTC", b.Timezone)
		}
		assert.Equal(t, 1, r.n)
	})
	t.Run("reads_again_after_forget", func(t *testing.T) {
		v, r := newTestViews(), &reads{}
		_, _ = basicsViews.load(ctx, v, "u1", r.of(UserBasics{Timezone: "UTC"}))
		v.forget(ctx, "u1")
		b, err := basicsViews.load(ctx, v, "u1", r.of(UserBasics{Timezone: "Asia/Tokyo"}))
		require.NoError(t, err)
		assert.Equal(t, "Asia/Tokyo", b.Timezone)
		assert.Equal(t, 2, r.n)
	})
	t.Run("does_not_keep_a_refill_that_raced_an_invalidation", func(t *testing.T) {
		v, r := newTestViews(), &reads{}
		// The change commits and forgets the entry while the refill reads
		// the old row: the refill's store comes after the forget.
		racing := func() (*UserBasics, error) { v.forget(ctx, "u1"); return r.of(UserBasics{Timezone: "old"})() }
		_, err := basicsViews.load(ctx, v, "u1", racing)
		require.NoError(t, err)
		b, err := basicsViews.load(ctx, v, "u1", r.of(UserBasics{Timezone: "new"}))
		require.NoError(t, err)
		assert.Equal(t, "new", b.Timezone)
	})
	t.Run("does_not_cache_errors", func(t *testing.T) {
		v, r := newTestViews(), &reads{}
		_, err := basicsViews.load(ctx, v, "u1", func() (*UserBasics, error) { return nil, ErrUserNotFound })
		require.True(t, errors.Is(err, ErrUserNotFound))
		b, err := basicsViews.load(ctx, v, "u1", r.of(UserBasics{Timezone: "UTC"}))
		require.NoError(t, err)
		assert.Equal(t, "UTC", b.Timezone)
	})
	t.Run("treats_an_undecodable_entry_as_a_miss", func(t *testing.T) {
		v, r := newTestViews(), &reads{}
		require.NoError(t, v.c.Set(ctx, basicsViews.key("u1"), []byte("{not json"), viewTTL))
		b, err := basicsViews.load(ctx, v, "u1", r.of(UserBasics{Timezone: "UTC"}))
		require.NoError(t, err)
		assert.Equal(t, "UTC", b.Timezone)
		assert.Equal(t, 1, r.n)
	})
	t.Run("never_serves_private_fields_as_a_public_profile", func(t *testing.T) {
		v := newTestViews()
		require.NoError(t, v.c.Set(ctx, publicProfiles.key("u1"), []byte(`{"user_id":"u1","email":"a@b.c"}`), viewTTL))
		p, err := publicProfiles.load(ctx, v, "u1", func() (*Profile, error) { return &Profile{UserID: "u1"}, nil })
		require.NoError(t, err)
		assert.Nil(t, p.Private)
	})
	t.Run("forget_drops_every_view_of_the_user", func(t *testing.T) {
		v := newTestViews()
		_, _ = basicsViews.load(ctx, v, "u1", (&reads{}).of(UserBasics{}))
		_, _ = publicProfiles.load(ctx, v, "u1", func() (*Profile, error) { return &Profile{UserID: "u1"}, nil })
		v.forget(ctx, "u1")
		for _, k := range []string{basicsViews.key("u1"), publicProfiles.key("u1")} {
			_, ok, err := v.c.Get(ctx, k)
			require.NoError(t, err)
			assert.False(t, ok, k)
		}
	})
}
