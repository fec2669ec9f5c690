package activity

import (
	"cmp"
	"context"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func contractSortSamples(ss []Sample) []Sample {
	out := slices.Clone(ss)
	slices.SortFunc(out, func(a, b Sample) int {
		return cmp.Or(cmp.Compare(a.Metric, b.Metric), a.RecordedAt.Compare(b.RecordedAt),
			cmp.Compare(a.Source, b.Source))
	})
	return out
}

// contractRollup computes the slots of samples of one metric by brute force.
func contractRollup(samples []Sample, metric string) []Slot {
	bySlot := map[time.Time]*Slot{}
	for _, sm := range samples {
		if sm.Metric != metric {
			continue
		}
		start := sm.RecordedAt.Truncate(SlotSize)
		sl := bySlot[start]
		if sl == nil {
			bySlot[start] = &Slot{Start: start, Sum: sm.Value, Count: 1, Min: sm.Value, Max: sm.Value}
			continue
		}
		sl.Sum += sm.Value
		sl.Count++
		sl.Min, sl.Max = min(sl.Min, sm.Value), max(sl.Max, sm.Value)
	}
	out := make([]Slot, 0, len(bySlot))
	for _, sl := range bySlot {
		out = append(out, *sl)
	}
	slices.SortFunc(out, func(a, b Slot) int { return a.Start.Compare(b.Start) })
	return out
}

// contractCheckRollups checks that every metric's slots are the brute-force
// rollup of the samples the store holds: each stored sample counted once.
func contractCheckRollups(tb testing.TB, s Store, user string, metrics ...string) {
	tb.Helper()
	held := contractStored(tb, s, user)
	for _, m := range metrics {
		assert.Equal(tb, contractRollup(held, m), contractSlots(tb, s, user, m), "rollups of %s", m)
	}
	contractCheckHours(tb, s, user, held, metrics...)
}

func contractStoredDuplicates(t *testing.T, s Store) {
	u := contractUser(t, "dups")
	batch := []Sample{
		contractSample("heart_rate", 0, 61, "watch", ""),
		contractSample("heart_rate", time.Minute, 63, "watch", ""),
		contractSample("steps", 0, 120, "phone", "s-1"),
		contractSample("steps", time.Minute, 80, "", ""),
	}
	contractAdd(t, s, u, batch, 4, 0)
	contractAdd(t, s, u, batch, 0, 4)

	changed := slices.Clone(batch)
	changed[0].Value, changed[2].Value = 99, 999 // same keys, other values: still duplicates
	changed = append(changed, contractSample("heart_rate", 2*time.Minute, 65, "watch", ""))
	contractAdd(t, s, u, changed, 1, 4)

	held := contractStored(t, s, u)
	assert.Equal(t, contractSortSamples(append(slices.Clone(batch), changed[4])), held, "the first value stays")
	contractCheckRollups(t, s, u, "heart_rate", "steps")
	contractAdd(t, s, contractUser(t, "dups-other"), batch, 4, 0) // duplicates are per user
}

func contractBatchDuplicates(t *testing.T, s Store) {
	u := contractUser(t, "batch")
	batch := []Sample{
		contractSample("heart_rate", 0, 70, "watch", ""),
		contractSample("heart_rate", 0, 70, "watch", ""),    // same key
		contractSample("heart_rate", 0, 71, "watch", ""),    // same key, other value
		contractSample("heart_rate", 0, 70, "", ""),         // no source: another key
		contractSample("heart_rate", 0, 72, "", ""),         // same key as the previous one
		contractSample("steps", time.Second, 10, "", "x"),   // sample id x
		contractSample("steps", 2*time.Second, 11, "", "x"), // same sample id
		contractSample("steps", 3*time.Second, 12, "", ""),
	}
	contractAdd(t, s, u, batch, 4, 4)
	held := contractStored(t, s, u)
	require.Len(t, held, 4)
	assert.Equal(t, 70.0, held[0].Value, "the first of equal keys is kept")
	assert.Equal(t, 70.0, held[1].Value)
	contractCheckRollups(t, s, u, "heart_rate", "steps")
}

func contractSampleIDDuplicates(t *testing.T, s Store) {
	u, other := contractUser(t, "ids"), contractUser(t, "ids-other")
	contractAdd(t, s, u, []Sample{contractSample("steps", 0, 100, "phone", "abc")}, 1, 0)
	contractAdd(t, s, u, []Sample{
		contractSample("distance_km", time.Hour, 2.5, "watch", "abc"), // other metric, time and source
		contractSample("steps", 5*time.Minute, 100, "phone", "abd"),
	}, 1, 1)
	contractAdd(t, s, other, []Sample{contractSample("steps", 0, 100, "phone", "abc")}, 1, 0) // ids are per user
	held := contractStored(t, s, u)
	require.Len(t, held, 2)
	assert.Equal(t, []string{"abc", "abd"}, []string{held[0].SampleID, held[1].SampleID})
	assert.Empty(t, contractSlots(t, s, u, "distance_km"), "a skipped sample adds to no rollup")
	contractCheckRollups(t, s, u, "steps")
}

func contractSources(t *testing.T, s Store) {
	u := contractUser(t, "sources")
	contractAdd(t, s, u, []Sample{
		contractSample("heart_rate", 0, 60, "watch", ""),
		contractSample("heart_rate", 0, 64, "chest-strap", ""),
		contractSample("heart_rate", 0, 66, "", ""),
	}, 3, 0)
	contractAdd(t, s, u, []Sample{contractSample("heart_rate", 0, 68, "ring", "")}, 1, 0)
	contractAdd(t, s, u, []Sample{contractSample("heart_rate", 0, 1, "ring", "")}, 0, 1)
	assert.Equal(t, []Slot{{Start: ct0, Sum: 258, Count: 4, Min: 60, Max: 68}}, contractSlots(t, s, u, "heart_rate"))
}

func contractAllOrNothing(t *testing.T, s Store) {
	u := contractUser(t, "atomic")
	cancelled, cancel := context.WithCancel(sctx)
	cancel()
	batch := make([]Sample, 0, 3000)
	for i := range 3000 {
		batch = append(batch, contractSample("steps", time.Duration(i)*time.Second, float64(i%50), "phone", fmt.Sprint("id-", i)))
	}
	_, _, err := s.AddSamples(cancelled, u, batch)
	require.Error(t, err)
	assert.Empty(t, contractStored(t, s, u))
	assert.Empty(t, contractSlots(t, s, u, "steps"))
	contractCheckHours(t, s, u, nil, "steps")
	latest, err := s.LatestSamples(sctx, u)
	require.NoError(t, err)
	assert.Empty(t, latest)

	contractAdd(t, s, u, batch, 3000, 0) // and nothing half-stored makes these duplicates
}

// contractRandomSamples returns n distinct samples (distinct keys and sample ids)
// over six hours. Values are multiples of 0.5, so sums are exact in any order.
func contractRandomSamples(rng *mrand.Rand, n int) []Sample {
	metrics := []string{"heart_rate", "steps", "weight_kg"}
	sources := []string{"", "watch", "phone"}
	seen := map[string]bool{}
	out := make([]Sample, 0, n)
	for len(out) < n {
		sm := Sample{
			Metric:     metrics[rng.IntN(len(metrics))],
			RecordedAt: ct0.Add(time.Duration(rng.Int64N(int64(6*time.Hour/time.Microsecond))) * time.Microsecond),
			Source:     sources[rng.IntN(len(sources))],
			Value:      float64(rng.IntN(500)) / 2,
		}
		if rng.IntN(2) == 0 {
			sm.SampleID = fmt.Sprintf("sid-%d", len(out))
		}
		if rng.IntN(10) == 0 { // right on a slot boundary
			sm.RecordedAt = sm.RecordedAt.Truncate(SlotSize)
		}
		key := fmt.Sprint(sm.Metric, sm.RecordedAt.UnixMicro(), sm.Source)
		if !seen[key] {
			seen[key] = true
			out = append(out, sm)
		}
	}
	return out
}

func contractRollupsExact(t *testing.T, s Store) {
	u := contractUser(t, "rollups")
	rng := mrand.New(mrand.NewPCG(1, 2))
	pool := contractRandomSamples(rng, 1500)
	sent, accepted, duplicates := 0, 0, 0
	for b := range 5 {
		batch := slices.Clone(pool[b*300 : (b+1)*300])
		// Repeats of this batch's samples and of earlier batches'.
		for range 40 {
			batch = append(batch, pool[rng.IntN((b+1)*300)])
		}
		rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		a, d, err := s.AddSamples(sctx, u, batch)
		require.NoError(t, err)
		sent, accepted, duplicates = sent+len(batch), accepted+a, duplicates+d
	}
	assert.Equal(t, len(pool), accepted)
	assert.Equal(t, sent-len(pool), duplicates)
	assert.Equal(t, contractSortSamples(pool), contractStored(t, s, u))
	for _, m := range []string{"heart_rate", "steps", "weight_kg"} {
		assert.Equal(t, contractRollup(pool, m), contractSlots(t, s, u, m), "rollups of %s", m)
	}
	contractCheckHours(t, s, u, pool, "heart_rate", "steps", "weight_kg")
}

func contractRollupsConcurrent(t *testing.T, s Store) {
	u := contractUser(t, "concurrent")
	rng := mrand.New(mrand.NewPCG(3, 4))
	pool := contractRandomSamples(rng, 1000)
	const callers = 8
	var wg sync.WaitGroup
	accepted := make([]int, callers)
	errs := make([]error, callers)
	for g := range callers {
		// Batch g overlaps batch g-1 by half, in another order.
		batch := slices.Clone(pool[g*100 : min(g*100+250, len(pool))])
		if g%2 == 1 {
			slices.Reverse(batch)
		}
		wg.Go(func() { accepted[g], _, errs[g] = s.AddSamples(sctx, u, batch) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	covered := pool[:min((callers-1)*100+250, len(pool))]
	var total int
	for _, a := range accepted {
		total += a
	}
	assert.Equal(t, len(covered), total)
	for _, m := range []string{"heart_rate", "steps", "weight_kg"} {
		assert.Equal(t, contractRollup(covered, m), contractSlots(t, s, u, m), "rollups of %s", m)
	}
	contractCheckHours(t, s, u, covered, "heart_rate", "steps", "weight_kg")
}

func contractSlotBoundaries(t *testing.T, s Store) {
	u := contractUser(t, "bounds")
	us := time.Microsecond
	q := 15 * time.Minute
	contractAdd(t, s, u, []Sample{
		contractSample("steps", q-us, 1, "", ""),    // last instant of the 09:00 slot
		contractSample("steps", q, 2, "", ""),       // exactly 09:15: the 09:15 slot
		contractSample("steps", q+us, 4, "", ""),    // inside it
		contractSample("steps", 2*q-us, 8, "", ""),  // its last instant
		contractSample("steps", 2*q, 16, "", ""),    // 09:30
		contractSample("steps", 5*q+us, 32, "", ""), // 10:15, after a gap
		contractSample("heart_rate", q, 99, "", ""), // another metric
		contractSample("steps", -us, 64, "", ""),    // 08:45 slot
	}, 8, 0)
	at := func(n int) time.Time { return ct0.Add(time.Duration(n) * q) }
	all := []Slot{
		{Start: at(-1), Sum: 64, Count: 1, Min: 64, Max: 64},
		{Start: at(0), Sum: 1, Count: 1, Min: 1, Max: 1},
		{Start: at(1), Sum: 14, Count: 3, Min: 2, Max: 8},
		{Start: at(2), Sum: 16, Count: 1, Min: 16, Max: 16},
		{Start: at(5), Sum: 32, Count: 1, Min: 32, Max: 32},
	}
	assert.Equal(t, all, contractSlots(t, s, u, "steps"))
	for _, c := range []struct {
		name   string
		starts []time.Time
		want   []Slot
	}{
		{"quarter_hours", []time.Time{at(0), at(1), at(2), at(3)}, all[1:4]},
		{"from_inclusive_to_exclusive", []time.Time{at(0), at(2)}, []Slot{contractFold(at(0), all[1:3]...)}},
		{"a_bound_inside_a_slot_leaves_the_slot_where_it_starts", []time.Time{at(1).Add(us), at(3)},
			[]Slot{contractFold(at(1).Add(us), all[3])}},
		{"to_mid_slot_includes_the_slot_starting_before_it", []time.Time{at(5), at(5).Add(us)},
			[]Slot{contractFold(at(5), all[4])}},
		{"empty_range", []time.Time{at(3), at(5)}, []Slot{{Start: at(3)}}},
		{"whole_hours", []time.Time{at(-4), at(0), at(4), at(8)},
			[]Slot{contractFold(at(-4), all[0]), contractFold(at(0), all[1:4]...), contractFold(at(4), all[4])}},
		{"hours_of_unequal_length", []time.Time{at(-8), at(4), at(12)},
			[]Slot{contractFold(at(-8), all[:4]...), contractFold(at(4), all[4])}},
	} {
		assert.Equal(t, c.want, contractBuckets(t, s, u, "steps", c.starts), c.name)
	}
	got := contractBuckets(t, s, u, "heart_rate", []time.Time{at(0), at(4)})
	assert.Equal(t, []Slot{{Start: at(0), Sum: 99, Count: 1, Min: 99, Max: 99}}, got)
	got = contractBuckets(t, s, contractUser(t, "bounds-none"), "steps", []time.Time{at(-4), at(8)})
	assert.Equal(t, []Slot{{Start: at(-4)}}, got)
}

// contractFold is the aggregate of slots as a bucket starting at start.
func contractFold(start time.Time, slots ...Slot) Slot {
	out := Slot{Start: start}
	for i, sl := range slots {
		if i == 0 {
			out.Min, out.Max = sl.Min, sl.Max
		}
		out.Sum += sl.Sum
		out.Count += sl.Count
		out.Min, out.Max = min(out.Min, sl.Min), max(out.Max, sl.Max)
	}
	return out
}

func contractLatest(t *testing.T, s Store) {
	u, other := contractUser(t, "latest"), contractUser(t, "latest-other")
	latest, err := s.LatestSamples(sctx, u)
	require.NoError(t, err)
	assert.Empty(t, latest)

	contractAdd(t, s, u, []Sample{
		contractSample("heart_rate", 0, 60, "watch", ""),
		contractSample("heart_rate", 3*time.Hour+7*time.Microsecond, 72, "watch", "hr-3"),
		contractSample("heart_rate", time.Hour, 65, "watch", ""),
		contractSample("steps", 2*time.Hour, 500, "phone", ""),
		contractSample("steps", time.Hour, 700, "phone", ""),
		contractSample("weight_kg", -48*time.Hour, 71.3, "", "w-1"),
	}, 6, 0)
	contractAdd(t, s, other, []Sample{contractSample("heart_rate", 10*time.Hour, 99, "", "")}, 1, 0)
	contractAdd(t, s, u, []Sample{contractSample("steps", 90*time.Minute, 1, "phone", "")}, 1, 0) // older than the latest

	latest, err = s.LatestSamples(sctx, u)
	require.NoError(t, err)
	assert.ElementsMatch(t, []Sample{
		contractSample("heart_rate", 3*time.Hour+7*time.Microsecond, 72, "watch", "hr-3"),
		contractSample("steps", 2*time.Hour, 500, "phone", ""),
		contractSample("weight_kg", -48*time.Hour, 71.3, "", "w-1"),
	}, latest)
	for _, sm := range latest {
		assert.Equal(t, time.UTC, sm.RecordedAt.Location())
	}
}

func contractEachSample(t *testing.T, s Store) {
	u, other := contractUser(t, "export"), contractUser(t, "export-other")
	batch := []Sample{
		contractSample("steps", 2*time.Hour, 3, "phone", ""),
		contractSample("heart_rate", time.Hour, 61, "watch", "h1"),
		contractSample("steps", -time.Microsecond, 1, "phone", ""), // before the range
		contractSample("weight_kg", 0, 70.5, "", ""),               // on its start: inside
		contractSample("steps", time.Hour+time.Microsecond, 2, "phone", ""),
		contractSample("heart_rate", 30*time.Minute, 60, "watch", ""),
		contractSample("heart_rate", 30*time.Minute, 59, "chest", ""), // same time, another source
		contractSample("heart_rate", 4*time.Hour, 62, "watch", ""),    // on the range's end: outside
		contractSample("active_minutes", 3*time.Hour, 5, "", ""),
	}
	contractAdd(t, s, u, batch, len(batch), 0)
	contractAdd(t, s, other, batch[:3], 3, 0)

	from, to := ct0, ct0.Add(4*time.Hour)
	var got []Sample
	require.NoError(t, s.EachSample(sctx, u, from, to, func(sm *Sample) error {
		got = append(got, *sm)
		return nil
	}))
	var want []Sample
	for _, sm := range batch {
		if !sm.RecordedAt.Before(from) && sm.RecordedAt.Before(to) {
			want = append(want, sm)
		}
	}
	assert.ElementsMatch(t, want, got)
	assert.True(t, slices.IsSortedFunc(got, func(a, b Sample) int {
		return cmp.Or(cmp.Compare(a.Metric, b.Metric), a.RecordedAt.Compare(b.RecordedAt))
	}), "ordered by metric then time: %v", got)

	calls := 0
	err := s.EachSample(sctx, u, from, to, func(*Sample) error { calls++; return errContractStop })
	assert.ErrorIs(t, err, errContractStop)
	assert.Equal(t, 1, calls, "an error from fn stops the walk")
}
