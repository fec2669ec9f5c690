package activity

// Rollups on MongoDB: activity_metrics_daily holds, per user, metric and UTC
// day, the aggregates (count, sum, min, max) of the day's 96 fifteen-minute
// slots. They are a cache that Buckets validates, not counters that writers
// increment.
//
// Why not counters. Incrementing a day document after inserting samples is
// two writes, and without transactions a crash between them loses the
// increment. Making the increment idempotent per batch and repairing
// missed ones needs conditional updates ("apply batch B unless applied"),
// and FerretDB v1 does not apply those atomically: racing callers both
// apply, or lose each other's $inc (measured; see store_mongo.go). Samples,
// on the other hand, are only ever inserted, and insertion with unique keys
// is exact on both servers.
//
// So writers write samples only, and an entry of the cache is correct when
// it can be proved so. Each entry is computed by one read of its slot's
// samples and stores how many it aggregated. The set it aggregated was
// stored then, so it is a subset of the samples stored now (samples are
// never changed or deleted, EraseUser aside); a subset of equal size is the
// whole set. Hence: an entry whose count equals the slot's current count is
// exact. Reading slots (for Buckets) therefore
//
//  1. reads the cached day documents of the range,
//  2. then counts the stored samples of each slot in the range (one
//     aggregation, covered by index user_metric_at on MongoDB),
//  3. takes each cached entry whose count matches, recomputes the others
//     from the samples of those slots, and
//  4. writes the day documents it recomputed back, whole (replaceOne).
//
// Order matters: the count is taken after the cache is read, so whatever
// set a cached entry aggregated had been stored before the count began.
// Concurrent writers of the cache may overwrite each other (FerretDB's lost
// updates included): every entry any of them writes is a correct aggregate
// of some stored set of samples, so the check above holds for it; a lost
// write costs a recomputation, never a wrong answer. A crash anywhere —
// between a sample insert and anything else, or in the middle of the
// write-back — leaves entries that either still match or are recomputed.
// Nothing needs repairing at start-up.
//
// Cost: reading slots reads every slot's count (index keys only on MongoDB)
// plus one small document per day, and recomputes only slots that received
// samples since they were cached — typically the current one. On FerretDB
// v1's SQLite backend every query other than by _id scans its collection,
// so there it costs a scan of activity_samples however it is written.
//
// Sums are added in time order; with values that are not exact binary
// fractions a recomputed sum may differ from another order in the last bit.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// mongoSlotsPerDay is the number of slots in a UTC day.
const mongoSlotsPerDay = int64(24 * time.Hour / SlotSize)

// mongoDay is a document of activity_metrics_daily.
type mongoDay struct {
	ID     string `bson:"_id"` // user|metric|2006-01-02 (UTC)
	UserID string `bson:"user_id"`
	Metric string `bson:"metric"`
	Day    int64  `bson:"day"` // days since 1970-01-01
	// Slots maps a slot's UTC start, "15:04", to its aggregates. Keys are not
	// bare numbers, which MongoDB's update paths would read as array indexes.
	Slots map[string]mongoSlot `bson:"slots"`
}

// mongoSlot is one cached slot: the aggregates of Count samples.
type mongoSlot struct {
	Count int64   `bson:"count"`
	Sum   float64 `bson:"sum"`
	Min   float64 `bson:"min"`
	Max   float64 `bson:"max"`
}

func (a *mongoSlot) add(v float64) {
	if a.Count == 0 {
		a.Min, a.Max = v, v
	}
	a.Count++
	a.Sum += v
	a.Min, a.Max = min(a.Min, v), max(a.Max, v)
}

// mongoSlotKey is the key of slot (a slot number since 1970) in its day's
// document.
func mongoSlotKey(slot int64) string {
	return mongoTime(slot * mongoSlotUS).Format("15:04")
}

func mongoDayID(userID, metric string, day int64) string {
	return userID + "|" + metric + "|" + mongoTime(day*mongoSlotsPerDay*mongoSlotUS).Format(time.DateOnly)
}

