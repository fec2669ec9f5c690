package logging_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/logging"
)

// syncBuffer is a bytes.Buffer safe for the flusher goroutine and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestNew(t *testing.T) {
	t.Parallel()
	t.Run("json_at_info_drops_debug", func(t *testing.T) {
		var buf syncBuffer
		log, closeLog := logging.New(config.Log{Level: "info", Format: "json"}, &buf)
		log.Debug("hidden")
		log.Info("shown", "k", "v")
		closeLog()
		out := buf.String()
		assert.NotContains(t, out, "hidden")
		assert.Contains(t, out, `"msg":"shown"`)
		assert.Contains(t, out, `"k":"v"`)
	})
	t.Run("text_at_debug", func(t *testing.T) {
		var buf syncBuffer
		log, closeLog := logging.New(config.Log{Level: "debug", Format: "text"}, &buf)
		log.Debug("hello")
		closeLog()
		assert.Contains(t, buf.String(), "level=DEBUG msg=hello")
	})
	t.Run("unbuffered_writes_every_line_at_once", func(t *testing.T) {
		var buf syncBuffer
		log, closeLog := logging.New(config.Log{Level: "info", Format: "json"}, &buf)
		defer closeLog()
		log.Info("now")
		assert.Contains(t, buf.String(), `"msg":"now"`)
	})
}

func TestBufferedLogging(t *testing.T) {
	t.Parallel()
	cfg := config.Log{Level: "info", Format: "json", FlushInterval: time.Hour}
	t.Run("holds_info_lines_until_close", func(t *testing.T) {
		var buf syncBuffer
		log, closeLog := logging.New(cfg, &buf)
		log.Info("held")
		assert.Empty(t, buf.String(), "an hour-long interval has not passed")
		closeLog()
		assert.Contains(t, buf.String(), `"msg":"held"`)
	})
	t.Run("writes_warnings_and_what_came_before_at_once", func(t *testing.T) {
		var buf syncBuffer
		log, closeLog := logging.New(cfg, &buf)
		defer closeLog()
		log.With("request_id", "r1").Info("first")
		log.Warn("second")
		out := buf.String()
		require.Contains(t, out, `"msg":"second"`)
		assert.Less(t, strings.Index(out, `"first"`), strings.Index(out, `"second"`), "order is kept")
		assert.Contains(t, out, `"request_id":"r1"`)
	})
	t.Run("flushes_on_the_interval", func(t *testing.T) {
		var buf syncBuffer
		log, closeLog := logging.New(config.Log{Level: "info", Format: "json", FlushInterval: time.Millisecond}, &buf)
		defer closeLog()
		log.Info("ticked")
		assert.Eventually(t, func() bool { return strings.Contains(buf.String(), "ticked") },
			5*time.Second, time.Millisecond)
	})
}
