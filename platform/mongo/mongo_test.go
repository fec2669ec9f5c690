package mongo

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestClientOptions(t *testing.T) {
	t.Run("overrides_a_weaker_uri", func(t *testing.T) {
		opts := ClientOptions(config.Mongo{
			URI:     "mongodb://h1,h2/?replicaSet=rs0&w=1&journal=false&readPreference=secondary&timeoutMS=60000",
			Timeout: 3 * time.Second,
		})
		require.NoError(t, opts.Validate())
		assert.Equal(t, "majority", opts.WriteConcern.W)
		require.NotNil(t, opts.WriteConcern.Journal)
		assert.True(t, *opts.WriteConcern.Journal)
		assert.Equal(t, readpref.PrimaryMode, opts.ReadPreference.Mode())
		for _, d := range []*time.Duration{opts.Timeout, opts.ConnectTimeout, opts.ServerSelectionTimeout} {
			require.NotNil(t, d)
			assert.Equal(t, 3*time.Second, *d)
		}
		assert.Equal(t, []string{"h1", "h2"}, opts.Hosts)
		assert.Equal(t, "fitloop", *opts.AppName)
	})
	t.Run("keeps_the_uri_time_out_without_one_in_config", func(t *testing.T) {
		opts := ClientOptions(config.Mongo{URI: "mongodb://h1/?timeoutMS=60000"})
		require.NotNil(t, opts.Timeout)
		assert.Equal(t, time.Minute, *opts.Timeout)
	})
}

func TestOpen(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  config.Mongo
		want string
	}{
		{"refuses_no_uri", config.Mongo{Database: "x"}, "no uri"},
		{"refuses_no_database", config.Mongo{URI: "mongodb://h1/"}, "no database"},
		{"refuses_a_malformed_uri", config.Mongo{URI: "postgres://h1/", Database: "x"}, "scheme"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(c.cfg)
			assert.ErrorContains(t, err, c.want)
		})
	}

	t.Run("pings_and_closes", func(t *testing.T) {
		uri, db := testkit.Mongo(t)
		m, err := Open(config.Mongo{URI: uri, Database: db, Timeout: 10 * time.Second})
		require.NoError(t, err)
		assert.Equal(t, db, m.DB.Name())
		require.NoError(t, m.Ping(context.Background()))
		require.NoError(t, m.Close(context.Background()))
		assert.Error(t, m.Ping(context.Background()), "a closed client does not answer")
	})

	t.Run("ping_fails_within_the_time_out_when_nothing_listens", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		m, err := Open(config.Mongo{URI: "mongodb://" + addr + "/", Database: "x", Timeout: 300 * time.Millisecond})
		require.NoError(t, err)
		defer m.Close(context.Background())
		began := time.Now()
		assert.ErrorContains(t, m.Ping(context.Background()), "mongo: ping")
		assert.Less(t, time.Since(began), 5*time.Second)
	})
}

// commands records the commands a client sends.
type commands struct {
	mu   sync.Mutex
	seen map[string][]bson.Raw
}

func (c *commands) monitor() *event.CommandMonitor {
	c.seen = map[string][]bson.Raw{}
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.seen[e.CommandName] = append(c.seen[e.CommandName], e.Command)
	}}
}

func (c *commands) get(name string) []bson.Raw {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[name]
}

func TestWriteConcernOnTheWire(t *testing.T) {
	ctx := context.Background()
	uri, db := testkit.Mongo(t)
	var cmds commands
	client, err := mongo.Connect(ClientOptions(config.Mongo{URI: uri, Timeout: 10 * time.Second}).SetMonitor(cmds.monitor()))
	require.NoError(t, err)
	defer client.Disconnect(ctx)
	coll := client.Database(db).Collection("c")

	_, err = coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	require.NoError(t, err)
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: 2}}}})
	require.NoError(t, err)
	_, err = coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: 1}})
	require.NoError(t, err)

	for _, name := range []string{"insert", "update", "delete"} {
		sent := cmds.get(name)
		require.Len(t, sent, 1, name)
		var wc struct {
			W any  `bson:"w"`
			J bool `bson:"j"`
		}
		require.NoError(t, sent[0].Lookup("writeConcern").Unmarshal(&wc), name)
		assert.Equal(t, "majority", wc.W, name)
		assert.True(t, wc.J, name)
	}
}
