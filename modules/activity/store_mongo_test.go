package activity

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/fitloop/fitloop/platform/config"
	fitmongo "github.com/fitloop/fitloop/platform/mongo"
	"github.com/fitloop/fitloop/platform/testkit"
)

// openMongoStore returns a store on a new database of the test kit's
// MongoDB-compatible server (FerretDB v1 unless FITLOOP_TEST_MONGO_URI
// names another), through the client the application builds.
func openMongoStore(tb testing.TB) (*mongoStore, *mongo.Database) {
	tb.Helper()
	uri, name := testkit.Mongo(tb)
	m, err := fitmongo.Open(config.Mongo{URI: uri, Database: name, Timeout: time.Minute})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = m.Close(context.Background()) })
	s, err := NewMongoStore(context.Background(), m.DB)
	require.NoError(tb, err)
	return s.(*mongoStore), m.DB
}

func TestMongoStore(t *testing.T) {
	t.Parallel()
	// A database per subtest: FerretDB scans a collection for every query
	// not by _id, so small collections keep the suite fast.
	runStoreContract(t, func(t *testing.T) Store {
		s, _ := openMongoStore(t)
		return s
	})
}

var mongoT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func mongoSampleAt(metric string, offset time.Duration, value float64, source, sampleID string) Sample {
	return Sample{Metric: metric, Value: value, RecordedAt: mongoT0.Add(offset), Source: source, SampleID: sampleID}
}

func mongoAdd(tb testing.TB, s Store, user string, samples []Sample, accepted, duplicates int) {
	tb.Helper()
	a, d, err := s.AddSamples(context.Background(), user, samples)
	require.NoError(tb, err)
	assert.Equal(tb, accepted, a, "accepted")
	assert.Equal(tb, duplicates, d, "duplicates")
}

// mongoRollup computes slots by brute force.
func mongoRollup(samples []Sample, metric string) []Slot {
	by := map[time.Time]*Slot{}
	for _, sm := range samples {
		if sm.Metric != metric {
			continue
		}
		start := sm.RecordedAt.Truncate(SlotSize)
		if sl := by[start]; sl != nil {
			sl.Sum, sl.Count = sl.Sum+sm.Value, sl.Count+1
			sl.Min, sl.Max = min(sl.Min, sm.Value), max(sl.Max, sm.Value)
		} else {
			by[start] = &Slot{Start: start, Sum: sm.Value, Count: 1, Min: sm.Value, Max: sm.Value}
		}
	}
	out := []Slot{}
	for _, sl := range by {
		out = append(out, *sl)
	}
	slices.SortFunc(out, func(a, b Slot) int { return a.Start.Compare(b.Start) })
	return out
}

func mongoSlots(tb testing.TB, s *mongoStore, user, metric string) []Slot {
	tb.Helper()
	got, err := s.slots(context.Background(), user, metric, mongoT0.Add(-72*time.Hour), mongoT0.Add(72*time.Hour))
	require.NoError(tb, err)
	if got == nil {
		got = []Slot{}
	}
	return got
}

// insertRaw stores samples the way AddSamples does but without going
// through it: a writer that stored samples and nothing else.
func insertRaw(tb testing.TB, db *mongo.Database, user string, samples []Sample) {
	tb.Helper()
	docs := make([]any, len(samples))
	for i := range samples {
		docs[i] = newMongoSample(user, &samples[i])
	}
	_, err := db.Collection(mongoSamplesName).InsertMany(context.Background(), docs)
	require.NoError(tb, err)
}

