package activity

import (
	"cmp"
	"maps"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/apperr"
)

// The metric change feed's contract. Its stamps come from the store's
// clock (changeStamp), not from the test: each test reads from the real
// time before its first write and keeps the changes of its own users (on
// SQL the subtests share one database, and their writes interleave).

// metricFeed pages through the metric feed from after, limit() changes a
// call, until a page comes back short, and returns the changes of users.
// It checks every page: at most the limit, each change strictly after the
// one before (the first after the cursor) in ChangeCursor order — so the
// store's order and the ids' byte order agree.
func metricFeed(tb testing.TB, s Store, after ChangeCursor, limit func() int, users ...string) []MetricSlotChange {
	tb.Helper()
	var out []MetricSlotChange
	for range 100_000 {
		n := limit()
		page, err := s.MetricChanges(sctx, after, n)
		require.NoError(tb, err)
		require.LessOrEqual(tb, len(page), n)
		for _, c := range page {
			require.Positive(tb, compareChange(c.Cursor(), after), "%q comes after %q", c.Cursor(), after)
			after = c.Cursor()
			if slices.Contains(users, c.UserID) {
				out = append(out, c)
			}
		}
		if len(page) < n {
			return out
		}
	}
	require.FailNow(tb, "the metric feed never ends")
	return nil
}

// pages is a constant page size.
func pages(n int) func() int { return func() int { return n } }

// metricFeedNow is a cursor before every write the caller makes next.
func metricFeedNow() ChangeCursor { return ChangeCursor{At: utc(time.Now())} }

// slotChanges is the brute-force feed of samples of user: every slot with
// its totals, ChangedAt left zero, in (metric, slot) order.
func slotChanges(user string, samples []Sample) []MetricSlotChange {
	var out []MetricSlotChange
	metrics := map[string]bool{}
	for _, sm := range samples {
		metrics[sm.Metric] = true
	}
	for _, m := range slices.Sorted(maps.Keys(metrics)) {
		for _, sl := range contractRollup(samples, m) {
			out = append(out, MetricSlotChange{UserID: user, Metric: m, SlotStart: sl.Start, Sum: sl.Sum, Count: sl.Count,
				Min: sl.Min, Max: sl.Max})
		}
	}
	return out
}

// unstamped returns changes without their ChangedAt, in (user, metric,
// slot) order.
func unstamped(cs []MetricSlotChange) []MetricSlotChange {
	out := make([]MetricSlotChange, len(cs))
	for i, c := range cs {
		c.ChangedAt = time.Time{}
		out[i] = c
	}
	slices.SortFunc(out, func(a, b MetricSlotChange) int {
		return cmp.Or(strings.Compare(a.UserID, b.UserID), strings.Compare(a.Metric, b.Metric),
			a.SlotStart.Compare(b.SlotStart))
	})
	return out
}

// contractMetricChangesPages: users whose ids are prefixes of one another,
// several metrics, slots before 1970 and years apart, written in
// overlapping batches; paging with any page sizes gives every slot once,
// with its totals, in one order.
func contractMetricChangesPages(t *testing.T, s Store) {
	u := contractUser(t, "mfeed")
	users := []string{u, u + "-b", u + "0"}
	rng := mrand.New(mrand.NewPCG(7, 8))
	from := metricFeedNow()
	var want []MetricSlotChange
	for i, user := range users {
		pool := contractSamplesOver(rng, 60, ct0.Add(-36*time.Hour), 72*time.Hour)
		pool = append(pool,
			Sample{Metric: "steps", Value: 12, RecordedAt: time.Date(1969, 12, 31, 23, 50, 0, 0, time.UTC)},
			Sample{Metric: "steps", Value: 30, RecordedAt: time.Date(1970, 1, 1, 0, 5, 0, 0, time.UTC)},
			Sample{Metric: "weight_kg", Value: 81.5, RecordedAt: ct0.AddDate(-3, 0, i)})
		for b := 0; b < len(pool); b += 20 { // overlapping batches: slots written again
			_, _, err := s.AddSamples(sctx, user, pool[max(b-5, 0):min(b+20, len(pool))])
			require.NoError(t, err)
		}
		want = append(want, slotChanges(user, pool)...)
	}

	all := metricFeed(t, s, from, pages(MaxChanges), users...)
	require.Equal(t, unstamped(want), unstamped(all), "every slot once, with its totals")
	for _, c := range all {
		assert.False(t, c.ChangedAt.Before(from.At), "stamped when written: %v", c.ChangedAt)
		assert.Equal(t, time.UTC, c.ChangedAt.Location())
		assert.Equal(t, time.UTC, c.SlotStart.Location())
		assert.Zero(t, c.SlotStart.UnixMicro()%int64(SlotSize/time.Microsecond), "slots start on quarter hours")
	}
	// Random sizes cut through the runs of slots one write stamped alike.
	// (Few pages: on FerretDB each one scans the collections.)
	random := func() int { return 1 + rng.IntN(12) }
	for range 2 {
		assert.Equal(t, all, metricFeed(t, s, from, random, users...), "pages of random sizes")
	}
}

