package activity

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/apperr"
)

// The pure helpers behind the service: buckets, validation, times, calories.

func mustZone(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(tb, err)
	return loc
}

func TestBucketStarts(t *testing.T) {
	t.Parallel()
	ny, kolkata := mustZone(t, "America/New_York"), mustZone(t, "Asia/Kolkata")
	day := func(loc *time.Location, y int, m time.Month, d int) time.Time {
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	layout := func(ts []time.Time) []string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = t.Format(time.RFC3339)
		}
		return out
	}

	t.Run("steps_23_absolute_hours_the_day_the_clocks_go_forward", func(t *testing.T) {
		from := day(ny, 2030, time.March, 10)
		got := bucketStarts("hour", from, from.AddDate(0, 0, 1))
		require.Len(t, got, 24, "23 buckets and the end")
		for i := 1; i < len(got); i++ {
			assert.Equal(t, time.Hour, got[i].Sub(got[i-1]), "start %d", i)
		}
		assert.Equal(t, []string{"2030-03-10T00:00:00-05:00", "2030-03-10T01:00:00-05:00", "2030-03-10T03:00:00-04:00"},
			layout(got[:3]))
		assert.Equal(t, "2030-03-11T00:00:00-04:00", got[23].Format(time.RFC3339))
	})
	t.Run("steps_25_absolute_hours_the_day_the_clocks_go_back", func(t *testing.T) {
		from := day(ny, 2029, time.November, 4)
		got := bucketStarts("hour", from, from.AddDate(0, 0, 1))
		require.Len(t, got, 26)
		assert.Equal(t, []string{"2029-11-04T01:00:00-04:00", "2029-11-04T01:00:00-05:00"}, layout(got[1:3]))
	})
	t.Run("steps_local_days_of_23_and_25_hours", func(t *testing.T) {
		from := day(ny, 2030, time.March, 8)
		got := bucketStarts("day", from, from.AddDate(0, 0, 7))
		require.Len(t, got, 8)
		for i, s := range got {
			assert.Zero(t, s.Hour(), "start %d is a local midnight", i)
		}
		assert.Equal(t, 23*time.Hour, got[3].Sub(got[2]), "2030-03-10 is 23 hours long")
		assert.Equal(t, 24*time.Hour, got[4].Sub(got[3]))
		back := bucketStarts("day", day(ny, 2029, time.November, 3), day(ny, 2029, time.November, 6))
		assert.Equal(t, 25*time.Hour, back[2].Sub(back[1]), "2029-11-04 is 25 hours long")
	})
	t.Run("starts_kolkata_days_at_half_past_in_utc", func(t *testing.T) {
		from := day(kolkata, 2030, time.March, 5)
		got := bucketStarts("day", from, from.AddDate(0, 0, 2))
		require.Len(t, got, 3)
		assert.Equal(t, "2030-03-04T18:30:00Z", got[0].UTC().Format(time.RFC3339))
		assert.Equal(t, "2030-03-05T18:30:00Z", got[1].UTC().Format(time.RFC3339))
	})
	t.Run("has_only_the_end_for_an_empty_range", func(t *testing.T) {
		from := day(time.UTC, 2030, time.March, 5)
		assert.Equal(t, []time.Time{from}, bucketStarts("day", from, from))
	})
}

func TestFoldSlotsIntoBuckets(t *testing.T) {
	t.Parallel()
	h := func(hh, mm int) time.Time { return time.Date(2030, 3, 5, hh, mm, 0, 0, time.UTC) }
	slot := func(start time.Time, sum float64, count int64, lo, hi float64) Slot {
		return Slot{Start: start, Sum: sum, Count: count, Min: lo, Max: hi}
	}
	starts := []time.Time{h(1, 0), h(2, 0), h(3, 0), h(4, 0)}
	slots := []Slot{
		slot(h(0, 45), 999, 1, 999, 999), // before the first bucket: ignored
		slot(h(1, 0), 10, 1, 10, 10),
		slot(h(1, 45), 30, 2, 5, 25),
		slot(h(2, 15), 0, 0, 0, 0), // an emptied slot counts for nothing
		slot(h(3, 0), 7, 1, 7, 7),  // on a boundary: the later bucket
		slot(h(4, 0), 999, 1, 999, 999),
	}
	steps, _ := metricByName("steps")
	hr, _ := metricByName("heart_rate")

	bucketize := func(m Metric, slots []Slot, starts []time.Time) []Bucket {
		return toBuckets(m, foldSlots(slots, starts))
	}
	sum := bucketize(steps, slots, starts)
	require.Len(t, sum, 3)
	assert.Equal(t, h(1, 0), sum[0].Start)
	assert.Equal(t, 40.0, sum[0].Value)
	assert.Equal(t, int64(3), sum[0].Count)
	assert.Equal(t, 5.0, *sum[0].Min)
	assert.Equal(t, 25.0, *sum[0].Max)
	assert.Equal(t, Bucket{Start: h(2, 0)}, sum[1], "an empty bucket has no min or max")
	assert.Equal(t, 7.0, sum[2].Value)
	assert.Equal(t, int64(1), sum[2].Count)

	avg := bucketize(hr, slots, starts)
	assert.Equal(t, 13.333, avg[0].Value, "the mean of the samples (not of the slots), to 3 decimals")
	assert.Equal(t, 0.0, avg[1].Value, "an empty bucket averages to 0")
	assert.Equal(t, 7.0, avg[2].Value)

	assert.Empty(t, bucketize(steps, slots, starts[:1]), "one start is no bucket")
	none := bucketize(hr, nil, starts)
	require.Len(t, none, 3)
	for _, b := range none {
		assert.Zero(t, b.Count)
		assert.Nil(t, b.Min)
	}
}

