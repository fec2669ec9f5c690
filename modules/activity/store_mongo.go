package activity

// The MongoDB store. MongoDB has transactions only on replica sets, and the
// Mongo-compatible server the tests run on (FerretDB v1) has none, so this
// store is built from single-document writes. Two facts of FerretDB v1 shape
// it further, both checked against a real server (see the test files):
//
//   - Unique indexes hold under concurrency on both (FerretDB leaves them to
//     SQLite or PostgreSQL), but FerretDB applies an update as read, modify,
//     write back: concurrent updates of one document can be lost (8 callers
//     × 50 $inc ended at 52, not 400) and a conditional update can match
//     twice. MongoDB applies each single-document update atomically.
//   - Partial indexes are not implemented, and "sparse" is accepted and
//     ignored.
//
// So every correctness rule that concurrency can break rests on a unique
// index — the one active workout per user, the duplicate samples — and
// rollups are not counters that writers increment but a cache that readers
// validate (store_mongo_slots.go). The one rule left to an update's
// atomicity is EndWorkout's "ends once": exact on MongoDB, and on FerretDB
// two racing ends may both succeed, the later one's values winning.
//
// Times are int64 microseconds since the Unix epoch (UTC): BSON dates keep
// only milliseconds, and the store keeps microseconds.
//
// Collections:
//
//	activity_workouts       one document per workout, _id = session id
//	activity_samples        one document per sample, _id = user|metric|µs|source
//	activity_metrics_daily  one document per user, metric and UTC day: 96
//	                        fifteen-minute slot aggregates (a validated cache)
//	activity_workout_tombstones
//	                        one document per deleted workout, _id = session id
//	                        (the change feed's deletions)
//	activity_metric_slot_changes
//	                        one document per slot ever written, _id = its
//	                        metric feed id: the stamp of its latest write
//	                        (store_mongo_slot_changes.go)

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	fitmongo "github.com/fitloop/fitloop/platform/mongo"
)

// Collection names.
const (
	mongoWorkoutsName = "activity_workouts"
	mongoSamplesName  = "activity_samples"
	mongoDailyName    = "activity_metrics_daily"
	mongoTombsName    = "activity_workout_tombstones"
	mongoStampsName   = "activity_metric_slot_changes"
)

// mongoStore is the Store on a MongoDB database (activity.store: mongo).
type mongoStore struct {
	workouts *mongo.Collection
	samples  *mongo.Collection
	daily    *mongo.Collection
	tombs    *mongo.Collection
	stamps   *mongo.Collection
}

var _ Store = (*mongoStore)(nil)

// NewMongoStore returns the store on db, creating the indexes it needs
// (creating an existing index is a no-op, so every replica may do it at
// start-up).
//
// Every write waits for w: majority and the journal and every read goes to
// the primary, whatever db's client says: that is the Store contract.
// Samples and rollups are also read with read concern majority, so a rollup
// is never computed from a write that a fail-over could still roll back (a
// majority-acknowledged write is visible to such reads at once).
func NewMongoStore(ctx context.Context, db *mongo.Database) (Store, error) {
	durable := options.Collection().SetWriteConcern(fitmongo.WriteConcern()).SetReadPreference(readpref.Primary())
	committed := options.Collection().SetWriteConcern(fitmongo.WriteConcern()).SetReadPreference(readpref.Primary()).
		SetReadConcern(readconcern.Majority())
	s := &mongoStore{
		workouts: db.Collection(mongoWorkoutsName, durable),
		samples:  db.Collection(mongoSamplesName, committed),
		daily:    db.Collection(mongoDailyName, committed),
		tombs:    db.Collection(mongoTombsName, durable),
		stamps:   db.Collection(mongoStampsName, committed),
	}
	for coll, models := range map[*mongo.Collection][]mongo.IndexModel{
		s.workouts: {
			// At most one active workout per user: see mongoWorkout.OneActive.
			{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "one_active", Value: 1}},
				Options: options.Index().SetName("one_active_per_user").SetUnique(true)},
			// Workouts and EachWorkout (walked backwards).
			{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "start_us", Value: -1}, {Key: "_id", Value: -1}},
				Options: options.Index().SetName("user_start")},
			{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "workout_type", Value: 1}, {Key: "start_us", Value: -1}, {Key: "_id", Value: -1}},
				Options: options.Index().SetName("user_type_start")},
			// The change feed's live half.
			{Keys: bson.D{{Key: "updated_us", Value: 1}, {Key: "_id", Value: 1}},
				Options: options.Index().SetName("updated")},
		},
		s.tombs: {
			// The change feed's deleted half.
			{Keys: bson.D{{Key: "deleted_us", Value: 1}, {Key: "_id", Value: 1}},
				Options: options.Index().SetName("deleted")},
		},
		s.samples: {
			// Duplicates by sample id: see mongoSample.Key.
			{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "key", Value: 1}},
				Options: options.Index().SetName("user_key").SetUnique(true)},
			// EachSample's order, LatestSamples, and the slot counts of
			// Buckets, which this index covers (slot is last for that).
			{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "metric", Value: 1}, {Key: "at_us", Value: 1},
				{Key: "source", Value: 1}, {Key: "slot", Value: 1}},
				Options: options.Index().SetName("user_metric_at")},
		},
		s.daily: {
			{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "metric", Value: 1}, {Key: "day", Value: 1}},
				Options: options.Index().SetName("user_metric_day")},
		},
		s.stamps: {
			// The metric change feed.
			{Keys: bson.D{{Key: "changed_us", Value: 1}, {Key: "_id", Value: 1}},
				Options: options.Index().SetName("changed")},
		},
	} {
		if _, err := coll.Indexes().CreateMany(ctx, models); err != nil {
			return nil, fmt.Errorf("activity: create indexes on %s: %w", coll.Name(), err)
		}
	}
	return s, nil
}

// EraseUser deletes the user's workouts, with their tombstones written
// before each batch is deleted (eraseWorkouts), then samples, rollups and
// slot stamps, one collection after the other (each delete is idempotent;
// a failure part-way is finished by calling it again). Rollups go after
// the samples: a Buckets racing the erasure may still write a rollup from
// samples it read before they were deleted; it is invalid (its counts no
// longer match) and never shown, and users are not created again under an
// erased id. A stamp left without samples is skipped by the feed.
func (s *mongoStore) EraseUser(ctx context.Context, userID string, at time.Time) error {
	if err := s.eraseWorkouts(ctx, userID, at); err != nil {
		return err
	}
	byUser := bson.D{{Key: "user_id", Value: userID}}
	for _, d := range []struct {
		coll   *mongo.Collection
		filter bson.D
	}{{s.samples, byUser}, {s.daily, byUser}, {s.stamps, mongoStampsOf(userID)}} {
		if _, err := d.coll.DeleteMany(ctx, d.filter); err != nil {
			return fmt.Errorf("activity: erase user from %s: %w", d.coll.Name(), err)
		}
	}
	return nil
}

// mongoMicros is t in microseconds since the Unix epoch (rounded down).
func mongoMicros(t time.Time) int64 { return t.UnixMicro() }

// mongoTime is the UTC time of us microseconds since the Unix epoch.
func mongoTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

// isMongoDuplicate reports a write that a unique index refused. FerretDB v1
// reports one on an update as an InternalError naming SQLite's constraint
// (MongoDB: code 11000), so that message counts too.
func isMongoDuplicate(err error) bool {
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	var ce mongo.CommandError
	return errors.As(err, &ce) && strings.Contains(ce.Message, "UNIQUE constraint failed")
}
