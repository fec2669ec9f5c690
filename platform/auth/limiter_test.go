package auth

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestMemoryCounter(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	t.Run("blocks_at_the_limit_until_the_window_ends", func(t *testing.T) {
		m := NewMemoryCounter(3, time.Minute)
		blocked, _ := m.Blocked("k", start)
		assert.False(t, blocked)
		m.Fail("k", start)
		m.Fail("k", start.Add(10*time.Second))
		blocked, _ = m.Blocked("k", start.Add(10*time.Second))
		assert.False(t, blocked, "two failures of three")
		m.Fail("k", start.Add(20*time.Second))
		blocked, wait := m.Blocked("k", start.Add(20*time.Second))
		assert.True(t, blocked)
		assert.Equal(t, 40*time.Second, wait, "until the window that began at the first failure ends")

		blocked, wait = m.Blocked("k", start.Add(59*time.Second))
		assert.True(t, blocked)
		assert.Equal(t, time.Second, wait)
		blocked, _ = m.Blocked("k", start.Add(time.Minute))
		assert.False(t, blocked, "a new window starts")
	})
	t.Run("keys_are_independent", func(t *testing.T) {
		m := NewMemoryCounter(1, time.Minute)
		m.Fail("a", start)
		blocked, _ := m.Blocked("a", start)
		assert.True(t, blocked)
		blocked, _ = m.Blocked("b", start)
		assert.False(t, blocked)
	})
	t.Run("a_failure_after_the_window_starts_a_new_count", func(t *testing.T) {
		m := NewMemoryCounter(2, time.Minute)
		m.Fail("k", start)
		m.Fail("k", start.Add(61*time.Second))
		blocked, _ := m.Blocked("k", start.Add(61*time.Second))
		assert.False(t, blocked, "the first failure expired with its window")
		m.Fail("k", start.Add(62*time.Second))
		blocked, _ = m.Blocked("k", start.Add(62*time.Second))
		assert.True(t, blocked)
	})
	t.Run("reset_forgets", func(t *testing.T) {
		m := NewMemoryCounter(1, time.Minute)
		m.Fail("k", start)
		m.Reset("k")
		blocked, _ := m.Blocked("k", start)
		assert.False(t, blocked)
		m.Reset("never-seen")
	})
	t.Run("sweeps_expired_windows", func(t *testing.T) {
		m := NewMemoryCounter(5, time.Minute)
		for i := range 100 {
			m.Fail(fmt.Sprint("ip:", i), start)
		}
		m.Fail("late", start.Add(2*time.Minute))
		m.mu.Lock()
		n := len(m.keys)
		m.mu.Unlock()
		assert.Equal(t, 1, n, "memory stays bounded by live windows")
	})
	t.Run("is_safe_for_concurrent_use", func(t *testing.T) {
		m := NewMemoryCounter(1000, time.Minute)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 100 {
					k := fmt.Sprint("k", i%5)
					m.Fail(k, start)
					m.Blocked(k, start)
					if g == 0 && i%10 == 0 {
						m.Reset("k4")
					}
				}
			})
		}
		wg.Wait()
		blocked, _ := m.Blocked("k0", start)
		assert.False(t, blocked)
	})
}

var _ FailureCounter = (*MemoryCounter)(nil)
