package activity

// The metric change feed on MongoDB. Rollups here are a cache that readers
// compute and validate (store_mongo_slots.go), not rows that writers
// upsert, and a reader's write-back of a day document would wipe a stamp
// a writer put in it. So the stamps have a collection of their own:
// activity_metric_slot_changes holds one document per slot ever written —
// _id its feed id (metricChangeID), its user, metric and slot number, and
// changed_us, the stamp of its latest write. The feed reads the stamps in
// (changed_us, _id) order along index "changed", and computes each slot's
// totals from its samples as it answers.
//
// AddSamples stamps its batch's slots before it inserts the samples.
// Without transactions one write comes first, and a crash between them
// must not lose the change: stamps first, a crash leaves a stamp with no
// new samples (the feed answers the slot again with the same totals, or
// leaves it out when it holds none); samples first would leave samples no
// stamp announces. The price: a stamp precedes its samples by the time the
// insert takes, so the feed may answer the slot before they are in; the
// consumer's lag window, there for commit delays anyway, covers that. A
// batch whose samples all repeat stored ones stamps its slots all the same:
// it cannot tell before inserting.
//
// Racing writers of one stamp (an insert refused because the other's went
// first; FerretDB applies an update as read, modify, write back) end with
// one of their stamps, each taken before its writer's samples went in and
// within the moment the race lasted.

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// mongoSlotStamp is a document of activity_metric_slot_changes.
type mongoSlotStamp struct {
	ID        string `bson:"_id"` // metricChangeID(user_id, metric, slot start)
	UserID    string `bson:"user_id"`
	Metric    string `bson:"metric"`
	Slot      int64  `bson:"slot"` // number since 1970, as a sample's
	ChangedUS int64  `bson:"changed_us"`
}

// mongoSlotRef names one user's slot of a metric.
type mongoSlotRef struct {
	userID, metric string
	slot           int64
}

// mongoMaxBranches bounds the $or branches of one read of samples.
const mongoMaxBranches = 100

// stampSlots stamps a user's slots (slotKey.start is the slot number) with
// the time of the write: it inserts their stamps, then moves the ones
// already stored with one updateMany. Not one upsert per slot: an update
// command whose statements change stored documents hangs FerretDB v1 once
// more than 100 such statements are in flight, across commands too
// (measured), and one batch may touch hundreds of slots.
func (s *mongoStore) stampSlots(ctx context.Context, userID string, slots map[slotKey]struct{}) error {
	at := mongoMicros(changeStamp())
	docs := make([]any, 0, len(slots))
	for k := range slots {
		docs = append(docs, &mongoSlotStamp{ID: metricChangeID(userID, k.metric, k.start*mongoSlotUS), UserID: userID,
			Metric: k.metric, Slot: k.start, ChangedUS: at})
	}
	_, err := s.stamps.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	stored, err := mongoRefusedIndexes(err)
	if err != nil || len(stored) == 0 {
		return wrapMongo("add samples: stamp slots", err)
	}
	ids := make(bson.A, len(stored))
	for i, n := range stored {
		ids[i] = docs[n].(*mongoSlotStamp).ID
	}
	_, err = s.stamps.UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "changed_us", Value: at}}}})
	return wrapMongo("add samples: stamp slots", err)
}

// mongoRefusedIndexes returns the positions of the documents an unordered
// insert refused as duplicates, or err when it failed otherwise.
func mongoRefusedIndexes(err error) ([]int, error) {
	if _, err := mongoRefusedDuplicates(err); err != nil {
		return nil, err
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) {
		return nil, nil
	}
	out := make([]int, len(bwe.WriteErrors))
	for i, we := range bwe.WriteErrors {
		out[i] = we.Index
	}
	return out, nil
}

// mongoStampsOf selects a user's stamps: by user_id, and by the range of
// _id the user's ids share (user id and metricIDSep, then any bytes; "\x20"
// is the byte after the separator), which the _id index serves.
func mongoStampsOf(userID string) bson.D {
	return bson.D{
		{Key: "_id", Value: bson.D{{Key: "$gte", Value: userID + metricIDSep}, {Key: "$lt", Value: userID + "\x20"}}},
		{Key: "user_id", Value: userID},
	}
}

