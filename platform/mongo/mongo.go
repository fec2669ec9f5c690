package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/fitloop/fitloop/platform/config"
)

// appName shows in the server's log and currentOp.
const appName = "fitloop"

// WriteConcern is what every write acknowledges: a majority of the replica
// set has it in its journal, so it survives the primary's loss and a power
// cut.
func WriteConcern() *writeconcern.WriteConcern {
	journal := true
	return &writeconcern.WriteConcern{W: writeconcern.WCMajority, Journal: &journal}
}

// ClientOptions returns the driver options for cfg. The write concern, read
// preference and time-outs are applied after the URI, so the URI cannot
// weaken them.
func ClientOptions(cfg config.Mongo) *options.ClientOptions {
	opts := options.Client().ApplyURI(cfg.URI).
		SetAppName(appName).
		SetWriteConcern(WriteConcern()).
		SetReadPreference(readpref.Primary())
	if cfg.Timeout > 0 {
		opts.SetTimeout(cfg.Timeout).
			SetConnectTimeout(cfg.Timeout).
			SetServerSelectionTimeout(cfg.Timeout)
	}
	return opts
}

// Mongo is a client and the configured database.
type Mongo struct {
	Client *mongo.Client
	DB     *mongo.Database
}

// Open builds the client for cfg. It does not wait for the server (the
// first operation, or Ping, does), so a malformed URI is its only error
// besides a missing URI or database name.
func Open(cfg config.Mongo) (*Mongo, error) {
	if cfg.URI == "" {
		return nil, errors.New("mongo: no uri")
	}
	if cfg.Database == "" {
		return nil, errors.New("mongo: no database name")
	}
	client, err := mongo.Connect(ClientOptions(cfg))
	if err != nil {
		return nil, fmt.Errorf("mongo: %w", err)
	}
	return &Mongo{Client: client, DB: client.Database(cfg.Database)}, nil
}

// Ping is the /readyz check: nil when the primary answers.
func (m *Mongo) Ping(ctx context.Context) error {
	if err := m.Client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("mongo: ping: %w", err)
	}
	return nil
}

// Close ends the client's connections and background monitoring, waiting
// for operations in flight until ctx ends.
func (m *Mongo) Close(ctx context.Context) error {
	if err := m.Client.Disconnect(ctx); err != nil {
		return fmt.Errorf("mongo: close: %w", err)
	}
	return nil
}
