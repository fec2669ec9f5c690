// Package redisx builds the optional Redis client from config and guards it
// with a circuit breaker.
//
// New picks the go-redis client for the configured mode: single (one server),
// ring (client-side sharding over N independent servers with rendezvous
// hashing; a shard that fails three heartbeats is dropped from the ring and
// its keys move to the others), cluster (Redis Cluster) or sentinel (a
// failover client that follows the master the sentinels elect).
//
// Breaker (platform/breaker, with Redis's own idea of which errors mean
// Redis is down) wraps every call. After BreakerFailures consecutive failures it
// opens and rejects calls at once, so callers fall back (cache misses go to
// the database, rate limits to per-replica memory) instead of waiting on
// time-outs. After BreakerCooldown it lets one call through (half-open) and
// closes again on success. Open starts a prober that makes that call even
// when no traffic arrives, so the breaker closes by itself once Redis is back.
// The state is exported as the gauge fitloop_redis_breaker_state (0 closed,
// 1 half-open, 2 open) and rejected calls as fitloop_redis_breaker_rejected_total.
//
// Redis holds only state fitloop can lose or rebuild: caches, rate-limit
// counters and pub/sub fan-out. It is never the system of record.
package redisx
