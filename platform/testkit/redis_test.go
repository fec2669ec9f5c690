package testkit

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedis(t *testing.T) {
	t.Parallel()
	addr := Redis(t)
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())

	KillRedis(t, addr)
	assert.Error(t, c.Ping(ctx).Err(), "a killed server does not answer")

	RestartRedis(t, addr)
	require.NoError(t, c.Ping(ctx).Err())
	assert.ErrorIs(t, c.Get(ctx, "k").Err(), goredis.Nil, "a restarted server starts empty")
}

func TestRedisCluster(t *testing.T) {
	t.Parallel()
	addrs := RedisCluster(t)
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		require.NoError(t, c.Set(ctx, k, k, time.Minute).Err())
	}
	n, err := c.ClusterInfo(ctx).Result()
	require.NoError(t, err)
	assert.Contains(t, n, "cluster_known_nodes:3")
}

func TestRedisSentinel(t *testing.T) {
	t.Parallel()
	sentinels, master, _ := RedisSentinel(t)
	c := goredis.NewFailoverClient(&goredis.FailoverOptions{MasterName: master, SentinelAddrs: sentinels})
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Set(context.Background(), "k", "v", time.Minute).Err())
}
