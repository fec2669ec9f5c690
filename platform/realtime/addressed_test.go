package realtime_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/realtime"
	"github.com/fitloop/fitloop/platform/testkit"
)

// An addressed event takes the room's seq but reaches only the addressed
// users, live and on replay, on one replica and across two over Redis.
func TestPublishRoomTo(t *testing.T) {
	t.Parallel()
	fa := newFakeAuth()
	memHub, memURL := server(t, realtime.Options{Auth: fa})
	addr := testkit.Redis(t)
	hubA, urlA := replica(t, addr, realtime.Options{Auth: fa})
	_, urlB := replica(t, addr, realtime.Options{Auth: fa})
	for _, tc := range []struct {
		name       string
		hub        *realtime.Hub
		urlA, urlB string
	}{{"memory", memHub, memURL, memURL}, {"redis_two_replicas", hubA, urlA, urlB}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			room := "addr-" + tc.name
			alice, bob := dial(t, tc.urlA, "tok-alice"), dial(t, tc.urlB, "tok-bob")
			join(t, alice, room, 0)
			join(t, bob, room, 0)
			_, err := tc.hub.PublishRoom(ctx, room, "first", 0) // so that seq-1 > 0 below
			require.NoError(t, err)
			require.Equal(t, "first", read(t, alice).Type)
			require.Equal(t, "first", read(t, bob).Type)

			seq, err := tc.hub.PublishRoomTo(ctx, room, []string{"bob"}, "signal", "for bob")
			require.NoError(t, err)
			_, err = tc.hub.PublishRoom(ctx, room, "all", "for all")
			require.NoError(t, err)
			_, err = tc.hub.PublishRoomTo(ctx, room, []string{"alice", "bob"}, "pair", "for both")
			require.NoError(t, err)

			m := read(t, bob)
			assert.Equal(t, "signal", m.Type)
			assert.Equal(t, seq, m.Seq)
			assert.Equal(t, "all", read(t, bob).Type)
			assert.Equal(t, "pair", read(t, bob).Type)
			m = read(t, alice)
			assert.Equal(t, "all", m.Type, "alice does not get bob's signal")
			assert.Equal(t, seq+1, m.Seq)
			assert.Equal(t, "pair", read(t, alice).Type)

			// Replay filters the same way.
			carol := dial(t, tc.urlB, "tok-carol")
			send(t, carol, map[string]any{"type": "join", "room": room, "last_seq": seq - 1})
			assert.Equal(t, "all", read(t, carol).Type)
			assert.Equal(t, "joined", read(t, carol).Type)
			bob2 := dial(t, tc.urlA, "tok-bob")
			send(t, bob2, map[string]any{"type": "join", "room": room, "last_seq": seq - 1})
			for _, want := range []string{"signal", "all", "pair", "joined"} {
				assert.Equal(t, want, read(t, bob2).Type)
			}
		})
	}
	t.Run("refuses_no_one_and_bad_ids", func(t *testing.T) {
		_, err := memHub.PublishRoomTo(context.Background(), "r", nil, "x", 1)
		require.Error(t, err)
		_, err = memHub.PublishRoomTo(context.Background(), "r", []string{"a,b"}, "x", 1)
		require.Error(t, err)
	})
}
