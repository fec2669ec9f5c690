package redisx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/fitloop/fitloop/platform/config"
)

// Modes accepted in config.Redis.Mode. The empty mode means no Redis.
const (
	ModeSingle   = "single"
	ModeRing     = "ring"
	ModeCluster  = "cluster"
	ModeSentinel = "sentinel"
)

// ringHeartbeat is how often the ring pings its shards. A shard is dropped
// after three failed pings, so a dead shard leaves the ring within about a
// second and its keys are routed to the live shards.
const ringHeartbeat = 250 * time.Millisecond

// Retries are few on purpose: go-redis's defaults (3 command retries, 5 dial
// attempts 100 ms apart) make one call to a dead server take ~1.7 s, and the
// breaker, not the client, is what should absorb an outage.
const (
	maxRetries     = 1
	dialRetries    = 1
	dialRetryPause = 50 * time.Millisecond
)

// New returns the go-redis client for cfg.Mode. It does not connect; the
// first command does. An empty or unknown mode, or a mode without the
// addresses it needs, is an error.
func New(cfg config.Redis) (goredis.UniversalClient, error) {
	if len(cfg.Addrs) == 0 {
		return nil, fmt.Errorf("redisx: mode %q needs at least one address", cfg.Mode)
	}
	switch cfg.Mode {
	case ModeSingle:
		if len(cfg.Addrs) != 1 {
			return nil, fmt.Errorf("redisx: mode single takes one address, got %d", len(cfg.Addrs))
		}
		return goredis.NewClient(&goredis.Options{
			Addr: cfg.Addrs[0], Username: cfg.Username, Password: cfg.Password, DB: cfg.DB,
			DialTimeout: cfg.DialTimeout, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout,
			MaxRetries: maxRetries, DialerRetries: dialRetries, DialerRetryTimeout: dialRetryPause,
		}), nil
	case ModeRing:
		shards := make(map[string]string, len(cfg.Addrs))
		for i, addr := range cfg.Addrs {
			// Shard names, not addresses, feed the hash: replacing a shard's
			// host keeps its keys in place.
			shards[fmt.Sprintf("shard%d", i)] = addr
		}
		return goredis.NewRing(&goredis.RingOptions{
			Addrs: shards, HeartbeatFrequency: ringHeartbeat,
			Username: cfg.Username, Password: cfg.Password, DB: cfg.DB,
			DialTimeout: cfg.DialTimeout, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout,
			MaxRetries: maxRetries, DialerRetries: dialRetries, DialerRetryTimeout: dialRetryPause,
		}), nil
	case ModeCluster:
		if cfg.DB != 0 {
			return nil, errors.New("redisx: mode cluster supports only db 0")
		}
		return goredis.NewClusterClient(&goredis.ClusterOptions{
			Addrs: cfg.Addrs, Username: cfg.Username, Password: cfg.Password,
			DialTimeout: cfg.DialTimeout, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout,
			MaxRetries: maxRetries, DialerRetries: dialRetries, DialerRetryTimeout: dialRetryPause,
		}), nil
	case ModeSentinel:
		if cfg.MasterName == "" {
			return nil, errors.New("redisx: mode sentinel needs master_name")
		}
		// Addrs are the sentinels; Username and Password are the master's.
		return goredis.NewFailoverClient(&goredis.FailoverOptions{
			MasterName: cfg.MasterName, SentinelAddrs: cfg.Addrs,
			Username: cfg.Username, Password: cfg.Password, DB: cfg.DB,
			DialTimeout: cfg.DialTimeout, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout,
			MaxRetries: maxRetries, DialerRetries: dialRetries, DialerRetryTimeout: dialRetryPause,
		}), nil
	default:
		return nil, fmt.Errorf("redisx: unknown mode %q (want single, ring, cluster or sentinel)", cfg.Mode)
	}
}

// Redis is a configured client, its breaker and the prober that closes the
// breaker once Redis answers again.
type Redis struct {
	Client  goredis.UniversalClient
	Breaker *Breaker
	stop    context.CancelFunc
	done    chan struct{}
}

// Open builds the client and breaker for cfg, registers the breaker's metrics
// in reg (when not nil) and starts the prober. It returns nil and no error
// when cfg.Mode is empty: the caller then uses in-process cache and bus.
func Open(cfg config.Redis, reg prometheus.Registerer) (*Redis, error) {
	if cfg.Mode == "" {
		return nil, nil
	}
	client, err := New(cfg)
	if err != nil {
		return nil, err
	}
	b := NewBreaker("redis", cfg.BreakerFailures, cfg.BreakerCooldown)
	if reg != nil {
		if err := b.Register(reg); err != nil {
			_ = client.Close()
			return nil, fmt.Errorf("redisx: register metrics: %w", err)
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &Redis{Client: client, Breaker: b, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		b.Probe(ctx, client, probeInterval(cfg.BreakerCooldown))
	}()
	return r, nil
}

// Universal returns the client, or nil without Redis (a nil *Redis).
func (r *Redis) Universal() goredis.UniversalClient {
	if r == nil {
		return nil
	}
	return r.Client
}

// Check is the /readyz check: nil when Redis answers a PING through the
// breaker; otherwise an error naming the breaker state.
func (r *Redis) Check(ctx context.Context) error {
	return r.Breaker.Check(r.Client)(ctx)
}

// Close stops the prober and closes the client.
func (r *Redis) Close() error {
	r.stop()
	<-r.done
	return r.Client.Close()
}

// probeInterval pings often enough to close the breaker soon after the
// cooldown ends, without hammering a dead server.
func probeInterval(cooldown time.Duration) time.Duration {
	if cooldown <= 0 {
		return time.Second
	}
	return min(max(cooldown/4, 50*time.Millisecond), 5*time.Second)
}
