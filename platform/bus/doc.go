// Package bus carries messages between the parts of fitloop, and between
// replicas when Redis is configured.
//
// Delivery is at most once and ordered per topic for each subscriber: a
// subscriber sees a topic's messages in publish order (for Redis, the order
// Redis received them, the same on every replica), possibly with gaps.
// Publishers never block on slow subscribers. Each subscriber has a bounded
// buffer; when it is full, new messages for that subscriber are dropped and
// counted (Dropped), and its other messages still arrive in order. Anything
// users must not miss goes to the database with a sequence number, and the
// bus only nudges.
//
// Handlers run one at a time per subscription, on a goroutine of their own;
// they must not modify the message slice, which subscribers share.
package bus
