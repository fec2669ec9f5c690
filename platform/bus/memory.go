package bus

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// DefaultBuffer is how many messages a subscriber of NewMemory may fall
// behind before its new messages are dropped.
const DefaultBuffer = 256

// ErrClosed is returned by a closed bus.
var ErrClosed = errors.New("bus: closed")

// Memory is an in-process Bus: one replica only.
type Memory struct {
	buffer  int
	dropped atomic.Int64
	mu      sync.RWMutex
	closed  bool
	topics  map[string]map[*subscriber]struct{}
}

type subscriber struct {
	ch   chan []byte
	quit chan struct{}
	once sync.Once
}

var _ Bus = (*Memory)(nil)

// NewMemory returns an in-process bus whose subscribers buffer DefaultBuffer
// messages.
func NewMemory() *Memory { return NewMemoryBuffer(DefaultBuffer) }

// NewMemoryBuffer returns an in-process bus whose subscribers buffer n
// messages (at least 1).
func NewMemoryBuffer(n int) *Memory {
	return &Memory{buffer: max(n, 1), topics: map[string]map[*subscriber]struct{}{}}
}

// Publish implements Bus.
func (b *Memory) Publish(_ context.Context, topic string, msg []byte) error {
	msg = append([]byte(nil), msg...)
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	for s := range b.topics[topic] {
		select {
		case s.ch <- msg:
		default:
			b.dropped.Add(1)
		}
	}
	return nil
}

// Subscribe implements Bus.
func (b *Memory) Subscribe(topic string, h func(msg []byte)) (func(), error) {
	s := &subscriber{ch: make(chan []byte, b.buffer), quit: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	if b.topics[topic] == nil {
		b.topics[topic] = map[*subscriber]struct{}{}
	}
	b.topics[topic][s] = struct{}{}
	b.mu.Unlock()
	go s.run(h)
	return func() {
		b.mu.Lock()
		delete(b.topics[topic], s)
		if len(b.topics[topic]) == 0 {
			delete(b.topics, topic)
		}
		b.mu.Unlock()
		s.stop()
	}, nil
}

// Dropped returns how many messages were dropped for full subscribers.
func (b *Memory) Dropped() int64 { return b.dropped.Load() }

// Close implements Bus.
func (b *Memory) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for topic, subs := range b.topics {
		for s := range subs {
			s.stop()
		}
		delete(b.topics, topic)
	}
	return nil
}

func (s *subscriber) stop() { s.once.Do(func() { close(s.quit) }) }

func (s *subscriber) run(h func([]byte)) {
	for {
		select {
		case <-s.quit:
			return
		case msg := <-s.ch:
			select {
			case <-s.quit: // both ready: stopping wins
				return
			default:
			}
			h(msg)
		}
	}
}
