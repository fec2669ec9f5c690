package mongo

import (
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/fitloop/fitloop/platform/breaker"
)

// NewBreaker returns the circuit breaker for MongoDB calls (name and metrics
// "mongo": fitloop_mongo_breaker_state, fitloop_mongo_breaker_rejected_total).
// Only errors Unhealthy recognises count against it.
func NewBreaker(failures int, cooldown time.Duration) *breaker.Breaker {
	return breaker.New("mongo", failures, cooldown, breaker.Options{Backend: "mongo", Failure: Unhealthy})
}

// unhealthyCodes are server error codes that say the server or replica set
// cannot serve now, whatever the request: unreachable members, shutdown,
// an election under way, a majority that cannot acknowledge.
var unhealthyCodes = []int{
	6,     // HostUnreachable
	7,     // HostNotFound
	64,    // WriteConcernFailed: no majority within wtimeout
	89,    // NetworkTimeout
	91,    // ShutdownInProgress
	100,   // UnsatisfiableWriteConcern: too few data-bearing members
	133,   // FailedToSatisfyReadPreference
	189,   // PrimarySteppedDown
	262,   // ExceededTimeLimit
	9001,  // SocketException
	10107, // NotWritablePrimary
	11600, // InterruptedAtShutdown
	11602, // InterruptedDueToReplStateChange
	13435, // NotPrimaryNoSecondaryOk
	13436, // NotPrimaryOrSecondary
}

// Unhealthy reports whether err, from a MongoDB call, says MongoDB is
// unhealthy: a time-out (the caller's deadline included), a network error,
// no server to select, or a server error from unhealthyCodes. Everything
// else is an answer from a working server (no document, a duplicate key,
// a validation error) or a mistake of the caller, and does not count.
func Unhealthy(err error) bool {
	if err == nil {
		return false
	}
	if mongo.IsTimeout(err) || mongo.IsNetworkError(err) || errors.As(err, new(topology.ServerSelectionError)) {
		return true
	}
	var se mongo.ServerError
	if !errors.As(err, &se) {
		return false
	}
	for _, code := range unhealthyCodes {
		if se.HasErrorCode(code) {
			return true
		}
	}
	return false
}