func TestMongoRollups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	day := func(h, m int) time.Duration { return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute }
	base := []Sample{
		mongoSampleAt("steps", day(0, 1), 10, "", ""),
		mongoSampleAt("steps", day(0, 14), 20, "", ""),
		mongoSampleAt("steps", day(0, 20), 5, "", ""),
		mongoSampleAt("steps", day(20, 0), 7, "", ""),  // the next UTC day
		mongoSampleAt("steps", -day(30, 0), 1, "", ""), // two days before
	}

	t.Run("recomputes_a_slot_whose_samples_changed_after_caching", func(t *testing.T) {
		t.Parallel()
		s, db := openMongoStore(t)
		mongoAdd(t, s, "u1", base, len(base), 0)
		require.Equal(t, mongoRollup(base, "steps"), mongoSlots(t, s, "u1", "steps"))

		// As a writer that stored samples and crashed before doing anything
		// more would: the cached days now hold too few.
		late := []Sample{mongoSampleAt("steps", day(0, 2), 100, "watch", ""), mongoSampleAt("steps", day(20, 14), 3, "", "")}
		insertRaw(t, db, "u1", late)
		all := append(slices.Clone(base), late...)
		assert.Equal(t, mongoRollup(all, "steps"), mongoSlots(t, s, "u1", "steps"))

		var d mongoDay
		require.NoError(t, db.Collection(mongoDailyName).FindOne(ctx, bson.D{{Key: "_id", Value: "u1|steps|2026-03-02"}}).Decode(&d))
		assert.Equal(t, mongoSlot{Count: 3, Sum: 130, Min: 10, Max: 100}, d.Slots["09:00"], "the rewritten cache")
		assert.Equal(t, mongoSlot{Count: 1, Sum: 5, Min: 5, Max: 5}, d.Slots["09:15"])
	})

	t.Run("rebuilds_a_day_whose_rollup_write_was_lost", func(t *testing.T) {
		t.Parallel()
		s, db := openMongoStore(t)
		mongoAdd(t, s, "u1", base, len(base), 0)
		require.Equal(t, mongoRollup(base, "steps"), mongoSlots(t, s, "u1", "steps"))
		_, err := db.Collection(mongoDailyName).DeleteOne(ctx, bson.D{{Key: "_id", Value: "u1|steps|2026-03-03"}})
		require.NoError(t, err)
		assert.Equal(t, mongoRollup(base, "steps"), mongoSlots(t, s, "u1", "steps"))
		n, err := db.Collection(mongoDailyName).CountDocuments(ctx, bson.D{{Key: "user_id", Value: "u1"}})
		require.NoError(t, err)
		assert.Equal(t, int64(3), n, "one document per day with samples")
	})

	t.Run("ignores_a_cached_slot_whose_samples_are_gone", func(t *testing.T) {
		t.Parallel()
		s, db := openMongoStore(t)
		mongoAdd(t, s, "u1", base, len(base), 0)
		require.NotEmpty(t, mongoSlots(t, s, "u1", "steps"))
		// Samples deleted behind the cache's back, as by an EraseUser racing
		// a Slots that then wrote its rollups.
		_, err := db.Collection(mongoSamplesName).DeleteMany(ctx, bson.D{{Key: "user_id", Value: "u1"}})
		require.NoError(t, err)
		assert.Empty(t, mongoSlots(t, s, "u1", "steps"))
	})

	t.Run("reads_cached_slots_without_reading_their_samples", func(t *testing.T) {
		t.Parallel()
		var cmds mongoCommands
		s, _ := openMongoStoreWith(t, cmds.monitor())
		mongoAdd(t, s, "u1", base, len(base), 0)
		require.Equal(t, mongoRollup(base, "steps"), mongoSlots(t, s, "u1", "steps"))
		assert.Len(t, cmds.on("find", mongoSamplesName), 1, "the first call reads the samples")

		require.Equal(t, mongoRollup(base, "steps"), mongoSlots(t, s, "u1", "steps"))
		assert.Len(t, cmds.on("find", mongoSamplesName), 1, "the second reads counts and the cache only")

		mongoAdd(t, s, "u1", []Sample{mongoSampleAt("steps", day(0, 16), 1, "", "")}, 1, 0)
		_, err := s.slots(ctx, "u1", "steps", mongoT0.Add(-72*time.Hour), mongoT0.Add(72*time.Hour))
		require.NoError(t, err)
		reads := cmds.on("find", mongoSamplesName)
		require.Len(t, reads, 2)
		var filter struct {
			AtUS struct {
				From int64 `bson:"$gte"`
				To   int64 `bson:"$lt"`
			} `bson:"at_us"`
		}
		require.NoError(t, reads[1].Lookup("filter").Unmarshal(&filter))
		assert.Equal(t, mongoMicros(mongoT0.Add(15*time.Minute)), filter.AtUS.From, "only the changed slot is read")
		assert.Equal(t, mongoMicros(mongoT0.Add(30*time.Minute)), filter.AtUS.To)
	})
}

