package activity

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// BenchmarkMongoAddSamples stores 1,000-sample batches from 8 callers at
// once, each a user of its own; "repeated" sends batches that are stored
// already (a client's retry), every sample a duplicate.
//
//	go test -tags libsqlite3 -run '^$' -bench MongoAddSamples ./modules/activity/
func BenchmarkMongoAddSamples(b *testing.B) {
	const callers, size = 8, 1000
	batch := func(i int) []Sample {
		out := make([]Sample, size)
		for j := range out {
			at := mongoT0.Add(time.Duration(i*size+j) * time.Second)
			out[j] = Sample{Metric: "heart_rate", Value: float64(60 + j%40), RecordedAt: at, Source: "watch"}
		}
		return out
	}
	run := func(b *testing.B, s Store, next func(n int) []Sample) {
		b.Helper()
		began := time.Now()
		for n := range b.N {
			var wg sync.WaitGroup
			errs := make([]error, callers)
			for g := range callers {
				wg.Go(func() { _, _, errs[g] = s.AddSamples(context.Background(), fmt.Sprint("u", g), next(n)) })
			}
			wg.Wait()
			for _, err := range errs {
				require.NoError(b, err)
			}
		}
		b.ReportMetric(float64(callers*size*b.N)/time.Since(began).Seconds(), "samples/s")
	}
	b.Run("new", func(b *testing.B) {
		s, _ := openMongoStore(b)
		b.ResetTimer()
		run(b, s, batch)
	})
	b.Run("repeated", func(b *testing.B) {
		s, _ := openMongoStore(b)
		stored := batch(0)
		for g := range callers {
			_, _, err := s.AddSamples(context.Background(), fmt.Sprint("u", g), stored)
			require.NoError(b, err)
		}
		b.ResetTimer()
		run(b, s, func(int) []Sample { return stored })
	})
}

// BenchmarkMongoSlots reads a month of one user's per-minute samples
// (43,200) as 15-minute slots: "uncached" recomputes every slot from the
// samples (the first read after the samples arrived), "cached" validates
// the cache, and "cached_one_new" has one new sample to fold in per read
// (a live dashboard's case).
//
//	go test -tags libsqlite3 -run '^$' -bench MongoSlots -benchtime 5x ./modules/activity/
func BenchmarkMongoSlots(b *testing.B) {
	ctx := context.Background()
	s, db := openMongoStore(b)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	var month []Sample
	for at := from; at.Before(to); at = at.Add(time.Minute) {
		month = append(month, Sample{Metric: "steps", Value: float64(at.Minute() % 17), RecordedAt: at})
	}
	for i := 0; i < len(month); i += 10_000 {
		_, _, err := s.AddSamples(ctx, "u1", month[i:min(i+10_000, len(month))])
		require.NoError(b, err)
	}
	slots := func(b *testing.B) {
		b.Helper()
		got, err := s.slots(ctx, "u1", "steps", from, to)
		require.NoError(b, err)
		require.Len(b, got, 31*96)
	}

	b.Run("uncached", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			_, err := db.Collection(mongoDailyName).DeleteMany(ctx, bson.D{})
			require.NoError(b, err)
			b.StartTimer()
			slots(b)
		}
	})
	b.Run("cached", func(b *testing.B) {
		slots(b)
		b.ResetTimer()
		for range b.N {
			slots(b)
		}
	})
	b.Run("cached_one_new", func(b *testing.B) {
		slots(b)
		b.ResetTimer()
		for n := range b.N {
			b.StopTimer()
			_, _, err := s.AddSamples(ctx, "u1", []Sample{{Metric: "steps", Value: 1, RecordedAt: to.Add(-time.Minute), Source: fmt.Sprint(n)}})
			require.NoError(b, err)
			b.StartTimer()
			slots(b)
		}
	})
}
