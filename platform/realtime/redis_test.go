package realtime_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/bus"
	"github.com/fitloop/fitloop/platform/realtime"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// replica starts a hub with its own Redis client and bus on addr, as a
// separate fitloop process would.
func replica(tb testing.TB, addr string, opt realtime.Options) (*realtime.Hub, string) {
	tb.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	b := bus.NewRedis(client, nil)
	tb.Cleanup(func() { _ = b.Close(); _ = client.Close() })
	opt.Bus, opt.Redis = b, client
	return server(tb, opt)
}

func TestTwoReplicasOnOneRedis(t *testing.T) {
	t.Parallel()
	addr := testkit.Redis(t)
	fa := newFakeAuth()
	hubA, urlA := replica(t, addr, realtime.Options{Auth: fa, ReplayBuffer: 16, SendBuffer: 256})
	hubB, urlB := replica(t, addr, realtime.Options{Auth: fa, ReplayBuffer: 16, SendBuffer: 256})
	ctx := context.Background()

	a, b := dial(t, urlA, "tok-alice"), dial(t, urlB, "tok-bob")
	join(t, a, "live", 0)
	join(t, b, "live", 0)

	t.Run("both_replicas_see_the_same_events_in_the_same_order", func(t *testing.T) {
		// Both hubs publish concurrently: seqs are still assigned once, in
		// channel order.
		const perHub = 50
		var wg sync.WaitGroup
		for i, h := range []*realtime.Hub{hubA, hubB} {
			wg.Go(func() {
				for j := range perHub {
					_, err := h.PublishRoom(ctx, "live", "rep", fmt.Sprintf("%d-%d", i, j))
					assert.NoError(t, err)
				}
			})
		}
		wg.Wait()
		var gotA, gotB []string
		for i := 1; i <= 2*perHub; i++ {
			ma, mb := read(t, a), read(t, b)
			require.Equal(t, uint64(i), ma.Seq, "replica A in seq order")
			require.Equal(t, uint64(i), mb.Seq, "replica B in seq order")
			gotA, gotB = append(gotA, string(ma.Data)), append(gotB, string(mb.Data))
		}
		assert.Equal(t, gotA, gotB, "same event for each seq")
	})
	t.Run("a_reconnect_to_the_other_replica_replays_from_the_shared_log", func(t *testing.T) {
		_, err := hubA.PublishRoom(ctx, "live", "rep", "after")
		require.NoError(t, err)
		require.Equal(t, uint64(101), read(t, a).Seq)
		c := dial(t, urlB, "tok-carol")
		send(t, c, map[string]any{"type": "join", "room": "live", "last_seq": 99})
		assert.Equal(t, uint64(100), read(t, c).Seq)
		assert.Equal(t, uint64(101), read(t, c).Seq)
		assert.Equal(t, "joined", read(t, c).Type)
		send(t, c, map[string]any{"type": "join", "room": "other", "last_seq": 0})
		require.Equal(t, "joined", read(t, c).Type)
		d := dial(t, urlA, "tok-dave")
		send(t, d, map[string]any{"type": "join", "room": "live", "last_seq": 3})
		assert.Equal(t, "resync_required", read(t, d).Type, "seq 4 is no longer kept")
	})
	t.Run("user_events_cross_replicas", func(t *testing.T) {
		require.NoError(t, hubA.PublishUser(ctx, "bob", "notice", 1))
		assert.Equal(t, "notice", readType(t, b, "notice").Type)
	})
	t.Run("close_sessions_on_A_closes_a_socket_on_B_within_5s", func(t *testing.T) {
		start := time.Now()
		require.NoError(t, hubA.CloseSessions(ctx, "sess-bob"))
		assert.Equal(t, realtime.CloseRevoked, closeCode(t, b, 5*time.Second))
		assert.Less(t, time.Since(start), 5*time.Second)
	})
}