func TestMongoSamples(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("keeps_sample_ids_apart_from_natural_keys", func(t *testing.T) {
		t.Parallel()
		s, _ := openMongoStore(t)
		a := mongoSampleAt("steps", 0, 1, "p", "")
		// A sample id spelled like another sample's natural key is no repeat of it.
		b := mongoSampleAt("steps", time.Minute, 2, "p", fmt.Sprintf("steps|%d|p", mongoMicros(mongoT0)))
		c := mongoSampleAt("steps", 2*time.Minute, 3, "a|b", "") // a separator in the source
		d := mongoSampleAt("steps", 2*time.Minute, 4, "a", "")
		mongoAdd(t, s, "u1", []Sample{a, b, c, d}, 4, 0)
		mongoAdd(t, s, "u1", []Sample{a, b, c, d}, 0, 4)
	})

	t.Run("counts_a_sample_repeating_two_stored_ones_once", func(t *testing.T) {
		t.Parallel()
		s, _ := openMongoStore(t)
		mongoAdd(t, s, "u1", []Sample{
			mongoSampleAt("steps", 0, 1, "", "x"),
			mongoSampleAt("steps", time.Minute, 1, "", "y"),
		}, 2, 0)
		// The key of one and the id of the other.
		mongoAdd(t, s, "u1", []Sample{mongoSampleAt("steps", 0, 1, "", "y")}, 0, 1)
	})

	t.Run("stores_the_rest_of_a_batch_around_duplicates", func(t *testing.T) {
		t.Parallel()
		s, _ := openMongoStore(t)
		var batch []Sample
		for i := range 250 {
			batch = append(batch, mongoSampleAt("heart_rate", time.Duration(i)*time.Second, 60, "w", ""))
		}
		mongoAdd(t, s, "u1", batch[100:150], 50, 0)
		mongoAdd(t, s, "u1", batch, 200, 50) // duplicates in the middle of the server's insert batches
		assert.Equal(t, []Slot{{Start: mongoT0, Sum: 250 * 60, Count: 250, Min: 60, Max: 60}}, mongoSlots(t, s, "u1", "heart_rate"))
	})

	t.Run("stores_nothing_for_an_empty_batch", func(t *testing.T) {
		t.Parallel()
		s, _ := openMongoStore(t)
		a, d, err := s.AddSamples(ctx, "u1", nil)
		require.NoError(t, err)
		assert.Zero(t, a+d)
	})
}

func TestMongoWorkouts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	active := func(user, id string) *Workout {
		return &Workout{ID: id, UserID: user, WorkoutType: "yoga", StartTime: mongoT0, Source: SourceLive,
			CreatedAt: mongoT0, UpdatedAt: mongoT0}
	}

	t.Run("refuses_reopening_a_workout_while_another_is_active", func(t *testing.T) {
		t.Parallel()
		s, _ := openMongoStore(t)
		ended := active("u1", "w1")
		end := mongoT0.Add(time.Hour)
		ended.EndTime = &end
		require.NoError(t, s.CreateWorkout(ctx, ended))
		require.NoError(t, s.CreateWorkout(ctx, active("u1", "w2")))

		reopened := *ended
		reopened.EndTime = nil
		var conflict *ActiveWorkoutError
		require.ErrorAs(t, s.UpdateWorkout(ctx, &reopened), &conflict)
		assert.Equal(t, "w2", conflict.SessionID)

		require.NoError(t, s.DeleteWorkout(ctx, "w2", mongoT0.Add(2*time.Hour)))
		require.NoError(t, s.UpdateWorkout(ctx, &reopened), "alone, it may be reopened")
		got, err := s.Workout(ctx, "w1")
		require.NoError(t, err)
		assert.True(t, got.Active())
		assert.ErrorAs(t, s.CreateWorkout(ctx, active("u1", "w3")), &conflict)
		assert.Equal(t, "w1", conflict.SessionID)
	})

	t.Run("refuses_an_existing_id", func(t *testing.T) {
		t.Parallel()
		s, _ := openMongoStore(t)
		require.NoError(t, s.CreateWorkout(ctx, active("u1", "w1")))
		require.NoError(t, s.DeleteWorkout(ctx, "w1", mongoT0.Add(2*time.Hour)))
		w := active("u1", "w1")
		end := mongoT0.Add(time.Hour)
		w.EndTime = &end
		require.NoError(t, s.CreateWorkout(ctx, w))
		err := s.CreateWorkout(ctx, active("u1", "w1"))
		require.Error(t, err)
		var conflict *ActiveWorkoutError
		assert.NotErrorAs(t, err, &conflict, "no workout is active")
	})
}

