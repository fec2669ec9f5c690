package realtime

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/bus"
)

func TestMemoryLogForgetsIdleRooms(t *testing.T) {
	t.Parallel()
	b := bus.NewMemory()
	defer b.Close()
	l := newMemoryLog(b, 4, time.Millisecond)
	ctx := context.Background()
	_, err := l.append(ctx, "old", "", []byte(`{"type":"x","seq":`), []byte(`}`))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return time.Since(l.rooms["old"].last) > time.Millisecond },
		time.Second, time.Millisecond)
	l.swept = time.Time{} // the minute between sweeps has passed
	_, err = l.append(ctx, "new", "", []byte(`{"type":"x","seq":`), []byte(`}`))
	require.NoError(t, err)
	assert.NotContains(t, l.rooms, "old", "an idle room is forgotten")
	assert.Contains(t, l.rooms, "new")
}
