package activity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// mongoWorkout is a workout document of activity_workouts.
type mongoWorkout struct {
	ID          string `bson:"_id"`
	UserID      string `bson:"user_id"`
	WorkoutType string `bson:"workout_type"`
	StartUS     int64  `bson:"start_us"`
	EndUS       *int64 `bson:"end_us"` // null while active
	// OneActive is "*" while the workout is active and its own id once it
	// has ended. With the unique index on (user_id, one_active) a user has
	// at most one active workout, enforced by the server in the same
	// single-document write that starts, ends or reopens a workout: no
	// marker document, so no crash between two writes can leave a stale
	// marker or two active workouts. (A partial unique index on
	// {end_us: null} would say it directly, but FerretDB v1 has no partial
	// indexes, and MongoDB's cannot filter on null.)
	OneActive         string   `bson:"one_active"`
	Duration          int64    `bson:"duration"`
	CaloriesBurned    float64  `bson:"calories_burned"`
	CaloriesEstimated bool     `bson:"calories_estimated"`
	DistanceKM        *float64 `bson:"distance_km"`
	AvgHeartRate      *int     `bson:"avg_heart_rate"`
	Notes             string   `bson:"notes"`
	Source            string   `bson:"source"`
	CreatedUS         int64    `bson:"created_us"`
	UpdatedUS         int64    `bson:"updated_us"`
	Version           int64    `bson:"version"`
}

// mongoActive is one_active of an active workout.
const mongoActive = "*"

func mongoOneActive(id string, end *time.Time) string {
	if end == nil {
		return mongoActive
	}
	return id
}

// mongoNormalize puts w's times in the form the store keeps (UTC,
// microseconds), so the caller holds what a later read returns.
func mongoNormalize(w *Workout) {
	round := func(t time.Time) time.Time { return mongoTime(mongoMicros(t)) }
	w.StartTime, w.CreatedAt, w.UpdatedAt = round(w.StartTime), round(w.CreatedAt), round(w.UpdatedAt)
	if w.EndTime != nil {
		end := round(*w.EndTime)
		w.EndTime = &end
	}
}

func toMongoWorkout(w *Workout) *mongoWorkout {
	d := &mongoWorkout{
		ID: w.ID, UserID: w.UserID, WorkoutType: w.WorkoutType, StartUS: mongoMicros(w.StartTime),
		OneActive: mongoOneActive(w.ID, w.EndTime), Duration: w.Duration,
		CaloriesBurned: w.CaloriesBurned, CaloriesEstimated: w.CaloriesEstimated,
		DistanceKM: w.DistanceKM, AvgHeartRate: w.AvgHeartRate, Notes: w.Notes, Source: w.Source,
		CreatedUS: mongoMicros(w.CreatedAt), UpdatedUS: mongoMicros(w.UpdatedAt), Version: w.Version,
	}
	if w.EndTime != nil {
		end := mongoMicros(*w.EndTime)
		d.EndUS = &end
	}
	return d
}

func (d *mongoWorkout) toWorkout() *Workout {
	w := &Workout{
		ID: d.ID, UserID: d.UserID, WorkoutType: d.WorkoutType, StartTime: mongoTime(d.StartUS),
		Duration: d.Duration, CaloriesBurned: d.CaloriesBurned, CaloriesEstimated: d.CaloriesEstimated,
		DistanceKM: d.DistanceKM, AvgHeartRate: d.AvgHeartRate, Notes: d.Notes, Source: d.Source,
		CreatedAt: mongoTime(d.CreatedUS), UpdatedAt: mongoTime(d.UpdatedUS), Version: d.Version,
	}
	if d.EndUS != nil {
		end := mongoTime(*d.EndUS)
		w.EndTime = &end
	}
	return w
}