// contractMetricChangesMove: a sample added to a slot moves the slot to the
// end of the feed with its new totals; the slots of one write share its
// stamp and come in id order.
func contractMetricChangesMove(t *testing.T, s Store) {
	u := contractUser(t, "mfeed-move")
	from := metricFeedNow()
	contractAdd(t, s, u, []Sample{
		contractSample("steps", 0, 100, "phone", ""),
		contractSample("steps", 20*time.Minute, 40, "phone", ""),
		contractSample("steps", 31*time.Minute, 10, "phone", ""),
	}, 3, 0)
	first := metricFeed(t, s, from, pages(2), u)
	require.Len(t, first, 3)
	for _, c := range first[1:] {
		assert.Equal(t, first[0].ChangedAt, c.ChangedAt, "one write, one stamp")
	}
	assert.Equal(t, []time.Time{ct0, ct0.Add(SlotSize), ct0.Add(2 * SlotSize)},
		[]time.Time{first[0].SlotStart, first[1].SlotStart, first[2].SlotStart}, "in id order")

	contractAdd(t, s, u, []Sample{contractSample("steps", 25*time.Minute, 60, "watch", "")}, 1, 0)
	got := metricFeed(t, s, from, pages(2), u)
	require.Len(t, got, 3)
	assert.Equal(t, []MetricSlotChange{first[0], first[2]}, got[:2], "the others stay")
	moved := got[2]
	assert.Equal(t, MetricSlotChange{UserID: u, Metric: "steps", SlotStart: ct0.Add(SlotSize), Sum: 100, Count: 2,
		Min: 40, Max: 60, ChangedAt: moved.ChangedAt}, moved, "the slot with its new totals")
	assert.True(t, moved.ChangedAt.After(first[2].ChangedAt), "stamped later")
	assert.Equal(t, []MetricSlotChange{moved}, metricFeed(t, s, first[2].Cursor(), pages(2), u),
		"a consumer that saw the first write sees the slot again")
	assert.Equal(t, got[1:], metricFeed(t, s, first[1].Cursor(), pages(1), u),
		"after the slot's old position: the rest of the first write, then the slot")
}

// contractMetricChangesLate: samples recorded long ago but stored now
// change old slots, which come after a consumer's cursor.
func contractMetricChangesLate(t *testing.T, s Store) {
	u := contractUser(t, "mfeed-late")
	from := metricFeedNow()
	recent := []Sample{contractSample("heart_rate", 0, 70, "watch", ""), contractSample("heart_rate", time.Hour, 90, "watch", "")}
	contractAdd(t, s, u, recent, 2, 0)
	seen := metricFeed(t, s, from, pages(MaxChanges), u)
	require.Len(t, seen, 2)
	mark := seen[1].Cursor()

	old := ct0.AddDate(0, 0, -400)
	late := []Sample{
		{Metric: "heart_rate", Value: 60, RecordedAt: old.Add(time.Minute), Source: "import"},
		{Metric: "heart_rate", Value: 64, RecordedAt: old.Add(2 * time.Minute), Source: "import"},
		{Metric: "heart_rate", Value: 58, RecordedAt: old.Add(16 * time.Minute), Source: "import"},
		{Metric: "heart_rate", Value: 80, RecordedAt: ct0.Add(time.Minute), Source: "import"},
	}
	contractAdd(t, s, u, late, 4, 0)
	got := metricFeed(t, s, mark, pages(3), u)
	assert.Equal(t, []MetricSlotChange{
		{UserID: u, Metric: "heart_rate", SlotStart: old, Sum: 124, Count: 2, Min: 60, Max: 64},
		{UserID: u, Metric: "heart_rate", SlotStart: old.Add(SlotSize), Sum: 58, Count: 1, Min: 58, Max: 58},
		{UserID: u, Metric: "heart_rate", SlotStart: ct0, Sum: 150, Count: 2, Min: 70, Max: 80},
	}, unstamped(got), "the old day's slots and the recent one added to")
	assert.Equal(t, unstamped(append(seen[1:], got...)), unstamped(metricFeed(t, s, from, pages(2), u)),
		"read again from the start: each slot once, as it is now")
}

