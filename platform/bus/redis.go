package bus

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fitloop/fitloop/platform/redisx"
)

// ChannelPrefix namespaces the bus's Redis channels. The {bus} hash tag puts
// every channel on the same shard of a ring, so one connection can carry
// them all.
const ChannelPrefix = "fitloop:{bus}:"

// subscribeWait bounds how long Subscribe waits for Redis to confirm.
const subscribeWait = 5 * time.Second

// Redis is a Bus over Redis pub/sub, spanning replicas. One connection
// carries every subscribed topic and is re-established, with its
// subscriptions, after Redis restarts or fails over; messages published
// while it is down are lost. Messages are fanned out to this replica's
// subscribers through a Memory bus, with its buffers and drop policy.
//
// In ring mode the channels live on one shard; while that shard is down the
// bus is down. In cluster mode PUBLISH reaches every node.
type Redis struct {
	client  goredis.UniversalClient
	breaker *redisx.Breaker
	local   *Memory
	mu      sync.Mutex
	ps      *goredis.PubSub          // nil until the first subscription
	done    chan struct{}            // closed when the receive loop ends
	refs    map[string]int           // channel → local subscriptions
	ready   map[string]chan struct{} // channel → closed on Redis's confirmation
}

var _ Bus = (*Redis)(nil)

// NewRedis returns a bus over client. Publish goes through breaker when it
// is not nil.
func NewRedis(client goredis.UniversalClient, breaker *redisx.Breaker) *Redis {
	return &Redis{client: client, breaker: breaker, local: NewMemory(),
		refs: map[string]int{}, ready: map[string]chan struct{}{}}
}

// Publish implements Bus.
func (b *Redis) Publish(ctx context.Context, topic string, msg []byte) error {
	publish := func(ctx context.Context) error {
		return b.client.Publish(ctx, ChannelPrefix+topic, msg).Err()
	}
	var err error
	if b.breaker != nil {
		err = b.breaker.Do(ctx, publish)
	} else {
		err = publish(ctx)
	}
	if err != nil {
		return fmt.Errorf("bus: publish %s: %w", topic, err)
	}
	return nil
}

// Subscribe implements Bus. It waits up to five seconds for Redis to confirm
// the subscription (not at all while the breaker is open); without the
// confirmation the subscription stays and starts once Redis answers.
func (b *Redis) Subscribe(topic string, h func(msg []byte)) (func(), error) {
	unsubLocal, err := b.local.Subscribe(topic, h)
	if err != nil {
		return nil, err
	}
	channel := ChannelPrefix + topic
	b.mu.Lock()
	b.refs[channel]++
	if b.refs[channel] == 1 {
		b.ready[channel] = make(chan struct{})
		b.subscribeLocked(channel)
	}
	ready := b.ready[channel]
	b.mu.Unlock()

	if b.breaker == nil || b.breaker.State() != redisx.StateOpen {
		select {
		case <-ready:
		case <-time.After(subscribeWait):
		}
	}
	var once sync.Once
	return func() { once.Do(func() { unsubLocal(); b.release(channel) }) }, nil
}

// subscribeLocked adds channel to the connection, creating it and its
// receive loop on first use. b.mu is held.
func (b *Redis) subscribeLocked(channel string) {
	ctx := context.Background()
	if b.ps != nil {
		// On a write error go-redis keeps the channel and subscribes again
		// when it reconnects.
		_ = b.ps.Subscribe(ctx, channel)
		return
	}
	b.ps = b.client.Subscribe(ctx, channel)
	b.done = make(chan struct{})
	go b.receive(b.ps.ChannelWithSubscriptions(goredis.WithChannelSize(1024)), b.done)
}

// release drops one local subscription of channel, and the Redis one with
// the last.
func (b *Redis) release(channel string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refs[channel]--; b.refs[channel] > 0 {
		return
	}
	delete(b.refs, channel)
	delete(b.ready, channel)
	if b.ps != nil {
		_ = b.ps.Unsubscribe(context.Background(), channel)
	}
}

// receive hands each message to the local subscribers, in the order Redis
// sent them, and marks subscriptions confirmed.
func (b *Redis) receive(in <-chan any, done chan struct{}) {
	defer close(done)
	for m := range in {
		switch m := m.(type) {
		case *goredis.Message:
			_ = b.local.Publish(context.Background(), strings.TrimPrefix(m.Channel, ChannelPrefix), []byte(m.Payload))
		case *goredis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			b.mu.Lock()
			if ch, ok := b.ready[m.Channel]; ok {
				select {
				case <-ch:
				default:
					close(ch)
				}
			}
			b.mu.Unlock()
		}
	}
}

// Dropped returns how many messages were dropped for full local subscribers.
func (b *Redis) Dropped() int64 { return b.local.Dropped() }

// Close implements Bus. It does not close the client, which the caller owns.
func (b *Redis) Close() error {
	b.mu.Lock()
	ps, done := b.ps, b.done
	b.ps = nil
	b.mu.Unlock()
	var err error
	if ps != nil {
		err = ps.Close()
		<-done
	}
	_ = b.local.Close()
	return err
}