// CreateWorkout inserts w. An insert refused by one_active_per_user answers
// *ActiveWorkoutError naming the active workout; when that has ended by the
// time it is looked up, the insert is tried again. A refused id is an error.
//
// A tombstone of the id is removed right after the insert (no transaction
// holds the two). Should that fail, CreateWorkout answers the error though
// the workout is stored, and the change feed shows the old tombstone
// before the workout, which a consumer applying changes in order ends
// with.
func (s *mongoStore) CreateWorkout(ctx context.Context, w *Workout) error {
	if w.UpdatedAt.IsZero() {
		return errNoUpdatedAt
	}
	mongoNormalize(w)
	doc := toMongoWorkout(w)
	for range 3 {
		_, err := s.workouts.InsertOne(ctx, doc)
		if err == nil {
			return s.untombstone(ctx, w.ID)
		}
		if !isMongoDuplicate(err) {
			return wrapMongo("create workout", err)
		}
		if !w.Active() {
			return wrapMongo("create workout", err) // only the id can repeat
		}
		active, lookErr := s.activeWorkoutID(ctx, w.UserID)
		if lookErr != nil {
			return lookErr
		}
		if active != "" {
			return &ActiveWorkoutError{SessionID: active}
		}
		if _, lookErr := s.Workout(ctx, w.ID); lookErr == nil {
			return wrapMongo("create workout", err)
		}
	}
	return errors.New("activity: create workout: the active workout changed three times while starting one")
}

// activeWorkoutID returns the id of the user's active workout, "" if none.
func (s *mongoStore) activeWorkoutID(ctx context.Context, userID string) (string, error) {
	var d struct {
		ID string `bson:"_id"`
	}
	err := s.workouts.FindOne(ctx, bson.D{{Key: "user_id", Value: userID}, {Key: "one_active", Value: mongoActive}},
		options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", nil
	}
	return d.ID, wrapMongo("find active workout", err)
}

// Workout returns one workout or ErrWorkoutNotFound.
func (s *mongoStore) Workout(ctx context.Context, id string) (*Workout, error) {
	var d mongoWorkout
	err := s.workouts.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrWorkoutNotFound
	}
	if err != nil {
		return nil, wrapMongo("workout", err)
	}
	return d.toWorkout(), nil
}

// EndWorkout stores end time, duration, calories and updated_at of an
// active workout, in one update conditional on end_us being null; when
// nothing matched, a second look tells ended from missing. MongoDB applies
// the update atomically, so of racing ends exactly one succeeds; FerretDB
// v1 may let two through (see store_mongo.go).
func (s *mongoStore) EndWorkout(ctx context.Context, w *Workout) error {
	if w.EndTime == nil {
		return errors.New("activity: end workout: no end time")
	}
	if w.UpdatedAt.IsZero() {
		return errNoUpdatedAt
	}
	mongoNormalize(w)
	set := bson.D{
		{Key: "end_us", Value: mongoMicros(*w.EndTime)}, {Key: "one_active", Value: w.ID},
		{Key: "duration", Value: w.Duration}, {Key: "calories_burned", Value: w.CaloriesBurned},
		{Key: "calories_estimated", Value: w.CaloriesEstimated}, {Key: "updated_us", Value: mongoMicros(w.UpdatedAt)},
	}
	res, err := s.workouts.UpdateOne(ctx, bson.D{{Key: "_id", Value: w.ID}, {Key: "end_us", Value: nil}},
		bson.D{{Key: "$set", Value: set}, {Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}}})
	if err != nil {
		return wrapMongo("end workout", err)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	return s.missingOr(ctx, "end workout", w.ID, ErrWorkoutEnded)
}

// missingOr tells why a conditional update of workout id matched nothing:
// ErrWorkoutNotFound when it is not there, else otherwise.
func (s *mongoStore) missingOr(ctx context.Context, op, id string, otherwise error) error {
	n, err := s.workouts.CountDocuments(ctx, bson.D{{Key: "_id", Value: id}})
	switch {
	case err != nil:
		return wrapMongo(op, err)
	case n == 0:
		return ErrWorkoutNotFound
	}
	return otherwise
}

