// Command ferretdb runs FerretDB v1 for fitloop's tests and CI: a
// MongoDB-compatible server on the SQLite or PostgreSQL backend.
//
// It embeds github.com/FerretDB/FerretDB/ferretdb instead of building
// FerretDB's own cmd/ferretdb, which panics at start when built from the
// module zip (its build/version/version.txt is empty), and which
// `go install …@v1.24.0` cannot fetch (the module proxy refuses the module's
// version list). This module is separate from fitloop's so that FerretDB's
// dependencies stay out of the application's go.mod.
//
//	cd .ci/ferretdb && go build -o /tmp/ferretdb .
//	/tmp/ferretdb -handler=sqlite -sqlite-url=file:/tmp/data/ -listen-addr=127.0.0.1:27017
//
// It stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	handler := flag.String("handler", "sqlite", "backend: sqlite or postgresql")
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP listen address")
	sqliteURL := flag.String("sqlite-url", "file:/tmp/ferretdb/", "SQLite directory URI (must exist, trailing slash)")
	pgURL := flag.String("postgresql-url", "postgres://127.0.0.1:5432/ferretdb", "PostgreSQL URL")
	flag.Parse()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Handler:       *handler,
		SQLiteURL:     *sqliteURL,
		PostgreSQLURL: *pgURL,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}
