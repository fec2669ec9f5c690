package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/fitloop/fitloop/platform/breaker"
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

// Mongo is a client, the configured database and the circuit breaker that
// calls to it go through.
type Mongo struct {
	Client  *mongo.Client
	DB      *mongo.Database
	Breaker *breaker.Breaker
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
	return &Mongo{Client: client, DB: client.Database(cfg.Database),
		Breaker: NewBreaker(cfg.BreakerFailures, cfg.BreakerCooldown)}, nil
}

// Ping is the /readyz check: nil when the primary answers. It pings through
// the breaker, so while the breaker is open it fails at once naming the
// state, and once the cooldown has passed it is the trial call that closes
// the breaker again even when no other traffic arrives.
func (m *Mongo) Ping(ctx context.Context) error {
	err := m.Breaker.Do(ctx, func(ctx context.Context) error { return m.Client.Ping(ctx, readpref.Primary()) })
	if err != nil {
		return fmt.Errorf("mongo: ping (circuit breaker %s): %w", m.Breaker.State(), err)
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
