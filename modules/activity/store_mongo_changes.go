package activity

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// mongoTombstone is a document of activity_workout_tombstones: a deleted
// workout, for the change feed.
type mongoTombstone struct {
	ID        string `bson:"_id"`
	UserID    string `bson:"user_id"`
	DeletedUS int64  `bson:"deleted_us"`
}

// mongoStamp is what a tombstone needs of a workout document.
type mongoStamp struct {
	ID        string `bson:"_id"`
	UserID    string `bson:"user_id"`
	UpdatedUS int64  `bson:"updated_us"`
}

var mongoStampFields = bson.D{{Key: "_id", Value: 1}, {Key: "user_id", Value: 1}, {Key: "updated_us", Value: 1}}

// eraseBatch is how many workouts eraseWorkouts deletes at a time.
const eraseBatch = 500

// DeleteWorkout removes a workout: ErrWorkoutNotFound. Deleting the active
// workout frees the user's active slot with it. The tombstone is written
// right after the delete, which hands back the user and updated_at it
// needs. Without a transaction a crash (or a failed write, answered as an
// error though the workout is gone) between the two loses the tombstone:
// the change feed never reports the deletion, and a warehouse fed by it
// keeps the workout.
func (s *mongoStore) DeleteWorkout(ctx context.Context, id string, at time.Time) error {
	var d mongoStamp
	// The whole document comes back: FerretDB v1 has no projection in
	// findAndModify.
	err := s.workouts.FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ErrWorkoutNotFound
	}
	if err != nil {
		return wrapMongo("delete workout", err)
	}
	return s.tombstone(ctx, at, []mongoStamp{d})
}

// eraseWorkouts deletes a user's workouts a batch at a time, writing each
// batch's tombstones before deleting it: an erasure cut short is finished
// by calling it again, which finds the workouts left and writes their
// tombstones (had the workouts gone first, a retry would find nothing to
// write them from). Meanwhile the feed may report a workout deleted that is
// still stored, for a moment: it is on its way out.
func (s *mongoStore) eraseWorkouts(ctx context.Context, userID string, at time.Time) error {
	for {
		var batch []mongoStamp
		cur, err := s.workouts.Find(ctx, bson.D{{Key: "user_id", Value: userID}},
			options.Find().SetProjection(mongoStampFields).SetLimit(eraseBatch))
		if err == nil {
			err = cur.All(ctx, &batch)
		}
		if err != nil || len(batch) == 0 {
			return wrapMongo("erase user's workouts", err)
		}
		if err := s.tombstone(ctx, at, batch); err != nil {
			return err
		}
		ids := make(bson.A, len(batch))
		for i, d := range batch {
			ids[i] = d.ID
		}
		_, err = s.workouts.DeleteMany(ctx, bson.D{{Key: "user_id", Value: userID}, {Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
		if err != nil {
			return wrapMongo("erase user's workouts", err)
		}
	}
}

// tombstone upserts the tombstones of workouts deleted at at, each at the
// workout's updated_at if that is later (replicas' clocks differ; a
// tombstone must not sort before the change it ends); an older tombstone
// of the id keeps the later time.
func (s *mongoStore) tombstone(ctx context.Context, at time.Time, docs []mongoStamp) error {
	models := make([]mongo.WriteModel, len(docs))
	for i, d := range docs {
		models[i] = mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: d.ID}}).SetUpsert(true).
			SetUpdate(bson.D{
				{Key: "$set", Value: bson.D{{Key: "user_id", Value: d.UserID}}},
				{Key: "$max", Value: bson.D{{Key: "deleted_us", Value: max(mongoMicros(at), d.UpdatedUS)}}},
			})
	}
	_, err := s.tombs.BulkWrite(ctx, models)
	return wrapMongo("write tombstones", err)
}

// untombstone removes the tombstone of a workout created again.
func (s *mongoStore) untombstone(ctx context.Context, id string) error {
	_, err := s.tombs.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	return wrapMongo("create workout: remove its tombstone", err)
}

// WorkoutChanges reads the first limit live workouts and the first limit
// tombstones after the cursor, each along its (time, _id) index, and merges
// them. A workout and a tombstone of one id coexist only after a failure
// between two writes (see CreateWorkout and eraseWorkouts).
func (s *mongoStore) WorkoutChanges(ctx context.Context, after ChangeCursor, limit int) ([]WorkoutChange, error) {
	if err := checkChangeLimit(limit); err != nil {
		return nil, err
	}
	live := make([]WorkoutChange, 0, min(limit, 256))
	err := s.eachWorkout(ctx, mongoAfter("updated_us", after), mongoChangeOrder("updated_us", limit),
		func(w *Workout) error {
			live = append(live, liveChange(w))
			return nil
		})
	if err != nil {
		return nil, err
	}
	cur, err := s.tombs.Find(ctx, mongoAfter("deleted_us", after), mongoChangeOrder("deleted_us", limit))
	if err != nil {
		return nil, wrapMongo("workout changes", err)
	}
	var dead []mongoTombstone
	if err := cur.All(ctx, &dead); err != nil {
		return nil, wrapMongo("workout changes", err)
	}
	return mergeChanges(live, dead, limit), nil
}

// mongoAfter selects the documents after the cursor in (field, _id) order:
// a range on field plus a filter, as Workouts' keyset.
func mongoAfter(field string, after ChangeCursor) bson.D {
	if after == (ChangeCursor{}) {
		return bson.D{}
	}
	at := mongoMicros(after.At)
	return bson.D{
		{Key: field, Value: bson.D{{Key: "$gte", Value: at}}},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: field, Value: bson.D{{Key: "$gt", Value: at}}}},
			bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after.ID}}}},
		}},
	}
}

func mongoChangeOrder(field string, limit int) *options.FindOptionsBuilder {
	return options.Find().SetSort(bson.D{{Key: field, Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit))
}

// mergeChanges merges live workouts and tombstones, each in (time, id)
// order, into the first limit changes. Of a workout and a tombstone with
// the same time and id the tombstone comes first, so that the workout,
// which is stored, is what a consumer ends with.
func mergeChanges(live []WorkoutChange, dead []mongoTombstone, limit int) []WorkoutChange {
	out := make([]WorkoutChange, 0, min(limit, len(live)+len(dead)))
	for len(out) < limit && (len(live) > 0 || len(dead) > 0) {
		if len(dead) > 0 && (len(live) == 0 || !tombstoneAfter(dead[0], live[0])) {
			d := dead[0]
			out = append(out, WorkoutChange{ID: d.ID, UserID: d.UserID, ChangedAt: mongoTime(d.DeletedUS), Deleted: true})
			dead = dead[1:]
			continue
		}
		out = append(out, live[0])
		live = live[1:]
	}
	return out
}

// tombstoneAfter reports whether d comes after the live change c.
func tombstoneAfter(d mongoTombstone, c WorkoutChange) bool {
	if us := mongoMicros(c.ChangedAt); d.DeletedUS != us {
		return d.DeletedUS > us
	}
	return d.ID > c.ID
}