// sampleFields runs checkSample on in and returns the fields it refused.
func sampleFields(in SampleInput, now time.Time) (Sample, apperr.Validation) {
	v := apperr.Validation{}
	return checkSample(v, 3, in, now), v
}

func TestCheckSample(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 3, 12, 15, 0, 0, 0, time.UTC)
	at := "2030-03-12T14:00:00Z"
	f := func(x float64) *float64 { return &x }
	for _, tc := range []struct {
		name  string
		in    SampleInput
		field string // "" when valid
		msg   string
	}{
		{"accepts_a_valid_sample", SampleInput{Metric: "steps", Value: f(1200), RecordedAt: at, Source: "watch", SampleID: "s-1"}, "", ""},
		{"accepts_the_range_bounds", SampleInput{Metric: "heart_rate", Value: f(20), RecordedAt: at}, "", ""},
		{"accepts_the_upper_bound", SampleInput{Metric: "heart_rate", Value: f(250), RecordedAt: at}, "", ""},
		{"accepts_a_whole_number_of_steps_as_a_float", SampleInput{Metric: "steps", Value: f(12.0), RecordedAt: at}, "", ""},
		{"accepts_a_fraction_of_a_kilometre", SampleInput{Metric: "distance_km", Value: f(0.25), RecordedAt: at}, "", ""},
		{"requires_a_value", SampleInput{Metric: "steps", RecordedAt: at}, "samples[3].value", "is required"},
		{"rejects_nan", SampleInput{Metric: "steps", Value: f(math.NaN()), RecordedAt: at}, "samples[3].value", "finite"},
		{"rejects_infinity", SampleInput{Metric: "steps", Value: f(math.Inf(1)), RecordedAt: at}, "samples[3].value", "finite"},
		{"rejects_minus_infinity", SampleInput{Metric: "weight_kg", Value: f(math.Inf(-1)), RecordedAt: at}, "samples[3].value", "finite"},
		{"rejects_a_value_below_the_range", SampleInput{Metric: "heart_rate", Value: f(19.99), RecordedAt: at}, "samples[3].value",
			"must be between 20 and 250 bpm"},
		{"rejects_a_value_above_the_range", SampleInput{Metric: "steps", Value: f(100_001), RecordedAt: at}, "samples[3].value",
			"must be between 0 and 100000 count"},
		{"rejects_a_fraction_of_a_step", SampleInput{Metric: "steps", Value: f(0.5), RecordedAt: at}, "samples[3].value", "whole number"},
		{"rejects_an_unknown_metric", SampleInput{Metric: "Steps", Value: f(1), RecordedAt: at}, "samples[3].metric",
			"must be one of steps, calories_burned, heart_rate, distance_km, active_minutes, weight_kg, sleep_minutes"},
		{"requires_a_time", SampleInput{Metric: "steps", Value: f(1)}, "samples[3].recorded_at", "RFC 3339"},
		{"rejects_a_date_alone", SampleInput{Metric: "steps", Value: f(1), RecordedAt: "2030-03-12"}, "samples[3].recorded_at", "RFC 3339"},
		{"accepts_the_clock_skew", SampleInput{Metric: "steps", Value: f(1), RecordedAt: "2030-03-12T15:05:00Z"}, "", ""},
		{"rejects_the_future_past_the_skew", SampleInput{Metric: "steps", Value: f(1), RecordedAt: "2030-03-12T15:05:00.000001Z"},
			"samples[3].recorded_at", "future"},
		{"accepts_the_oldest_time", SampleInput{Metric: "steps", Value: f(1), RecordedAt: now.Add(-maxSampleAge).Format(time.RFC3339Nano)}, "", ""},
		{"rejects_older_samples", SampleInput{Metric: "steps", Value: f(1),
			RecordedAt: now.Add(-maxSampleAge - time.Microsecond).Format(time.RFC3339Nano)}, "samples[3].recorded_at", "10 years"},
		{"accepts_a_64_byte_source", SampleInput{Metric: "steps", Value: f(1), RecordedAt: at, Source: strings.Repeat("s", 64)}, "", ""},
		{"rejects_a_65_byte_source", SampleInput{Metric: "steps", Value: f(1), RecordedAt: at, Source: strings.Repeat("s", 65)},
			"samples[3].source", "64"},
		{"counts_the_source_in_bytes", SampleInput{Metric: "steps", Value: f(1), RecordedAt: at, Source: strings.Repeat("é", 33)},
			"samples[3].source", "64"},
		{"rejects_a_tab_in_the_source", SampleInput{Metric: "steps", Value: f(1), RecordedAt: at, Source: "a\tb"}, "samples[3].source", "printable"},
		{"rejects_delete_in_the_source", SampleInput{Metric: "steps", Value: f(1), RecordedAt: at, Source: "a\x7f"}, "samples[3].source", "printable"},
		{"accepts_unicode_in_the_source", SampleInput{Metric: "steps", Value: f(1), RecordedAt: at, Source: "Montre connectée"}, "", ""},
		{"accepts_a_128_byte_sample_id", SampleInput{Metric: "steps", Value: f(1), RecordedAt: at, SampleID: strings.Repeat("i", 128)}, "", ""},
		{"rejects_a_129_byte_sample_id", SampleInput{Metric: "steps", Value: f(1), RecordedAt: at, SampleID: strings.Repeat("i", 129)},
			"samples[3].sample_id", "128"},
		{"rejects_a_newline_in_the_sample_id", SampleInput{Metric: "steps", Value: f(1), RecordedAt: at, SampleID: "a\nb"},
			"samples[3].sample_id", "printable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, v := sampleFields(tc.in, now)
			if tc.field == "" {
				assert.Empty(t, v)
				assert.Equal(t, tc.in.Metric, out.Metric)
				assert.Equal(t, *tc.in.Value, out.Value)
				assert.Equal(t, tc.in.Source, out.Source)
				assert.Equal(t, tc.in.SampleID, out.SampleID)
				assert.Equal(t, time.UTC, out.RecordedAt.Location())
				return
			}
			require.Len(t, v, 1, "%v", v)
			assert.Contains(t, v[tc.field], tc.msg)
		})
	}

	t.Run("keeps_times_in_utc_to_the_microsecond", func(t *testing.T) {
		out, v := sampleFields(SampleInput{Metric: "steps", Value: f(1), RecordedAt: "2030-03-12T19:30:00.1234567+05:30"}, now)
		assert.Empty(t, v)
		assert.Equal(t, time.Date(2030, 3, 12, 14, 0, 0, 123456000, time.UTC), out.RecordedAt)
	})
	t.Run("reports_every_bad_field_of_a_sample", func(t *testing.T) {
		_, v := sampleFields(SampleInput{Metric: "nope", RecordedAt: "soon", Source: "\x00"}, now)
		assert.Len(t, v, 4)
		for _, name := range []string{"metric", "value", "recorded_at", "source"} {
			assert.Contains(t, v, "samples[3]."+name)
		}
	})
}

