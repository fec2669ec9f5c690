// Package logging builds the process logger: JSON lines (default) or text on
// stdout, at the configured level, optionally through a buffer that turns one
// write system call per line into one per flush interval.
package logging

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/fitloop/fitloop/platform/config"
)

// New returns the logger and a function that flushes and stops its buffer;
// call it before the process exits. With c.FlushInterval 0 every line is
// written at once and close does nothing.
func New(c config.Log, w io.Writer) (log *slog.Logger, close func()) {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	out, close := w, func() {}
	var buf *Buffer
	if c.FlushInterval > 0 {
		buf = NewBuffer(w, c.FlushInterval)
		out, close = buf, buf.Close
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(out, opts)
	if c.Format == "text" {
		h = slog.NewTextHandler(out, opts)
	}
	if buf != nil {
		h = flushOnWarn{Handler: h, buf: buf}
	}
	return slog.New(h), close
}

// flushOnWarn writes warnings and errors out at once: they are the lines an
// operator watching the log must not wait for.
type flushOnWarn struct {
	slog.Handler
	buf *Buffer
}

func (f flushOnWarn) Handle(ctx context.Context, r slog.Record) error {
	err := f.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		f.buf.Flush()
	}
	return err
}

func (f flushOnWarn) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushOnWarn{Handler: f.Handler.WithAttrs(attrs), buf: f.buf}
}

func (f flushOnWarn) WithGroup(name string) slog.Handler {
	return flushOnWarn{Handler: f.Handler.WithGroup(name), buf: f.buf}
}

// Buffer is an io.Writer that collects log lines and writes them out every
// interval, when 64 KiB are waiting, on Flush, and on Close.
type Buffer struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewBuffer starts a buffer over w flushed every interval.
func NewBuffer(w io.Writer, interval time.Duration) *Buffer {
	b := &Buffer{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop(interval)
	return b
}

func (b *Buffer) loop(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.Flush()
		case <-b.stop:
			b.Flush()
			return
		}
	}
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes out what is waiting.
func (b *Buffer) Flush() {
	b.mu.Lock()
	_ = b.w.Flush()
	b.mu.Unlock()
}

// Close flushes and stops the background flusher. Writes after Close still
// reach the buffer; Flush them if needed.
func (b *Buffer) Close() {
	b.once.Do(func() {
		close(b.stop)
		<-b.done
	})
}