// Buckets folds the 15-minute rollups of the buckets' whole range into them.
func (s *mongoStore) Buckets(ctx context.Context, userID, metric string, starts []time.Time) ([]Slot, error) {
	if len(starts) < 2 {
		return nil, nil
	}
	slots, err := s.slots(ctx, userID, metric, starts[0], starts[len(starts)-1])
	if err != nil {
		return nil, err
	}
	return foldSlots(slots, starts), nil
}

// slots returns the 15-minute rollups of a user's metric whose start is in
// [from, to), ascending; see the top of this file.
func (s *mongoStore) slots(ctx context.Context, userID, metric string, from, to time.Time) ([]Slot, error) {
	first := mongoCeilDiv(mongoMicros(from), mongoSlotUS)
	last := mongoCeilDiv(mongoMicros(to), mongoSlotUS) - 1
	if first > last {
		return nil, nil
	}
	days, err := s.cachedDays(ctx, userID, metric, first, last)
	if err != nil {
		return nil, err
	}
	counts, err := s.slotCounts(ctx, userID, metric, first, last)
	if err != nil {
		return nil, err
	}
	slots := make(map[int64]mongoSlot, len(counts))
	var stale []int64
	for slot, n := range counts {
		if day := days[mongoFloorDiv(slot, mongoSlotsPerDay)]; day != nil {
			if cached, ok := day.Slots[mongoSlotKey(slot)]; ok && cached.Count == n {
				slots[slot] = cached
				continue
			}
		}
		stale = append(stale, slot)
	}
	if len(stale) > 0 {
		fresh, err := s.aggregateSlots(ctx, userID, metric, stale)
		if err != nil {
			return nil, err
		}
		maps.Copy(slots, fresh)
		if err := s.cacheSlots(ctx, userID, metric, days, fresh, counts, first, last); err != nil {
			return nil, err
		}
	}
	out := make([]Slot, 0, len(slots))
	for _, slot := range slices.Sorted(maps.Keys(slots)) {
		a := slots[slot]
		out = append(out, Slot{Start: mongoTime(slot * mongoSlotUS), Sum: a.Sum, Count: a.Count, Min: a.Min, Max: a.Max})
	}
	return out, nil
}

// cachedDays returns the cached day documents covering slots first..last,
// by day number (a missing day is a nil document, whose Slots is empty).
func (s *mongoStore) cachedDays(ctx context.Context, userID, metric string, first, last int64) (map[int64]*mongoDay, error) {
	cur, err := s.daily.Find(ctx, bson.D{
		{Key: "user_id", Value: userID}, {Key: "metric", Value: metric},
		{Key: "day", Value: bson.D{
			{Key: "$gte", Value: mongoFloorDiv(first, mongoSlotsPerDay)},
			{Key: "$lte", Value: mongoFloorDiv(last, mongoSlotsPerDay)},
		}},
	})
	if err != nil {
		return nil, wrapMongo("slots: read rollups", err)
	}
	var docs []*mongoDay
	if err := cur.All(ctx, &docs); err != nil {
		return nil, wrapMongo("slots: read rollups", err)
	}
	days := make(map[int64]*mongoDay, len(docs))
	for _, d := range docs {
		days[d.Day] = d
	}
	return days, nil
}