// TestCheckSampleAllocatesNothing holds checkSample to its comment: batches
// hold 10,000 samples. Not parallel: AllocsPerRun counts the whole process.
func TestCheckSampleAllocatesNothing(t *testing.T) {
	value := 64.0
	in := SampleInput{Metric: "heart_rate", Value: &value, RecordedAt: "2030-03-12T14:00:00Z", Source: "watch", SampleID: "abc"}
	now := time.Date(2030, 3, 12, 15, 0, 0, 0, time.UTC)
	v := apperr.Validation{}
	assert.Zero(t, testing.AllocsPerRun(100, func() { checkSample(v, 3, in, now) }))
	assert.Empty(t, v)
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 3, 12, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time // zero when refused
		msg  string
	}{
		{"2000-01-01T00:00:00Z", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), ""},
		{"1999-12-31T23:59:59.999999Z", time.Time{}, "must not be before 2000-01-01"},
		{"2000-01-01T00:30:00+01:00", time.Time{}, "must not be before 2000-01-01"}, // 1999-12-31T23:30Z
		{"2030-03-12T15:05:00Z", now.Add(clockSkew), ""},
		{"2030-03-12T15:05:00.000001Z", time.Time{}, "must not be in the future"},
		{"2030-03-12T15:05:00.0000009Z", time.Time{}, "must not be in the future"}, // checked before truncation
		{"2030-03-12T10:00:00-05:00", now, ""},
		{"  2030-03-12T15:00:00Z\n", now, ""},
		{"2030-03-12T14:59:59.9999999Z", time.Date(2030, 3, 12, 14, 59, 59, 999999000, time.UTC), ""},
		{"2030-03-12", time.Time{}, "RFC 3339"},
		{"2030-03-12T15:00:00", time.Time{}, "RFC 3339"},
		{"", time.Time{}, "RFC 3339"},
		{"1741791600", time.Time{}, "RFC 3339"},
	} {
		got, msg := parseTime(tc.in, now)
		if tc.msg == "" {
			assert.Empty(t, msg, tc.in)
			assert.Equal(t, tc.want, got, tc.in)
			assert.Equal(t, time.UTC, got.Location(), tc.in)
			continue
		}
		assert.Contains(t, msg, tc.msg, tc.in)
		assert.True(t, got.IsZero(), tc.in)
	}
}

