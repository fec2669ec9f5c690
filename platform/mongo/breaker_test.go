package mongo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/fitloop/fitloop/platform/breaker"
	"github.com/fitloop/fitloop/platform/config"
)

func TestUnhealthy(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"no_error", nil, false},
		{"a_deadline", fmt.Errorf("activity: workout: %w", context.DeadlineExceeded), true},
		{"no_server_to_select", topology.ServerSelectionError{Wrapped: errors.New("connection refused")}, true},
		{"a_network_error", mongo.CommandError{Labels: []string{"NetworkError"}}, true},
		{"a_primary_stepping_down", mongo.CommandError{Code: 189, Name: "PrimarySteppedDown"}, true},
		{"no_majority_in_time", mongo.WriteException{WriteConcernError: &mongo.WriteConcernError{Code: 64}}, true},
		{"no_document", mongo.ErrNoDocuments, false},
		{"a_duplicate_key", mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 11000}}}, false},
		{"a_bad_query", mongo.CommandError{Code: 2, Name: "BadValue"}, false},
		{"a_closed_client", mongo.ErrClientDisconnected, false},
		{"a_domain_error", errors.New("activity: workout not found"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, Unhealthy(c.err))
		})
	}
}

func TestPingGoesThroughTheBreaker(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	m, err := Open(config.Mongo{URI: "mongodb://" + addr + "/", Database: "x", Timeout: 300 * time.Millisecond,
		BreakerFailures: 1, BreakerCooldown: time.Minute})
	require.NoError(t, err)
	defer m.Close(context.Background())

	err = m.Ping(context.Background())
	require.ErrorContains(t, err, "mongo: ping")
	assert.NotErrorIs(t, err, breaker.ErrOpen)
	require.Equal(t, breaker.StateOpen, m.Breaker.State(), "a ping that finds no server trips the breaker")

	err = m.Ping(context.Background())
	assert.ErrorIs(t, err, breaker.ErrOpen)
	assert.ErrorContains(t, err, "circuit breaker open")
}
