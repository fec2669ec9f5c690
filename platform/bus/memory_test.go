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
)

// recorder collects the messages a subscription receives.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) handle(msg []byte) {
	r.mu.Lock()
	r.msgs = append(r.msgs, string(msg))
	r.mu.Unlock()
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

func subscribe(tb testing.TB, b bus.Bus, topic string) *recorder {
	tb.Helper()
	r := &recorder{}
	unsubscribe, err := b.Subscribe(topic, r.handle)
	require.NoError(tb, err)
	tb.Cleanup(unsubscribe)
	return r
}

func numbered(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("m%03d", i)
	}
	return out
}

func TestMemoryDeliversInOrderPerTopic(t *testing.T) {
	t.Parallel()
	b := bus.NewMemory()
	t.Cleanup(func() { _ = b.Close() })
	a1, a2, other := subscribe(t, b, "a"), subscribe(t, b, "a"), subscribe(t, b, "b")
	want := numbered(100)
	for _, m := range want {
		require.NoError(t, b.Publish(context.Background(), "a", []byte(m)))
	}
	require.Eventually(t, func() bool { return len(a1.got()) == 100 && len(a2.got()) == 100 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, want, a1.got())
	assert.Equal(t, want, a2.got())
	assert.Empty(t, other.got(), "topics are separate")
}

func TestMemoryDropsForAFullSubscriberOnly(t *testing.T) {
	t.Parallel()
	b := bus.NewMemoryBuffer(2)
	t.Cleanup(func() { _ = b.Close() })
	entered, release := make(chan struct{}, 10), make(chan struct{})
	var slow recorder
	unsub, err := b.Subscribe("t", func(m []byte) { entered <- struct{}{}; <-release; slow.handle(m) })
	require.NoError(t, err)
	t.Cleanup(unsub)
	fast := subscribe(t, b, "t")

	for _, m := range numbered(10) {
		require.NoError(t, b.Publish(context.Background(), "t", []byte(m)), "publishers never block")
		require.Eventually(t, func() bool { return len(fast.got()) > 0 && fast.got()[len(fast.got())-1] == m },
			time.Second, time.Millisecond, "the fast subscriber keeps up")
		if m == "m000" {
			<-entered // the slow handler holds m000; its buffer is empty
		}
	}
	close(release)
	// The slow one holds one message in its handler and two in its buffer.
	require.Eventually(t, func() bool { return len(slow.got()) == 3 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, []string{"m000", "m001", "m002"}, slow.got(), "what survives arrives in order")
	assert.Equal(t, int64(7), b.Dropped())
}

func TestMemoryStopsAfterUnsubscribe(t *testing.T) {
	t.Parallel()
	b := bus.NewMemory()
	r := &recorder{}
	unsub, err := b.Subscribe("t", r.handle)
	require.NoError(t, err)
	unsub()
	unsub() // idempotent
	require.NoError(t, b.Publish(context.Background(), "t", []byte("x")))
	probe := subscribe(t, b, "t")
	require.NoError(t, b.Publish(context.Background(), "t", []byte("y")))
	require.Eventually(t, func() bool { return len(probe.got()) == 1 }, time.Second, time.Millisecond)
	assert.Empty(t, r.got())

	require.NoError(t, b.Close())
	assert.ErrorIs(t, b.Publish(context.Background(), "t", nil), bus.ErrClosed)
	_, err = b.Subscribe("t", r.handle)
	assert.ErrorIs(t, err, bus.ErrClosed)
}
