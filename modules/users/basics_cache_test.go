package users_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/cache"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/redisx"
	"github.com/fitloop/fitloop/platform/testkit"
)

// sharedCaches are the caches main.go may hand the module: one replica's
// memory, or Redis behind the fallback (both new for every call).
var sharedCaches = map[string]func(testing.TB) cache.Cache{
	"memory": func(testing.TB) cache.Cache { return cache.NewMemory() },
	"redis":  func(tb testing.TB) cache.Cache { return cache.New(openRedis(tb, testkit.Redis(tb))) },
}

// openRedis connects to the server at addr, closed when the test ends.
func openRedis(tb testing.TB, addr string) *redisx.Redis {
	tb.Helper()
	cfg := config.Default().Redis
	cfg.Mode, cfg.Addrs = redisx.ModeSingle, []string{addr}
	r, err := redisx.Open(cfg, nil)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = r.Close() })
	return r
}

// withCache makes c the module's shared cache.
func withCache(c cache.Cache) func(*users.Deps) {
	return func(d *users.Deps) { d.Cache = c }
}

// eachCache runs body on a fresh SQLite database with every shared cache.
func eachCache(t *testing.T, body func(t *testing.T, e *env)) {
	t.Helper()
	t.Parallel()
	for name, newCache := range sharedCaches {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body(t, newEnvOn(t, dbtest.New(t), withCache(newCache(t))))
		})
	}
}

// setBehindTheService changes an account row without the service knowing.
func setBehindTheService(tb testing.TB, db *database.DB, userID, column, value string) {
	tb.Helper()
	require.NoError(tb, db.Tx(context.Background(), func(tx *gorm.DB) error {
		return tx.Table("users_accounts").Where("id = ?", userID).Update(column, value).Error
	}))
}

func TestBasicsIsServedFromTheCache(t *testing.T) {
	eachCache(t, func(t *testing.T, e *env) {
		svc, ctx := e.mod.Service(), context.Background()
		u := e.newUser(t, "hot")
		first, err := svc.Basics(ctx, u.ID)
		require.NoError(t, err)

		setBehindTheService(t, e.db, u.ID, "timezone", "Europe/Paris")
		own, err := svc.FindUserByID(e.as(t, u), u.ID)
		require.NoError(t, err)
		require.Equal(t, "Europe/Paris", own.Timezone, "the database holds the new zone")

		again, err := svc.Basics(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, first, again, "the second call did not read the database")
	})
}

func TestBasicsReflectsEveryChangeAtOnce(t *testing.T) {
	weight, tz, qs, qe := 72.5, "Europe/Berlin", "23:30", "06:15"
	instructor, disabled := "instructor", true
	cases := []struct {
		name   string
		change func(t *testing.T, e *env, u, admin *user) error
		want   func(u *user) users.UserBasics // nil: the account is gone
	}{
		{
			name: "a_new_weight",
			change: func(t *testing.T, e *env, u, _ *user) error {
				_, err := e.mod.Service().UpdateBiometrics(e.as(t, u), u.ID, users.BiometricsUpdate{WeightKG: &weight})
				return err
			},
			want: func(u *user) users.UserBasics { b := basicsOf(u); b.WeightKG = &weight; return b },
		},
		{
			name: "a_new_time_zone",
			change: func(t *testing.T, e *env, u, _ *user) error {
				_, err := e.mod.Service().UpdateUser(e.as(t, u), u.ID, users.UserUpdate{Timezone: &tz})
				return err
			},
			want: func(u *user) users.UserBasics { b := basicsOf(u); b.Timezone = tz; return b },
		},
		{
			name: "new_quiet_hours",
			change: func(t *testing.T, e *env, u, _ *user) error {
				_, err := e.mod.Service().UpdateUser(e.as(t, u), u.ID, users.UserUpdate{QuietHoursStart: &qs, QuietHoursEnd: &qe})
				return err
			},
			want: func(u *user) users.UserBasics { b := basicsOf(u); b.QuietStart, b.QuietEnd = qs, qe; return b },
		},
		{
			name: "an_admin_changes_the_role",
			change: func(t *testing.T, e *env, u, admin *user) error {
				_, err := e.mod.Service().AdminUpdateUser(e.as(t, admin), u.ID, users.AdminUpdate{Role: &instructor})
				return err
			},
			want: func(u *user) users.UserBasics { b := basicsOf(u); b.Role = instructor; return b },
		},
		{
			// Basics ignores the flag, as it did before it was cached: only
			// a deletion hides an account from other modules.
			name: "an_admin_disables_the_account",
			change: func(t *testing.T, e *env, u, admin *user) error {
				_, err := e.mod.Service().AdminUpdateUser(e.as(t, admin), u.ID, users.AdminUpdate{Disabled: &disabled})
				return err
			},
			want: basicsOf,
		},
		{
			name: "the_owner_deletes_the_account",
			change: func(t *testing.T, e *env, u, _ *user) error {
				_, err := e.mod.Service().DeleteUser(e.as(t, u), u.ID, password)
				return err
			},
		},
		{
			name: "an_admin_deletes_the_account",
			change: func(t *testing.T, e *env, u, admin *user) error {
				_, err := e.mod.Service().DeleteUser(e.as(t, admin), u.ID, "")
				return err
			},
		},
	}
	eachCache(t, func(t *testing.T, e *env) {
		svc, ctx, admin := e.mod.Service(), context.Background(), e.newAdmin(t)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				u := e.newUser(t, "changing")
				for range 2 { // fill the cache, then read from it
					b, err := svc.Basics(ctx, u.ID)
					require.NoError(t, err)
					require.Equal(t, basicsOf(u), *b)
				}
				require.NoError(t, c.change(t, e, u, admin))
				b, err := svc.Basics(ctx, u.ID)
				if c.want == nil {
					assert.True(t, apperr.Is(err, "user_not_found"), "a closed account is gone at once: %v", err)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, c.want(u), *b)
			})
		}
	})
}