func TestCheckSpan(t *testing.T) {
	t.Parallel()
	start := time.Date(2030, 3, 12, 8, 0, 0, 0, time.UTC)
	assert.Empty(t, checkSpan(start, start), "an empty workout")
	assert.Empty(t, checkSpan(start, start.Add(24*time.Hour)), "exactly a day")
	assert.Contains(t, checkSpan(start, start.Add(24*time.Hour+time.Microsecond)), "within 24 hours")
	assert.Contains(t, checkSpan(start, start.Add(-time.Microsecond)), "before the start")
}

func TestLogEnd(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 3, 12, 15, 0, 0, 0, time.UTC)
	start := time.Date(2030, 3, 12, 10, 0, 0, 0, time.UTC)
	secs := func(n int64) *int64 { return &n }
	s := &service{}
	for _, tc := range []struct {
		name     string
		endTime  string
		duration *int64
		start    time.Time
		want     time.Time // when ok
		field    string    // when refused
		msg      string
	}{
		{"reads_the_end_time", "2030-03-12T10:30:00Z", nil, start, start.Add(30 * time.Minute), "", ""},
		{"adds_the_duration", "", secs(2700), start, start.Add(45 * time.Minute), "", ""},
		{"accepts_an_end_time_and_a_duration_that_agree", "2030-03-12T10:10:00Z", secs(600), start, start.Add(10 * time.Minute), "", ""},
		{"compares_to_the_second", "2030-03-12T10:10:00.9Z", secs(600), start, start.Add(10*time.Minute + 900*time.Millisecond), "", ""},
		{"refuses_an_end_time_and_a_duration_that_disagree", "2030-03-12T10:10:00Z", secs(599), start, time.Time{},
			"end_time", "does not match start_time + duration"},
		{"requires_one_of_them", "", nil, start, time.Time{}, "end_time", "end_time or duration is required"},
		{"refuses_a_zero_duration", "", secs(0), start, time.Time{}, "duration", "between 1 and 86400"},
		{"refuses_a_negative_duration", "", secs(-60), start, time.Time{}, "duration", "between 1 and 86400"},
		{"accepts_a_day", "", secs(86400), start.Add(-30 * time.Hour), start.Add(-6 * time.Hour), "", ""},
		{"refuses_more_than_a_day", "", secs(86401), start.Add(-30 * time.Hour), time.Time{}, "duration", "between 1 and 86400"},
		{"checks_the_duration_before_the_end_time", "2030-03-12T10:10:00Z", secs(0), start, time.Time{}, "duration", "between"},
		{"accepts_an_end_within_the_clock_skew", "", secs(3600 + 300), now.Add(-time.Hour), now.Add(clockSkew), "", ""},
		{"refuses_an_end_in_the_future", "", secs(3600 + 301), now.Add(-time.Hour), time.Time{}, "duration", "ends in the future"},
		{"refuses_a_future_end_time", "2030-03-12T15:06:00Z", nil, start, time.Time{}, "end_time", "future"},
		{"refuses_a_malformed_end_time", "half past ten", nil, start, time.Time{}, "end_time", "RFC 3339"},
		{"refuses_an_end_before_the_start", "2030-03-12T09:59:59Z", nil, start, time.Time{}, "end_time", "before the start"},
		{"refuses_an_end_over_a_day_after", "2030-03-12T10:00:01Z", nil, start.Add(-24 * time.Hour), time.Time{},
			"end_time", "within 24 hours"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := apperr.Validation{}
			end, ok := s.logEnd(v, tc.endTime, tc.duration, tc.start, now)
			if tc.field == "" {
				assert.True(t, ok)
				assert.Empty(t, v)
				assert.Equal(t, tc.want, end)
				return
			}
			assert.False(t, ok)
			require.Len(t, v, 1, "%v", v)
			assert.Contains(t, v[tc.field], tc.msg)
		})
	}
}

