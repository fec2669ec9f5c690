package activity

import (
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contractExpectBuckets computes Buckets' answer from samples by brute
// force: each sample counts in the bucket its slot starts in.
func contractExpectBuckets(samples []Sample, metric string, starts []time.Time) []Slot {
	if len(starts) < 2 {
		return []Slot{}
	}
	out := make([]Slot, len(starts)-1)
	for i := range out {
		out[i].Start = starts[i]
	}
	for _, sm := range contractSortSamples(samples) {
		slot := sm.RecordedAt.Truncate(SlotSize)
		i := sort.Search(len(starts), func(i int) bool { return starts[i].After(slot) }) - 1
		if sm.Metric != metric || i < 0 || i >= len(out) {
			continue
		}
		b := &out[i]
		if b.Count == 0 {
			b.Min, b.Max = sm.Value, sm.Value
		}
		b.Sum += sm.Value
		b.Count++
		b.Min, b.Max = min(b.Min, sm.Value), max(b.Max, sm.Value)
	}
	return out
}

// contractCheckHours checks a metric's hourly buckets over contractSpan
// against the samples: on SQL they come from the hourly rollups.
func contractCheckHours(tb testing.TB, s Store, user string, samples []Sample, metrics ...string) {
	tb.Helper()
	hours := contractSteps(contractSpan[0], contractSpan[1], time.Hour)
	for _, m := range metrics {
		assert.Equal(tb, contractExpectBuckets(samples, m, hours), contractBuckets(tb, s, user, m, hours),
			"hourly buckets of %s", m)
	}
}

// contractSamplesOver returns n distinct samples of heart rate and steps in
// [from, from+span), an eighth of them on a whole hour and an eighth on a
// quarter hour. Values are multiples of 0.5, so sums are exact in any order.
func contractSamplesOver(rng *mrand.Rand, n int, from time.Time, span time.Duration) []Sample {
	metrics := []string{"heart_rate", "steps"}
	sources := []string{"", "watch", "phone"}
	seen := map[string]bool{}
	out := make([]Sample, 0, n)
	for len(out) < n {
		at := from.Add(time.Duration(rng.Int64N(int64(span/time.Microsecond))) * time.Microsecond)
		switch rng.IntN(8) {
		case 0:
			at = at.Truncate(time.Hour)
		case 1:
			at = at.Truncate(SlotSize)
		}
		sm := Sample{Metric: metrics[rng.IntN(len(metrics))], RecordedAt: at,
			Source: sources[rng.IntN(len(sources))], Value: float64(rng.IntN(400)) / 2}
		key := fmt.Sprint(sm.Metric, sm.RecordedAt.UnixMicro(), sm.Source)
		if !seen[key] {
			seen[key] = true
			out = append(out, sm)
		}
	}
	return out
}

// contractStartsIn returns count+1 bucket starts in loc from the local
// midnight of from's day there: every step-th hour, or every day when
// step is 0.
func contractStartsIn(tb testing.TB, zone string, from time.Time, count int, step time.Duration) []time.Time {
	tb.Helper()
	loc, err := time.LoadLocation(zone)
	require.NoError(tb, err)
	l := from.In(loc)
	t := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	out := make([]time.Time, 0, count+1)
	for range count + 1 {
		out = append(out, t)
		if step == 0 {
			t = t.AddDate(0, 0, 1)
		} else {
			t = t.Add(step)
		}
	}
	return out
}

// contractBucketCase is a set of bucket starts.
type contractBucketCase struct {
	name   string
	starts []time.Time
}

// contractBucketCases are the bucket starts that series and reports ask
// for, in zones of whole, half and three-quarter hours, over 60 hours from
// from, and a few odd ones.
func contractBucketCases(tb testing.TB, from time.Time) []contractBucketCase {
	return []contractBucketCase{
		{"utc_hours", contractSteps(from.Add(-time.Hour), from.Add(61*time.Hour), time.Hour)},
		{"new_york_days", contractStartsIn(tb, "America/New_York", from, 4, 0)},
		{"berlin_hours", contractStartsIn(tb, "Europe/Berlin", from, 72, time.Hour)},
		{"kolkata_days", contractStartsIn(tb, "Asia/Kolkata", from, 4, 0)},
		{"kolkata_hours", contractStartsIn(tb, "Asia/Kolkata", from, 72, time.Hour)},
		{"kathmandu_days", contractStartsIn(tb, "Asia/Kathmandu", from, 4, 0)},
		{"kathmandu_hours", contractStartsIn(tb, "Asia/Kathmandu", from, 72, time.Hour)},
		{"quarter_hours", contractSteps(from, from.Add(60*time.Hour), SlotSize)},
		{"bounds_off_the_quarter_hours", contractSteps(from.Add(7*time.Minute), from.Add(61*time.Hour), 50*time.Minute)},
		{"long_buckets_off_the_quarter_hours", contractSteps(from.Add(-7*time.Minute), from.Add(64*time.Hour), 307*time.Minute)},
		{"unequal_hours", []time.Time{from, from.Add(time.Hour), from.Add(9 * time.Hour), from.Add(10 * time.Hour),
			from.Add(35 * time.Hour), from.Add(60 * time.Hour)}},
		{"everything_at_once", []time.Time{from.Add(-time.Hour), from.Add(61 * time.Hour)}},
	}
}

// contractBucketPool stores 1,200 samples over 60 hours from the returned
// time, in batches that repeat some of them, and returns them.
func contractBucketPool(t *testing.T, s Store, u string) (time.Time, []Sample) {
	rng := mrand.New(mrand.NewPCG(5, 6))
	from := ct0.Add(-30 * time.Hour)
	pool := contractSamplesOver(rng, 1200, from, 60*time.Hour)
	for b := range 6 {
		batch := slices.Clone(pool[b*200 : (b+1)*200])
		for range 30 { // repeats of this batch's samples and of earlier ones'
			batch = append(batch, pool[rng.IntN((b+1)*200)])
		}
		rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		_, _, err := s.AddSamples(sctx, u, batch)
		require.NoError(t, err)
	}
	return from, pool
}

func contractBucketsExact(t *testing.T, s Store) {
	u := contractUser(t, "buckets")
	from, pool := contractBucketPool(t, s, u)
	for _, c := range contractBucketCases(t, from) {
		for _, m := range []string{"heart_rate", "steps"} {
			assert.Equal(t, contractExpectBuckets(pool, m, c.starts), contractBuckets(t, s, u, m, c.starts),
				"%s of %s", c.name, m)
		}
	}
}

func contractBucketsDuplicates(t *testing.T, s Store) {
	u := contractUser(t, "bucket-dups")
	batch := []Sample{
		contractSample("heart_rate", time.Minute, 60, "watch", ""),
		contractSample("heart_rate", 20*time.Minute, 70, "watch", "h-2"),
		contractSample("heart_rate", 50*time.Minute, 80, "", ""),
		contractSample("steps", time.Minute, 100, "", ""),
	}
	contractAdd(t, s, u, batch, 4, 0)
	contractAdd(t, s, u, batch, 0, 4)
	again := slices.Clone(batch)
	again[0].Value, again[2].Value = 1, 1 // same keys, other values
	again[1].RecordedAt = ct0.Add(40 * time.Minute)
	again = append(again, contractSample("heart_rate", 59*time.Minute, 90, "watch", ""))
	contractAdd(t, s, u, again, 1, 4)

	hour := contractBuckets(t, s, u, "heart_rate", []time.Time{ct0, ct0.Add(time.Hour)})
	assert.Equal(t, []Slot{{Start: ct0, Sum: 300, Count: 4, Min: 60, Max: 90}}, hour)
	halves := contractBuckets(t, s, u, "heart_rate",
		[]time.Time{ct0.Add(-30 * time.Minute), ct0.Add(30 * time.Minute), ct0.Add(90 * time.Minute)})
	assert.Equal(t, []Slot{
		{Start: ct0.Add(-30 * time.Minute), Sum: 130, Count: 2, Min: 60, Max: 70},
		{Start: ct0.Add(30 * time.Minute), Sum: 170, Count: 2, Min: 80, Max: 90},
	}, halves)
	contractCheckHours(t, s, u, contractStored(t, s, u), "heart_rate", "steps")
}

func contractBucketsEmpty(t *testing.T, s Store) {
	u := contractUser(t, "bucket-empty")
	contractAdd(t, s, u, []Sample{contractSample("steps", 0, 5, "", "")}, 1, 0)
	for _, starts := range [][]time.Time{nil, {ct0}} {
		got, err := s.Buckets(sctx, u, "steps", starts)
		require.NoError(t, err)
		assert.Empty(t, got, "fewer than two starts: no bucket")
	}
	for _, c := range []struct {
		name   string
		metric string
		starts []time.Time
	}{
		{"reversed_hours", "steps", []time.Time{ct0.Add(time.Hour), ct0}},
		{"reversed_quarters", "steps", []time.Time{ct0.Add(SlotSize), ct0}},
		{"an_equal_pair", "steps", []time.Time{ct0, ct0}},
		{"another_metric", "heart_rate", []time.Time{ct0, ct0.Add(time.Hour)}},
	} {
		assert.Equal(t, []Slot{{Start: c.starts[0]}}, contractBuckets(t, s, u, c.metric, c.starts), c.name)
	}
}
