// Package cache is fitloop's key-value cache: byte values with a TTL and
// atomic counters for rate limits.
//
// New picks the implementation: Memory when Redis is not configured (one
// replica), else Fallback over Redis, which keeps the API answering while
// Redis is down. Values are copies of data whose authoritative copy lives in
// the database; every cached value needs a TTL that bounds how stale it may
// get, because an invalidation (Delete) can be lost while Redis is away.
package cache
