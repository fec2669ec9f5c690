// Package cache is fitloop's key-value cache: byte values with a TTL (read
// one at a time or several in one round trip with GetMany), atomic counters
// for rate limits, and atomic read-modify-write (Update) for small shared
// state such as a live session's.
//
// New picks the implementation: Memory when Redis is not configured (one
// replica), else Fallback over Redis, which keeps the API answering while
// Redis is down. Values are copies of data whose authoritative copy lives in
// the database; every cached value needs a TTL that bounds how stale it may
// get, because an invalidation (Delete) can be lost while Redis is away.
//
// Update is the exception: what it keeps is state whose only copy is the
// cache, so it is never answered from a per-replica stand-in. On Memory it
// runs under the cache's lock; on Redis it is optimistic (WATCH, read, write
// in MULTI, read again after a lost race, at most MaxUpdateAttempts times);
// through Fallback it fails while Redis does.
package cache
