package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/fitloop/fitloop/platform/config"
)

// Worker is background work started before the HTTP server and stopped
// after it has drained (a scheduler, a queue's workers).
type Worker struct {
	Start func(ctx context.Context) error // returns once started; runs until ctx ends or Stop
	Stop  func(ctx context.Context) error // waits for in-flight work, within ctx
}

// Run is a server's life: background runs (until the end), the workers
// start in order, h is served until ctx ends, then — only after in-flight
// requests have finished, so none of them loses the background work it
// started — background ends and the workers stop within
// cfg.ShutdownTimeout. A worker that fails to start stops those started
// before it, and Run returns its error.
func Run(ctx context.Context, cfg config.HTTP, h http.Handler, log *slog.Logger,
	background func(ctx context.Context) error, workers ...Worker) error {
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); _ = background(bgCtx) }()
	started := 0
	var err error
	for _, w := range workers {
		if err = w.Start(bgCtx); err != nil {
			break
		}
		started++
	}
	if err == nil {
		err = Serve(ctx, cfg, h, log)
	}
	stopBackground()
	<-done
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	for i := started - 1; i >= 0; i-- {
		err = errors.Join(err, workers[i].Stop(stopCtx))
	}
	return err
}
