package bus_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/bus"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/redisx"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// newRedisBus is one replica's bus: its own client and connection.
func newRedisBus(tb testing.TB, mode string, addrs []string) bus.Bus {
	tb.Helper()
	c, err := redisx.New(config.Redis{Mode: mode, Addrs: addrs, DialTimeout: time.Second,
		ReadTimeout: time.Second, WriteTimeout: time.Second})
	require.NoError(tb, err)
	b := bus.NewRedis(c, redisx.NewBreaker("test", 5, time.Second))
	tb.Cleanup(func() { _ = b.Close(); _ = c.Close() })
	return b
}

func TestRedisBusReplicasSeeTheSameOrder(t *testing.T) {
	t.Parallel()
	for name, topology := range map[string]func(testing.TB) (string, []string){
		"single":  func(tb testing.TB) (string, []string) { return redisx.ModeSingle, []string{testkit.Redis(tb)} },
		"ring":    func(tb testing.TB) (string, []string) { return redisx.ModeRing, testkit.RedisRing(tb, 3) },
		"cluster": func(tb testing.TB) (string, []string) { return redisx.ModeCluster, testkit.RedisCluster(tb) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mode, addrs := topology(t)
			b1, b2 := newRedisBus(t, mode, addrs), newRedisBus(t, mode, addrs)
			r1, r2 := subscribe(t, b1, "room"), subscribe(t, b2, "room")
			other := subscribe(t, b2, "elsewhere")

			// Both replicas publish at once; each must see one order.
			var wg sync.WaitGroup
			for i, b := range []bus.Bus{b1, b2} {
				wg.Go(func() {
					for j := range 50 {
						assert.NoError(t, b.Publish(context.Background(), "room", fmt.Appendf(nil, "b%d-%02d", i, j)))
					}
				})
			}
			wg.Wait()
			require.Eventually(t, func() bool { return len(r1.got()) == 100 && len(r2.got()) == 100 },
				10*time.Second, 10*time.Millisecond)
			assert.Equal(t, r1.got(), r2.got(), "every replica sees the order Redis received")
			assert.Empty(t, other.got())
		})
	}
}

func TestRedisBusResubscribesAfterRestart(t *testing.T) {
	t.Parallel()
	addr := testkit.Redis(t)
	b := newRedisBus(t, redisx.ModeSingle, []string{addr})
	r := subscribe(t, b, "t")
	require.NoError(t, b.Publish(context.Background(), "t", []byte("before")))
	require.Eventually(t, func() bool { return len(r.got()) == 1 }, 5*time.Second, 10*time.Millisecond)

	testkit.KillRedis(t, addr)
	testkit.RestartRedis(t, addr)
	require.Eventually(t, func() bool {
		_ = b.Publish(context.Background(), "t", []byte("after"))
		got := r.got()
		return got[len(got)-1] == "after"
	}, 15*time.Second, 100*time.Millisecond, "the subscription comes back with Redis")
}