// openMongoStoreWith is openMongoStore on a client that reports its
// commands to monitor and leaves write concern at the driver's default:
// the store must set its own.
func openMongoStoreWith(tb testing.TB, monitor *event.CommandMonitor) (*mongoStore, *mongo.Database) {
	tb.Helper()
	uri, name := testkit.Mongo(tb)
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetMonitor(monitor))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	s, err := NewMongoStore(context.Background(), client.Database(name))
	require.NoError(tb, err)
	return s.(*mongoStore), client.Database(name)
}

// mongoCommands records the commands a client sends.
type mongoCommands struct {
	mu  sync.Mutex
	all []bson.Raw
}

func (c *mongoCommands) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.all = append(c.all, slices.Clone(e.Command))
	}}
}

// on returns the commands named name (the command's first key) on coll.
func (c *mongoCommands) on(name, coll string) []bson.Raw {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []bson.Raw
	for _, cmd := range c.all {
		if first, err := cmd.IndexErr(0); err == nil && first.Key() == name && first.Value().StringValue() == coll {
			out = append(out, cmd)
		}
	}
	return out
}

func TestMongoStoreConcerns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var cmds mongoCommands
	s, _ := openMongoStoreWith(t, cmds.monitor())

	w := &Workout{ID: "w1", UserID: "u1", WorkoutType: "yoga", StartTime: mongoT0, Source: SourceLive,
		CreatedAt: mongoT0, UpdatedAt: mongoT0}
	require.NoError(t, s.CreateWorkout(ctx, w))
	end := mongoT0.Add(time.Hour)
	w.EndTime, w.UpdatedAt = &end, end
	require.NoError(t, s.EndWorkout(ctx, w))
	w.Version++ // the end moved it on
	require.NoError(t, s.UpdateWorkout(ctx, w))
	mongoAdd(t, s, "u1", []Sample{mongoSampleAt("steps", 0, 1, "", "")}, 1, 0)
	require.Len(t, mongoSlots(t, s, "u1", "steps"), 1) // writes the rollup cache
	_, err := s.LatestSamples(ctx, "u1")
	require.NoError(t, err)
	require.NoError(t, s.DeleteWorkout(ctx, "w1", mongoT0.Add(2*time.Hour)))
	w2 := *w
	w2.ID = "w2"
	require.NoError(t, s.CreateWorkout(ctx, &w2))
	require.NoError(t, s.EraseUser(ctx, "u1", mongoT0.Add(2*time.Hour)))

	for _, c := range []struct{ cmd, coll string }{
		{"insert", mongoWorkoutsName}, {"update", mongoWorkoutsName}, {"delete", mongoWorkoutsName},
		{"insert", mongoSamplesName}, {"delete", mongoSamplesName},
		{"update", mongoDailyName}, {"delete", mongoDailyName},
		{"findAndModify", mongoWorkoutsName}, {"update", mongoTombsName}, {"delete", mongoTombsName},
	} {
		sent := cmds.on(c.cmd, c.coll)
		require.NotEmpty(t, sent, "%s %s", c.cmd, c.coll)
		for _, cmd := range sent {
			var wc struct {
				W any  `bson:"w"`
				J bool `bson:"j"`
			}
			require.NoError(t, cmd.Lookup("writeConcern").Unmarshal(&wc), "%s %s: %s", c.cmd, c.coll, cmd)
			assert.Equal(t, "majority", wc.W, "%s %s", c.cmd, c.coll)
			assert.True(t, wc.J, "%s %s", c.cmd, c.coll)
		}
	}
	for _, c := range []struct{ cmd, coll string }{
		{"find", mongoSamplesName}, {"aggregate", mongoSamplesName},
		{"find", mongoDailyName},
	} {
		sent := cmds.on(c.cmd, c.coll)
		require.NotEmpty(t, sent, "%s %s", c.cmd, c.coll)
		for _, cmd := range sent {
			assert.Equal(t, "majority", cmd.Lookup("readConcern", "level").StringValue(), "%s %s", c.cmd, c.coll)
		}
	}
}
