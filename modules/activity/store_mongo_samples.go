package activity

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// mongoSample is a sample document of activity_samples. Samples are only
// ever inserted (and erased with their user), never changed: the rollups'
// validity rests on that (store_mongo_slots.go).
type mongoSample struct {
	// ID is user|metric|µs|source: the unique _id index refuses a second
	// sample with the same metric, time and source. User ids and metric
	// names hold no "|", and the source is last.
	ID     string  `bson:"_id"`
	UserID string  `bson:"user_id"`
	Metric string  `bson:"metric"`
	AtUS   int64   `bson:"at_us"`
	Slot   int64   `bson:"slot"` // at_us / 15 min (rounded down): the slot's number since 1970
	Value  float64 `bson:"value"`
	Source string  `bson:"source"`
	// SampleID is omitted when the client gave none.
	SampleID string `bson:"sample_id,omitempty"`
	// Key is "id:" + the sample id, or "at:" + metric|µs|source without one;
	// the unique index on (user_id, key) refuses a repeated sample id. A
	// sparse or partial unique index on sample_id would skip the samples
	// without one, but FerretDB v1 ignores "sparse" and has no partial
	// indexes, and MongoDB would count every missing sample_id as one null
	// value in a plain unique index. So every sample gets a key, unique by
	// construction when it has no sample id.
	Key string `bson:"key"`
}

// mongoSlotUS is SlotSize in microseconds.
const mongoSlotUS = int64(SlotSize / time.Microsecond)

func newMongoSample(userID string, sm *Sample) *mongoSample {
	at := mongoMicros(sm.RecordedAt)
	natural := sm.Metric + "|" + strconv.FormatInt(at, 10) + "|" + sm.Source
	d := &mongoSample{
		ID: userID + "|" + natural, UserID: userID, Metric: sm.Metric, AtUS: at, Slot: mongoFloorDiv(at, mongoSlotUS),
		Value: sm.Value, Source: sm.Source, SampleID: sm.SampleID, Key: "at:" + natural,
	}
	if sm.SampleID != "" {
		d.Key = "id:" + sm.SampleID
	}
	return d
}

func (d *mongoSample) toSample() *Sample {
	return &Sample{Metric: d.Metric, Value: d.Value, RecordedAt: mongoTime(d.AtUS), Source: d.Source, SampleID: d.SampleID}
}

// AddSamples inserts the samples of one user with one unordered insertMany
// (w: majority, j: true). Repeats within the batch are dropped first (the
// first of equal keys is kept); each document the unique indexes refuse is a
// duplicate of a stored sample. Before the insert it stamps the batch's
// slots for the metric change feed (store_mongo_slot_changes.go); nothing
// else is written: rollups are computed by readers (store_mongo_slots.go).
//
// All or nothing is not possible without transactions, and the store does
// not pretend otherwise. A call that returns an error may have stored some
// of the samples (the server writes the documents it can, in batches, and a
// lost connection leaves the outcome unknown). It never stores a sample
// twice or a half-written one, and a failed call leaves no rollup wrong,
// since rollups are validated against the stored samples. Undoing the
// stored part is not done: a racing call may have counted those very
// samples as its duplicates and answered so. The contract the service
// relies on instead: every sample is idempotent by its keys, so retrying
// the same batch is safe and ends with the batch stored exactly once (the
// retry counts the already-stored part as duplicates). A call whose context
// has ended before it starts stores nothing.
func (s *mongoStore) AddSamples(ctx context.Context, userID string, samples []Sample) (accepted, duplicates int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, wrapMongo("add samples", err)
	}
	docs := make([]any, 0, len(samples))
	ids, keys := make(map[string]bool, len(samples)), make(map[string]bool, len(samples))
	slots := map[slotKey]struct{}{}
	for i := range samples {
		d := newMongoSample(userID, &samples[i])
		if ids[d.ID] || keys[d.Key] {
			duplicates++
			continue
		}
		ids[d.ID], keys[d.Key] = true, true
		docs = append(docs, d)
		slots[slotKey{d.Metric, d.Slot}] = struct{}{}
	}
	if len(docs) == 0 {
		return 0, duplicates, nil
	}
	if err := s.stampSlots(ctx, userID, slots); err != nil {
		return 0, 0, err
	}
	_, err = s.samples.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	refused, err := mongoRefusedDuplicates(err)
	if err != nil {
		return 0, 0, wrapMongo("add samples", err)
	}
	return len(docs) - refused, duplicates + refused, nil
}

// mongoRefusedDuplicates returns how many documents of an unordered insert
// were refused as duplicates, or err when the insert failed otherwise.
func mongoRefusedDuplicates(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return 0, err
	}
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(we) {
			return 0, err
		}
	}
	return len(bwe.WriteErrors), nil
}

// LatestSamples returns each metric's most recent sample of a user (by
// time, then source), one index look-up per metric the user has.
func (s *mongoStore) LatestSamples(ctx context.Context, userID string) ([]Sample, error) {
	metrics, err := s.metrics(ctx, userID)
	if err != nil {
		return nil, wrapMongo("latest samples", err)
	}
	out := make([]Sample, 0, len(metrics))
	for _, m := range metrics {
		var d mongoSample
		err := s.samples.FindOne(ctx, bson.D{{Key: "user_id", Value: userID}, {Key: "metric", Value: m}},
			options.FindOne().SetSort(bson.D{{Key: "at_us", Value: -1}, {Key: "source", Value: -1}})).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // erased meanwhile
		}
		if err != nil {
			return nil, wrapMongo("latest samples", err)
		}
		out = append(out, *d.toSample())
	}
	return out, nil
}

// metrics returns the metrics a user has samples of, sorted. It is the
// distinct command written as an aggregation because FerretDB v1 refuses
// distinct with maxTimeMS, which the driver sends when the client has a
// time-out. On MongoDB the $sort on the index's prefix lets $group walk it
// as a distinct scan.
func (s *mongoStore) metrics(ctx context.Context, userID string) ([]string, error) {
	cur, err := s.samples.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "user_id", Value: userID}}}},
		{{Key: "$sort", Value: bson.D{{Key: "user_id", Value: 1}, {Key: "metric", Value: 1}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$metric"}}}},
	})
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Metric string `bson:"_id"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Metric
	}
	slices.Sort(out)
	return out, nil
}

// EachSample calls fn for each of a user's samples recorded in [from, to),
// ordered by metric, time and source (the order of index user_metric_at),
// one batch of documents in memory at a time.
func (s *mongoStore) EachSample(ctx context.Context, userID string, from, to time.Time, fn func(*Sample) error) error {
	filter := bson.D{{Key: "user_id", Value: userID}, {Key: "at_us", Value: bson.D{
		{Key: "$gte", Value: mongoMicros(from)}, {Key: "$lt", Value: mongoMicros(to)},
	}}}
	opts := options.Find().SetSort(bson.D{{Key: "metric", Value: 1}, {Key: "at_us", Value: 1}, {Key: "source", Value: 1}})
	cur, err := s.samples.Find(ctx, filter, opts)
	if err != nil {
		return wrapMongo("each sample", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d mongoSample
		if err := cur.Decode(&d); err != nil {
			return wrapMongo("each sample", err)
		}
		if err := fn(d.toSample()); err != nil {
			return err
		}
	}
	return wrapMongo("each sample", cur.Err())
}

// mongoFloorDiv is a/b rounded towards minus infinity (b > 0).
func mongoFloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// mongoCeilDiv is a/b rounded towards plus infinity (b > 0).
func mongoCeilDiv(a, b int64) int64 { return -mongoFloorDiv(-a, b) }