func TestParseBound(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	for _, tc := range []struct {
		in    string
		upper bool
		want  string
		msg   string
	}{
		{"2030-03-10", false, "2030-03-10T05:00:00Z", ""}, // EST midnight
		{"2030-03-10", true, "2030-03-11T04:00:00Z", ""},  // the next midnight, EDT: a 23-hour day
		{"2030-03-11", false, "2030-03-11T04:00:00Z", ""},
		{"2030-03-10T12:00:00+01:00", false, "2030-03-10T11:00:00Z", ""},
		{"2030-03-10T12:00:00Z", true, "2030-03-10T12:00:00Z", ""}, // a time is taken as is, upper or not
		{"2030-02-30", false, "", "must be a date"},
		{"10/03/2030", false, "", "must be a date"},
	} {
		got, msg := parseBound(tc.in, ny, tc.upper)
		if tc.msg != "" {
			assert.Contains(t, msg, tc.msg, tc.in)
			continue
		}
		assert.Empty(t, msg, tc.in)
		assert.Equal(t, tc.want, got.Format(time.RFC3339), tc.in)
		assert.Equal(t, time.UTC, got.Location(), tc.in)
	}
}

func TestWorkoutCursor(t *testing.T) {
	t.Parallel()
	w := Workout{ID: "0190a0a0-0000-7000-8000-000000000001",
		StartTime: time.Date(2030, 3, 10, 1, 30, 0, 123456000, time.FixedZone("EST", -5*3600))}
	c, msg := decodeCursor(WorkoutCursorKey(w))
	require.Empty(t, msg)
	assert.Equal(t, w.ID, c.ID)
	assert.True(t, w.StartTime.Equal(c.StartTime))
	assert.Equal(t, time.UTC, c.StartTime.Location())
	for _, bad := range []string{"", "no separator", "2030-03-10T06:30:00Z|", "yesterday|abc"} {
		_, msg := decodeCursor(bad)
		assert.NotEmpty(t, msg, bad)
	}
}

func TestCalories(t *testing.T) {
	t.Parallel()
	running, ok := workoutType("running")
	require.True(t, ok)
	yoga, ok := workoutType("yoga")
	require.True(t, ok)
	assert.Equal(t, 588.0, Calories(running.MET, 80, 2700), "9.8 MET × 80 kg × 0.75 h")
	assert.Equal(t, 343.0, Calories(running.MET, DefaultWeightKG, 1800), "9.8 MET × 70 kg × 0.5 h")
	assert.Equal(t, 5880.0, Calories(running.MET, 25, 86400), "a whole day")
	assert.Equal(t, 205.6, Calories(running.MET, 70, 1079), "205.609… rounds to one decimal")
	assert.Equal(t, 207.5, Calories(running.MET, 70, 1089), "207.515 → 207.5")
	assert.Equal(t, 0.0, Calories(yoga.MET, 50, 1), "0.03… rounds down")
	assert.Equal(t, 0.1, Calories(yoga.MET, 50, 3), "0.10… rounds to 0.1")
	assert.Zero(t, Calories(running.MET, 80, 0))
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	code := regexp.MustCompile(`^[0-9]{5}$`)
	seen := map[string]bool{}
	for _, w := range WorkoutTypes {
		assert.False(t, seen[w.Type], "%s is listed twice", w.Type)
		seen[w.Type] = true
		assert.Positive(t, w.MET, w.Type)
		assert.Regexp(t, code, w.Compendium, w.Type)
		assert.NotEmpty(t, w.Name, w.Type)
	}
	_, ok := workoutType("juggling")
	assert.False(t, ok)
	for _, m := range Metrics {
		assert.Less(t, m.Min, m.Max, m.Name)
		assert.Contains(t, []string{AggSum, AggAverage}, m.Aggregation, m.Name)
	}
}
