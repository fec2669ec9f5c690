// Package mongo builds the optional MongoDB client from config (used when
// activity.store is mongo) and answers the readiness check.
//
// The client's defaults are the durability contract of the stores on top of
// it, so they are set here explicitly and override whatever the URI says:
// writes wait for a majority of the replica set and for the journal
// (w: majority, j: true), and reads go to the primary. config.Mongo.Timeout
// bounds connecting, server selection and every operation whose context has
// no deadline (the driver's client-side operation timeout, which also bounds
// each batch a cursor fetches).
//
// Breaker guards calls to MongoDB (the activity store and Ping go through
// it): after config.Mongo.BreakerFailures consecutive calls that Unhealthy
// says failed because of MongoDB — time-outs, network and server-selection
// errors, shutdown and election codes — it opens and rejects calls at once
// for config.Mongo.BreakerCooldown, then lets one trial call through. Answers
// from a working server (no document, a duplicate key) never count. Its
// state is the gauge fitloop_mongo_breaker_state (0 closed, 1 half-open,
// 2 open) and rejected calls fitloop_mongo_breaker_rejected_total.
//
// Tests run against FerretDB v1 (platform/testkit.Mongo), which accepts
// these settings and, being a single server, ignores them.
package mongo