// MetricChanges reads the stamps after the cursor and answers their slots
// with the totals of the samples stored now. Stamps of slots without
// samples are skipped, and more are read in their place, so that a page
// shorter than limit still means the end of the feed.
func (s *mongoStore) MetricChanges(ctx context.Context, after ChangeCursor, limit int) ([]MetricSlotChange, error) {
	if _, err := checkMetricFeed(after, limit); err != nil {
		return nil, err
	}
	out := make([]MetricSlotChange, 0, min(limit, 256))
	for len(out) < limit {
		want := limit - len(out)
		cur, err := s.stamps.Find(ctx, mongoAfter("changed_us", after), mongoChangeOrder("changed_us", want))
		if err != nil {
			return nil, wrapMongo("metric changes", err)
		}
		var stamps []mongoSlotStamp
		if err := cur.All(ctx, &stamps); err != nil {
			return nil, wrapMongo("metric changes", err)
		}
		changes, err := s.stampedSlots(ctx, stamps)
		if err != nil {
			return nil, err
		}
		out = append(out, changes...)
		if len(stamps) < want {
			break
		}
		last := stamps[len(stamps)-1]
		after = ChangeCursor{At: mongoTime(last.ChangedUS), ID: last.ID}
	}
	return out, nil
}

// stampedSlots answers the stamped slots in the stamps' order, each with
// the totals of its samples, leaving out the slots that hold none (their
// insert failed after the stamp, or their user was erased). Sums are added
// in the order the server returns the samples.
func (s *mongoStore) stampedSlots(ctx context.Context, stamps []mongoSlotStamp) ([]MetricSlotChange, error) {
	totals := make(map[mongoSlotRef]*mongoSlot, len(stamps))
	for _, st := range stamps {
		totals[mongoSlotRef{st.UserID, st.Metric, st.Slot}] = &mongoSlot{}
	}
	branches := mongoSlotRanges(slices.Collect(maps.Keys(totals)))
	for len(branches) > 0 {
		n := min(len(branches), mongoMaxBranches)
		if err := s.sumSamples(ctx, bson.D{{Key: "$or", Value: branches[:n]}}, totals); err != nil {
			return nil, err
		}
		branches = branches[n:]
	}
	out := make([]MetricSlotChange, 0, len(stamps))
	for _, st := range stamps {
		a := totals[mongoSlotRef{st.UserID, st.Metric, st.Slot}]
		if a.Count == 0 {
			continue
		}
		out = append(out, MetricSlotChange{UserID: st.UserID, Metric: st.Metric, SlotStart: mongoTime(st.Slot * mongoSlotUS),
			Sum: a.Sum, Count: a.Count, Min: a.Min, Max: a.Max, ChangedAt: mongoTime(st.ChangedUS)})
	}
	return out, nil
}

// mongoSlotRanges turns slots into filters of their samples, one per run
// of consecutive slots of a user's metric: a range of index
// user_metric_at each.
func mongoSlotRanges(refs []mongoSlotRef) bson.A {
	slices.SortFunc(refs, func(a, b mongoSlotRef) int {
		return cmp.Or(strings.Compare(a.userID, b.userID), strings.Compare(a.metric, b.metric), cmp.Compare(a.slot, b.slot))
	})
	var out bson.A
	for i := 0; i < len(refs); {
		j := i + 1
		for j < len(refs) && refs[j].userID == refs[i].userID && refs[j].metric == refs[i].metric &&
			refs[j].slot == refs[j-1].slot+1 {
			j++
		}
		out = append(out, bson.D{
			{Key: "user_id", Value: refs[i].userID}, {Key: "metric", Value: refs[i].metric},
			{Key: "at_us", Value: bson.D{
				{Key: "$gte", Value: refs[i].slot * mongoSlotUS}, {Key: "$lt", Value: (refs[j-1].slot + 1) * mongoSlotUS},
			}},
		})
		i = j
	}
	return out
}

// sumSamples adds the samples filter selects to their slots' totals.
func (s *mongoStore) sumSamples(ctx context.Context, filter bson.D, totals map[mongoSlotRef]*mongoSlot) error {
	cur, err := s.samples.Find(ctx, filter, options.Find().SetProjection(bson.D{
		{Key: "_id", Value: 0}, {Key: "user_id", Value: 1}, {Key: "metric", Value: 1}, {Key: "slot", Value: 1},
		{Key: "value", Value: 1},
	}))
	if err != nil {
		return wrapMongo("metric changes: read samples", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d struct {
			UserID string  `bson:"user_id"`
			Metric string  `bson:"metric"`
			Slot   int64   `bson:"slot"`
			Value  float64 `bson:"value"`
		}
		if err := cur.Decode(&d); err != nil {
			return wrapMongo("metric changes: read samples", err)
		}
		if a := totals[mongoSlotRef{d.UserID, d.Metric, d.Slot}]; a != nil {
			a.add(d.Value)
		}
	}
	return wrapMongo("metric changes: read samples", cur.Err())
}
