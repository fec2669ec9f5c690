package testkit

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

// leakyWorker stands for a goroutine a test forgot to stop.
func leakyWorker(stop <-chan struct{}) { <-stop }

func TestCheckLeaks(t *testing.T) {
	t.Run("passes_when_nothing_new_runs", func(t *testing.T) {
		var out bytes.Buffer
		assert.Zero(t, checkLeaks(&out, goleak.IgnoreCurrent()))
		assert.Empty(t, out.String())
	})
	t.Run("fails_listing_a_leaked_goroutine", func(t *testing.T) {
		before := goleak.IgnoreCurrent()
		stop := make(chan struct{})
		defer close(stop)
		go leakyWorker(stop)
		var out bytes.Buffer
		assert.Equal(t, 1, checkLeaks(&out, before))
		assert.Contains(t, out.String(), "leaked goroutines")
		assert.Contains(t, out.String(), "testkit.leakyWorker", "the message shows the goroutine's stack")
	})
}
