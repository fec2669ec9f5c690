package bus

import (
	"context"

	"github.com/fitloop/fitloop/platform/redisx"
)

// Bus is publish/subscribe by topic. Implementations are safe for concurrent
// use.
type Bus interface {
	// Publish sends msg to the topic's subscribers without waiting for them.
	// The bus keeps its own copy of msg.
	Publish(ctx context.Context, topic string, msg []byte) error
	// Subscribe calls h with each message published to topic from now on,
	// until unsubscribe is called. After unsubscribe returns no new call of
	// h starts; one already running may still finish.
	Subscribe(topic string, h func(msg []byte)) (unsubscribe func(), err error)
	// Close ends every subscription and frees the bus's connections.
	Close() error
}

// New returns the bus for a configured Redis: in-process when r is nil,
// else Redis pub/sub.
func New(r *redisx.Redis) Bus {
	if r == nil {
		return NewMemory()
	}
	return NewRedis(r.Client, r.Breaker)
}
