package config

import (
	"io"
	"log/slog"
)

// NewLogger builds the process logger: JSON lines (default) or text, at the
// configured level.
func NewLogger(c Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