// contractMetricChangesInstant: a cursor with an empty id answers every
// change at or after its instant.
func contractMetricChangesInstant(t *testing.T, s Store) {
	u := contractUser(t, "mfeed-instant")
	from := metricFeedNow()
	contractAdd(t, s, u, []Sample{
		contractSample("steps", 0, 1, "phone", ""), contractSample("steps", SlotSize, 2, "phone", ""),
		contractSample("active_minutes", 0, 3, "phone", ""),
	}, 3, 0)
	all := metricFeed(t, s, from, pages(10), u)
	require.Len(t, all, 3)
	at := all[0].ChangedAt
	require.Equal(t, at, all[2].ChangedAt, "one write, one stamp")
	for _, c := range []struct {
		name  string
		after ChangeCursor
		want  []MetricSlotChange
	}{
		{"at_the_instant", ChangeCursor{At: at}, all},
		{"at_the_instant_after_the_first", all[0].Cursor(), all[1:]},
		{"before_the_instant_after_any_slot", ChangeCursor{At: at.Add(-time.Microsecond), ID: all[2].Cursor().ID}, all},
		{"after_the_last", all[2].Cursor(), nil},
		{"after_the_instant", ChangeCursor{At: at.Add(time.Microsecond)}, nil},
		{"the_zero_cursor", ChangeCursor{}, all},
	} {
		assert.Equal(t, c.want, metricFeed(t, s, c.after, pages(MaxChanges), u), c.name)
	}
}

// contractMetricChangesErase: an erased user's slots leave the feed; a
// user is not recreated under an erased id, but the store does not care.
func contractMetricChangesErase(t *testing.T, s Store) {
	u, other := contractUser(t, "mfeed-erase"), contractUser(t, "mfeed-erase-other")
	from := metricFeedNow()
	samples := []Sample{contractSample("steps", 0, 5, "phone", ""), contractSample("steps", time.Hour, 6, "phone", "")}
	contractAdd(t, s, u, samples, 2, 0)
	contractAdd(t, s, other, samples, 2, 0)
	require.NoError(t, s.EraseUser(sctx, u, ct0))
	assert.Equal(t, slotChanges(other, samples), unstamped(metricFeed(t, s, from, pages(1), u, other)))
	contractAdd(t, s, u, samples[:1], 1, 0)
	got := metricFeed(t, s, from, pages(3), u)
	assert.Equal(t, slotChanges(u, samples[:1]), unstamped(got), "the slot starts again from nothing")
}

func contractMetricChangesRefusals(t *testing.T, s Store) {
	invalid := func(err error, field, name string) {
		t.Helper()
		ae, ok := apperr.As(err)
		require.True(t, ok, "%s: an apperr error: %v", name, err)
		assert.Equal(t, apperr.Invalid, ae.Kind, name)
		assert.Contains(t, ae.Fields, field, name)
	}
	for _, limit := range []int{-1, 0, MaxChanges + 1} {
		_, err := s.MetricChanges(sctx, ChangeCursor{}, limit)
		invalid(err, "limit", "limit")
	}
	at := metricFeedNow().At
	for _, id := range []string{
		"w-1", "u\x1fsteps", "u\x1fsteps\x1f12", "u\x1fsteps\x1f+000000000000000012",
		"u\x1fsteps\x1f99999999999999999999", "u\x1fsteps\x1f9999999999999999999", "u\x1fsteps\x1f-9999999999999999999",
	} {
		_, err := s.MetricChanges(sctx, ChangeCursor{At: at, ID: id}, 10)
		invalid(err, "after", id)
	}
	ok := MetricSlotChange{UserID: "u", Metric: "steps", SlotStart: ct0, ChangedAt: at}
	for _, after := range []ChangeCursor{ok.Cursor(), {At: at}, {ID: ok.Cursor().ID}} {
		_, err := s.MetricChanges(sctx, after, 1)
		assert.NoError(t, err, "%q", after)
	}
}
