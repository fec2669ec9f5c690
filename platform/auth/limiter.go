package auth

import (
	"sync"
	"time"
)

// FailureCounter counts failed logins per key within a window. The memory
// implementation is per replica; the runtime issue adds a Redis one.
type FailureCounter interface {
	// Blocked reports whether key has reached the limit, and for how long.
	Blocked(key string, now time.Time) (bool, time.Duration)
	// Fail records a failure for key.
	Fail(key string, now time.Time)
	// Reset forgets key's failures (after a successful login).
	Reset(key string)
}

// MemoryCounter is a FailureCounter in process memory: a fixed window per key.
type MemoryCounter struct {
	max    int
	window time.Duration
	mu     sync.Mutex
	keys   map[string]*window
	swept  time.Time
}

type window struct {
	start time.Time
	n     int
}

// NewMemoryCounter allows max failures per key per window.
func NewMemoryCounter(max int, w time.Duration) *MemoryCounter {
	return &MemoryCounter{max: max, window: w, keys: map[string]*window{}}
}

// Blocked implements FailureCounter.
func (m *MemoryCounter) Blocked(key string, now time.Time) (bool, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.keys[key]
	if !ok || now.Sub(w.start) >= m.window {
		return false, 0
	}
	if w.n >= m.max {
		return true, w.start.Add(m.window).Sub(now)
	}
	return false, 0
}

// Fail implements FailureCounter.
func (m *MemoryCounter) Fail(key string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	w, ok := m.keys[key]
	if !ok || now.Sub(w.start) >= m.window {
		m.keys[key] = &window{start: now, n: 1}
		return
	}
	w.n++
}

// Reset implements FailureCounter.
func (m *MemoryCounter) Reset(key string) {
	m.mu.Lock()
	delete(m.keys, key)
	m.mu.Unlock()
}

// sweep drops expired windows at most once per window so memory stays bounded.
func (m *MemoryCounter) sweep(now time.Time) {
	if now.Sub(m.swept) < m.window {
		return
	}
	m.swept = now
	for k, w := range m.keys {
		if now.Sub(w.start) >= m.window {
			delete(m.keys, k)
		}
	}
}