// slotCounts returns how many samples each slot of first..last holds now;
// slots without samples are absent. $group computes one accumulator only,
// which is all FerretDB v1 gets right.
func (s *mongoStore) slotCounts(ctx context.Context, userID, metric string, first, last int64) (map[int64]int64, error) {
	cur, err := s.samples.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.D{
			{Key: "user_id", Value: userID}, {Key: "metric", Value: metric},
			{Key: "at_us", Value: bson.D{{Key: "$gte", Value: first * mongoSlotUS}, {Key: "$lt", Value: (last + 1) * mongoSlotUS}}},
		}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$slot"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	})
	if err != nil {
		return nil, wrapMongo("slots: count samples", err)
	}
	var rows []struct {
		Slot  int64 `bson:"_id"`
		Count int64 `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, wrapMongo("slots: count samples", err)
	}
	counts := make(map[int64]int64, len(rows))
	for _, r := range rows {
		counts[r.Slot] = r.Count
	}
	return counts, nil
}

// mongoMaxIn bounds the slot numbers aggregateSlots sends in one $in.
const mongoMaxIn = 1000

// aggregateSlots computes the aggregates of the given slots from their
// samples, in one pass over the time range they span: only the given slots'
// samples when they are few, else the whole range, skipping the others.
func (s *mongoStore) aggregateSlots(ctx context.Context, userID, metric string, slots []int64) (map[int64]mongoSlot, error) {
	lo, hi := slices.Min(slots), slices.Max(slots)
	filter := bson.D{
		{Key: "user_id", Value: userID}, {Key: "metric", Value: metric},
		{Key: "at_us", Value: bson.D{{Key: "$gte", Value: lo * mongoSlotUS}, {Key: "$lt", Value: (hi + 1) * mongoSlotUS}}},
	}
	if hi-lo+1 > int64(len(slots)) && len(slots) <= mongoMaxIn {
		filter = append(filter, bson.E{Key: "slot", Value: bson.D{{Key: "$in", Value: slots}}})
	}
	wanted := make(map[int64]bool, len(slots))
	for _, slot := range slots {
		wanted[slot] = true
	}
	cur, err := s.samples.Find(ctx, filter, options.Find().
		SetProjection(bson.D{{Key: "_id", Value: 0}, {Key: "slot", Value: 1}, {Key: "value", Value: 1}}).
		SetSort(bson.D{{Key: "at_us", Value: 1}}))
	if err != nil {
		return nil, wrapMongo("slots: read samples", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	out := make(map[int64]mongoSlot, len(slots))
	for cur.Next(ctx) {
		var d struct {
			Slot  int64   `bson:"slot"`
			Value float64 `bson:"value"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, wrapMongo("slots: read samples", err)
		}
		if !wanted[d.Slot] {
			continue
		}
		a := out[d.Slot]
		a.add(d.Value)
		out[d.Slot] = a
	}
	return out, wrapMongo("slots: read samples", cur.Err())
}

// cacheSlots writes back the day documents that fresh changes: their cached
// entries with fresh ones put in, and entries in first..last that no longer
// have samples (an erased user's) dropped. Racing writers may overwrite
// each other; see the top of this file.
func (s *mongoStore) cacheSlots(ctx context.Context, userID, metric string, days map[int64]*mongoDay,
	fresh map[int64]mongoSlot, counts map[int64]int64, first, last int64) error {
	changed := map[int64]*mongoDay{}
	for slot, a := range fresh {
		dayNo := mongoFloorDiv(slot, mongoSlotsPerDay)
		d := changed[dayNo]
		if d == nil {
			d = &mongoDay{ID: mongoDayID(userID, metric, dayNo), UserID: userID, Metric: metric, Day: dayNo,
				Slots: map[string]mongoSlot{}}
			if old := days[dayNo]; old != nil {
				maps.Copy(d.Slots, old.Slots)
			}
			for n := max(first, dayNo*mongoSlotsPerDay); n <= min(last, (dayNo+1)*mongoSlotsPerDay-1); n++ {
				if counts[n] == 0 {
					delete(d.Slots, mongoSlotKey(n))
				}
			}
			changed[dayNo] = d
		}
		d.Slots[mongoSlotKey(slot)] = a
	}
	writes := make([]mongo.WriteModel, 0, len(changed))
	for _, d := range changed {
		writes = append(writes, mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "_id", Value: d.ID}}).
			SetReplacement(d).SetUpsert(true))
	}
	_, err := s.daily.BulkWrite(ctx, writes, options.BulkWrite().SetOrdered(false))
	// A racing upsert may create a document first (the server does not
	// retry on FerretDB): its content is as good as ours.
	if _, err := mongoRefusedDuplicates(err); err != nil {
		return fmt.Errorf("activity: slots: write rollups: %w", err)
	}
	return nil
}