// UpdateWorkout replaces the editable fields of a workout still at
// w.Version, in one update conditional on the version. MongoDB applies it
// atomically, so of racing updates from one version exactly one lands;
// FerretDB v1 may let two through (see store_mongo.go). Making an ended
// workout active again while the user has another active one answers
// *ActiveWorkoutError.
func (s *mongoStore) UpdateWorkout(ctx context.Context, w *Workout) error {
	if w.UpdatedAt.IsZero() {
		return errNoUpdatedAt
	}
	mongoNormalize(w)
	d := toMongoWorkout(w)
	set := bson.D{
		{Key: "workout_type", Value: d.WorkoutType}, {Key: "start_us", Value: d.StartUS},
		{Key: "end_us", Value: d.EndUS}, {Key: "one_active", Value: d.OneActive},
		{Key: "duration", Value: d.Duration}, {Key: "calories_burned", Value: d.CaloriesBurned},
		{Key: "calories_estimated", Value: d.CaloriesEstimated}, {Key: "distance_km", Value: d.DistanceKM},
		{Key: "avg_heart_rate", Value: d.AvgHeartRate}, {Key: "notes", Value: d.Notes},
		{Key: "updated_us", Value: d.UpdatedUS}, {Key: "version", Value: w.Version + 1},
	}
	res, err := s.workouts.UpdateOne(ctx, bson.D{{Key: "_id", Value: w.ID}, {Key: "version", Value: w.Version}},
		bson.D{{Key: "$set", Value: set}})
	switch {
	case err != nil && isMongoDuplicate(err):
		active, lookErr := s.activeWorkoutID(ctx, w.UserID)
		if lookErr != nil {
			return lookErr
		}
		return &ActiveWorkoutError{SessionID: active}
	case err != nil:
		return wrapMongo("update workout", err)
	case res.MatchedCount == 1:
		w.Version++
		return nil
	}
	return s.missingOr(ctx, "update workout", w.ID, ErrWorkoutChanged)
}

// Workouts lists a user's workouts newest first along index user_start (or
// user_type_start). The keyset condition is start_us ≤ at and (start_us < at
// or _id < after), which the planner turns into index bounds plus a filter.
// A non-positive Limit means no limit.
func (s *mongoStore) Workouts(ctx context.Context, q WorkoutQuery) ([]Workout, error) {
	filter := bson.D{{Key: "user_id", Value: q.UserID}}
	if q.Type != "" {
		filter = append(filter, bson.E{Key: "workout_type", Value: q.Type})
	}
	start := bson.D{}
	if !q.From.IsZero() {
		start = append(start, bson.E{Key: "$gte", Value: mongoMicros(q.From)})
	}
	if !q.To.IsZero() {
		start = append(start, bson.E{Key: "$lt", Value: mongoMicros(q.To)})
	}
	if q.After != nil {
		at := mongoMicros(q.After.StartTime)
		start = append(start, bson.E{Key: "$lte", Value: at})
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "start_us", Value: bson.D{{Key: "$lt", Value: at}}}},
			bson.D{{Key: "_id", Value: bson.D{{Key: "$lt", Value: q.After.ID}}}},
		}})
	}
	if len(start) > 0 {
		filter = append(filter, bson.E{Key: "start_us", Value: start})
	}
	opts := options.Find().SetSort(bson.D{{Key: "start_us", Value: -1}, {Key: "_id", Value: -1}})
	if q.Limit > 0 {
		opts.SetLimit(int64(q.Limit))
	}
	out := []Workout{}
	err := s.eachWorkout(ctx, filter, opts, func(w *Workout) error {
		out = append(out, *w)
		return nil
	})
	return out, err
}

// EachWorkout calls fn for each of a user's workouts that start in
// [from, to), oldest first, one batch of documents in memory at a time.
func (s *mongoStore) EachWorkout(ctx context.Context, userID string, from, to time.Time, fn func(*Workout) error) error {
	filter := bson.D{{Key: "user_id", Value: userID}, {Key: "start_us", Value: bson.D{
		{Key: "$gte", Value: mongoMicros(from)}, {Key: "$lt", Value: mongoMicros(to)},
	}}}
	return s.eachWorkout(ctx, filter, options.Find().SetSort(bson.D{{Key: "start_us", Value: 1}, {Key: "_id", Value: 1}}), fn)
}

func (s *mongoStore) eachWorkout(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder, fn func(*Workout) error) error {
	cur, err := s.workouts.Find(ctx, filter, opts)
	if err != nil {
		return wrapMongo("workouts", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d mongoWorkout
		if err := cur.Decode(&d); err != nil {
			return wrapMongo("workouts", err)
		}
		if err := fn(d.toWorkout()); err != nil {
			return err
		}
	}
	return wrapMongo("workouts", cur.Err())
}

// wrapMongo adds the operation to a driver error; nil stays nil.
func wrapMongo(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("activity: %s: %w", op, err)
}
