package cache

import (
	"context"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/redisx"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// newClient builds the client for mode over addrs, closed when the test ends.
func newClient(tb testing.TB, mode string, addrs []string, master string) goredis.UniversalClient {
	tb.Helper()
	c, err := redisx.New(config.Redis{Mode: mode, Addrs: addrs, MasterName: master,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisSingle(t *testing.T) {
	t.Parallel()
	testContract(t, NewRedis(newClient(t, redisx.ModeSingle, []string{testkit.Redis(t)}, ""), nil))
}

func TestRedisCluster(t *testing.T) {
	t.Parallel()
	testContract(t, NewRedis(newClient(t, redisx.ModeCluster, testkit.RedisCluster(t), ""), nil))
}

func TestRedisSentinel(t *testing.T) {
	t.Parallel()
	sentinels, master, _ := testkit.RedisSentinel(t)
	testContract(t, NewRedis(newClient(t, redisx.ModeSentinel, sentinels, master), nil))
}

func TestRedisSentinelFollowsFailover(t *testing.T) {
	t.Parallel()
	sentinels, master, kill := testkit.RedisSentinel(t)
	c := NewRedis(newClient(t, redisx.ModeSentinel, sentinels, master), nil)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "before", []byte("v"), time.Minute))

	kill()
	// The old master is dead, so any write that succeeds went to the
	// promoted replica.
	require.Eventually(t, func() bool {
		return c.Set(ctx, "after", []byte("v"), time.Minute) == nil
	}, 20*time.Second, 50*time.Millisecond, "the client follows the promoted replica")
	v, ok, err := c.Get(ctx, "after")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []byte("v"), v)
}

func TestRedisRing(t *testing.T) {
	t.Parallel()
	testContract(t, NewRedis(newClient(t, redisx.ModeRing, testkit.RedisRing(t, 3), ""), nil))
}

func TestRedisRingRoutesAroundADeadShard(t *testing.T) {
	t.Parallel()
	addrs := testkit.RedisRing(t, 3)
	client := newClient(t, redisx.ModeRing, addrs, "")
	ring := client.(*goredis.Ring)
	c := NewRedis(client, nil)
	ctx := context.Background()

	// Spread keys over the shards and note where each lives.
	home := map[string]string{}
	for i := range 60 {
		k := fmt.Sprintf("key-%d", i)
		require.NoError(t, c.Set(ctx, k, []byte(k), time.Minute))
		shard, err := ring.GetShardClientForKey(KeyPrefix + k)
		require.NoError(t, err)
		home[k] = shard.Options().Addr
	}
	dead, moved := addrs[0], 0
	for _, addr := range home {
		if addr == dead {
			moved++
		}
	}
	require.Positive(t, moved, "some keys live on the shard to kill")
	testkit.KillRedis(t, dead)

	for k, addr := range home {
		if addr == dead {
			continue
		}
		v, ok, err := c.Get(ctx, k)
		require.NoError(t, err, "keys on live shards keep answering")
		assert.True(t, ok, k)
		assert.Equal(t, []byte(k), v)
	}
	// Within a few heartbeats the ring drops the dead shard and its keys
	// move to the live ones, as misses.
	for k, addr := range home {
		if addr != dead {
			continue
		}
		require.Eventually(t, func() bool {
			if _, ok, err := c.Get(ctx, k); err != nil || ok {
				return false
			}
			return c.Set(ctx, k, []byte("new"), time.Minute) == nil
		}, 10*time.Second, 50*time.Millisecond, "key %s routed around the dead shard", k)
	}
	for k, addr := range home {
		if addr != dead {
			_, ok, err := c.Get(ctx, k)
			require.NoError(t, err)
			assert.True(t, ok, "rendezvous hashing moves only the dead shard's keys: %s", k)
		}
	}
}