// basicsOf is what Basics answers for a new customer.
func basicsOf(u *user) users.UserBasics {
	return users.UserBasics{UserID: u.ID, Role: "customer", Timezone: "UTC", QuietStart: "22:00", QuietEnd: "07:00"}
}

func TestBasicsAfterAnUndoneDeletion(t *testing.T) {
	t.Parallel()
	er := &eraser{fail: errors.New("media storage is down")}
	e := newEnvOn(t, dbtest.New(t), withCache(cache.NewMemory()), func(d *users.Deps) { d.Erasers = []users.AccountEraser{er} })
	svc, ctx := e.mod.Service(), context.Background()
	u := e.newUser(t, "undone")
	_, err := svc.Basics(ctx, u.ID)
	require.NoError(t, err)
	_, err = svc.DeleteUser(e.as(t, u), u.ID, password)
	require.NoError(t, err)
	_, err = svc.Basics(ctx, u.ID)
	require.True(t, apperr.Is(err, "user_not_found"), "closed at once: %v", err)
	require.Eventually(t, func() bool {
		b, err := svc.Basics(ctx, u.ID)
		return err == nil && *b == basicsOf(u)
	}, 30*time.Second, 10*time.Millisecond, "the compensation reopens the account")
}

func TestBasicsCacheIsSharedByReplicas(t *testing.T) {
	t.Parallel()
	db, addr := dbtest.New(t), testkit.Redis(t)
	one := newEnvOn(t, db, withCache(cache.New(openRedis(t, addr))))
	two := newEnvOn(t, db, withCache(cache.New(openRedis(t, addr))))
	ctx := context.Background()
	u := one.newUser(t, "shared")
	_, err := one.mod.Service().Basics(ctx, u.ID)
	require.NoError(t, err)

	setBehindTheService(t, db, u.ID, "timezone", "Europe/Paris")
	b, err := two.mod.Service().Basics(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "UTC", b.Timezone, "replica two reads what replica one cached")

	weight := 80.0
	_, err = two.mod.Service().UpdateBiometrics(two.as(t, u), u.ID, users.BiometricsUpdate{WeightKG: &weight})
	require.NoError(t, err)
	b, err = one.mod.Service().Basics(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "Europe/Paris", b.Timezone, "replica two's change dropped the shared entry")
	assert.Equal(t, &weight, b.WeightKG)
}

func TestBasicsReadsTheDatabaseWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	addr := testkit.Redis(t)
	// The bare Redis cache, without the fallback, so every call fails.
	e := newEnvOn(t, dbtest.New(t), withCache(cache.NewRedis(openRedis(t, addr).Client, nil)))
	svc, ctx := e.mod.Service(), context.Background()
	u := e.newUser(t, "outage")
	_, err := svc.Basics(ctx, u.ID)
	require.NoError(t, err)

	testkit.KillRedis(t, addr)
	tz := "America/Chicago"
	_, err = svc.UpdateUser(e.as(t, u), u.ID, users.UserUpdate{Timezone: &tz})
	require.NoError(t, err, "a failed invalidation does not fail the change")
	b, err := svc.Basics(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, tz, b.Timezone)
}
