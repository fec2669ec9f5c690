package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fitloop/fitloop/platform/redisx"
)

// KeyPrefix namespaces the cache's keys in a shared Redis.
const KeyPrefix = "fitloop:cache:"

// incrScript increments and sets the expiry when the counter has none, in
// one atomic step: a crash between INCR and PEXPIRE cannot leave a counter
// that never expires.
var incrScript = goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`)

// Redis is a Cache in Redis, shared by every replica. Every call goes
// through the breaker, so while Redis is down calls fail at once with an
// error wrapping redisx.ErrOpen.
type Redis struct {
	client  goredis.UniversalClient
	breaker *redisx.Breaker
}

var _ Cache = (*Redis)(nil)

// NewRedis returns a Cache over client guarded by breaker. A nil breaker
// means calls are made unguarded.
func NewRedis(client goredis.UniversalClient, breaker *redisx.Breaker) *Redis {
	return &Redis{client: client, breaker: breaker}
}

func (c *Redis) do(ctx context.Context, fn func(context.Context) error) error {
	if c.breaker == nil {
		return fn(ctx)
	}
	return c.breaker.Do(ctx, fn)
}

// Get implements Cache.
func (c *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var val []byte
	err := c.do(ctx, func(ctx context.Context) (err error) {
		val, err = c.client.Get(ctx, KeyPrefix+key).Bytes()
		return err
	})
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache: get %s: %w", key, err)
	}
	return val, true, nil
}

// GetMany implements Cache with one GET per key in a pipeline, because in
// a cluster or ring the keys may live on different nodes.
func (c *Redis) GetMany(ctx context.Context, keys ...string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	err := c.do(ctx, func(ctx context.Context) error {
		cmds, err := c.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, k := range keys {
				p.Get(ctx, KeyPrefix+k)
			}
			return nil
		})
		if err != nil && !errors.Is(err, goredis.Nil) {
			return err
		}
		for i, cmd := range cmds {
			b, err := cmd.(*goredis.StringCmd).Bytes()
			switch {
			case errors.Is(err, goredis.Nil):
			case err != nil:
				return err
			case b == nil:
				out[i] = []byte{}
			default:
				out[i] = b
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cache: get %d keys: %w", len(keys), err)
	}
	return out, nil
}

// Set implements Cache.
func (c *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	ttl = max(ttl, 0) // go-redis: 0 means no expiry; negative values mean KEEPTTL
	err := c.do(ctx, func(ctx context.Context) error {
		return c.client.Set(ctx, KeyPrefix+key, val, ttl).Err()
	})
	if err != nil {
		return fmt.Errorf("cache: set %s: %w", key, err)
	}
	return nil
}

// Delete implements Cache. Keys are deleted one command each in a pipeline,
// because in a cluster or ring they may live on different nodes.
func (c *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	err := c.do(ctx, func(ctx context.Context) error {
		_, err := c.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, k := range keys {
				p.Del(ctx, KeyPrefix+k)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("cache: delete: %w", err)
	}
	return nil
}

// Update implements Cache with optimistic locking: WATCH the key, read it,
// and write fn's value in a MULTI that fails if the key changed since; a
// lost race reads again after a random pause of up to a few milliseconds,
// so writers racing on one key take turns instead of starving one. fn's own errors never count against the breaker.
func (c *Redis) Update(ctx context.Context, key string, ttl time.Duration, fn UpdateFunc) ([]byte, error) {
	k := KeyPrefix + key
	ttl = max(ttl, 0)
	for attempt := range MaxUpdateAttempts {
		if attempt > 0 { // lost a race: back off a random moment so racers spread out
			t := time.NewTimer(time.Duration(rand.Int64N(int64(min(attempt, 8))*int64(time.Millisecond)) + 1))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("cache: update %s: %w", key, ctx.Err())
			case <-t.C:
			}
		}
		var out []byte
		var fnErr error
		err := c.do(ctx, func(ctx context.Context) error {
			return c.client.Watch(ctx, func(tx *goredis.Tx) error {
				cur, err := tx.Get(ctx, k).Bytes()
				ok := err == nil
				if err != nil && !errors.Is(err, goredis.Nil) {
					return err
				}
				if out, fnErr = fn(cur, ok); fnErr != nil {
					return nil // nothing to write; Watch unwatches
				}
				_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
					if out == nil {
						p.Del(ctx, k)
					} else {
						p.Set(ctx, k, out, ttl)
					}
					return nil
				})
				return err
			}, k)
		})
		switch {
		case errors.Is(err, goredis.TxFailedErr):
			continue // another writer got there first
		case err != nil:
			return nil, fmt.Errorf("cache: update %s: %w", key, err)
		case fnErr != nil:
			return nil, fnErr
		}
		return out, nil
	}
	return nil, fmt.Errorf("cache: update %s: %w", key, ErrContended)
}

// Incr implements Cache.
func (c *Redis) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if ttl <= 0 {
		return 0, fmt.Errorf("cache: incr %s: ttl must be positive", key)
	}
	var n int64
	err := c.do(ctx, func(ctx context.Context) (err error) {
		n, err = incrScript.Run(ctx, c.client, []string{KeyPrefix + key}, max(ttl.Milliseconds(), 1)).Int64()
		return err
	})
	var rerr goredis.Error
	if errors.As(err, &rerr) && strings.Contains(rerr.Error(), "not an integer") {
		return 0, fmt.Errorf("cache: incr %s: %w", key, ErrNotCounter)
	}
	if err != nil {
		return 0, fmt.Errorf("cache: incr %s: %w", key, err)
	}
	return n, nil
}
