package activity

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
)

// Sample limits.
const (
	maxSource   = 64
	maxSampleID = 128
	// maxSampleAge bounds how old a posted sample may be.
	maxSampleAge = 10 * 366 * 24 * time.Hour
)

// AddSamples implements Service.
func (s *service) AddSamples(ctx context.Context, userID string, in SampleBatch) (*SampleResult, error) {
	if err := s.mayActFor(ctx, userID); err != nil {
		return nil, err
	}
	switch {
	case len(in.Samples) == 0:
		return nil, apperr.FieldError("samples", "must hold at least one sample")
	case len(in.Samples) > s.maxSamples:
		return nil, &apperr.Error{Kind: apperr.TooLarge, Code: "too_many_samples",
			Message: fmt.Sprintf("A batch holds at most %d samples.", s.maxSamples),
			Fields:  map[string]string{"samples": fmt.Sprintf("must hold at most %d samples", s.maxSamples)}}
	}
	now := s.clock()
	samples := make([]Sample, len(in.Samples))
	v := apperr.Validation{}
	for i, in := range in.Samples {
		samples[i] = checkSample(v, i, in, now)
		if len(v) >= 50 { // enough to fix a client; do not build a megabyte of errors
			break
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	acc, dup, err := s.store.AddSamples(ctx, userID, samples)
	if err != nil {
		return nil, err
	}
	if acc > 0 && slices.ContainsFunc(samples, countsTowardGoals) {
		s.achieve.enqueue(userID) // the batch may have reached a goal
	}
	return &SampleResult{Accepted: acc, Duplicates: dup}, nil
}

// checkSample validates one sample, recording errors as samples[i].field.
// It allocates nothing for a valid sample: batches hold 10,000 of them.
func checkSample(v apperr.Validation, i int, in SampleInput, now time.Time) Sample {
	bad := func(name, msg string) { v.Add(fmt.Sprintf("samples[%d].%s", i, name), msg) }
	out := Sample{Metric: in.Metric, Source: in.Source, SampleID: in.SampleID}
	m, ok := metricByName(in.Metric)
	if !ok {
		bad("metric", "must be one of "+strings.Join(metricNames(), ", "))
	}
	switch {
	case in.Value == nil:
		bad("value", "is required")
	case math.IsNaN(*in.Value) || math.IsInf(*in.Value, 0):
		bad("value", "must be a finite number")
	case ok && (*in.Value < m.Min || *in.Value > m.Max):
		bad("value", fmt.Sprintf("must be between %g and %g %s", m.Min, m.Max, m.Unit))
	case ok && m.Name == "steps" && *in.Value != math.Trunc(*in.Value):
		bad("value", "must be a whole number of steps")
	default:
		out.Value = *in.Value
	}
	t, msg := parseTime(in.RecordedAt, now)
	if msg == "" && t.Before(now.Add(-maxSampleAge)) {
		msg = "must not be more than 10 years old"
	}
	if msg != "" {
		bad("recorded_at", msg)
	}
	out.RecordedAt = t
	if len(in.Source) > maxSource || !printable(in.Source) {
		bad("source", "must be at most 64 printable characters")
	}
	if len(in.SampleID) > maxSampleID || !printable(in.SampleID) {
		bad("sample_id", "must be at most 128 printable characters")
	}
	return out
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Periods of a metric series and their defaults (days, ending today).
var periods = map[string]struct {
	bucket  string // hour or day
	days    int    // default span
	maxDays int
}{
	"day":   {"hour", 1, 31},
	"week":  {"day", 7, 366},
	"month": {"day", 30, 366},
}

// MetricSeries implements Service.
func (s *service) MetricSeries(ctx context.Context, userID, metric string, q SeriesQuery) (*Series, error) {
	u, err := s.forUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	m, ok := metricByName(metric)
	if !ok {
		return nil, ErrMetricNotFound
	}
	if q.Period == "" {
		q.Period = "week"
	}
	p, ok := periods[q.Period]
	if !ok {
		return nil, apperr.FieldError("period", "must be day, week or month")
	}
	loc := location(u)
	today := localDay(s.now(), loc)
	from, to := today.AddDate(0, 0, 1-p.days), today
	v := apperr.Validation{}
	date := func(field, val string, dst *time.Time) {
		if val == "" {
			return
		}
		d, err := time.ParseInLocation(time.DateOnly, val, loc)
		v.Check(err == nil && d.Year() >= 2000, field, "must be a date (YYYY-MM-DD) from 2000 on")
		if err == nil {
			*dst = d
		}
	}
	date("from", q.From, &from)
	date("to", q.To, &to)
	if q.From != "" && q.To == "" {
		to = from.AddDate(0, 0, p.days-1)
	} else if q.To != "" && q.From == "" {
		from = to.AddDate(0, 0, 1-p.days)
	}
	v.Check(!to.Before(from), "to", "must not be before from")
	v.Check(!from.AddDate(0, 0, p.maxDays).Before(to.AddDate(0, 0, 1)), "to",
		fmt.Sprintf("the range may span at most %d days for period %s", p.maxDays, q.Period))
	if err := v.Err(); err != nil {
		return nil, err
	}
	aggs, err := s.store.Buckets(ctx, userID, metric, bucketStarts(p.bucket, from, to.AddDate(0, 0, 1)))
	if err != nil {
		return nil, err
	}
	return &Series{Metric: m.Name, Unit: m.Unit, Aggregation: m.Aggregation, Period: q.Period,
		Timezone: loc.String(), From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		Buckets: toBuckets(m, aggs)}, nil
}

// bucketStarts lists the starts of the hour or day buckets in [from, end),
// plus end itself. Hours step in absolute time, so a day has 23 or 25 of
// them when the clocks change; days step in local dates.
func bucketStarts(bucket string, from, end time.Time) []time.Time {
	var out []time.Time
	for t := from; t.Before(end); {
		out = append(out, t)
		if bucket == "hour" {
			t = t.Add(time.Hour)
		} else {
			t = t.AddDate(0, 0, 1)
		}
	}
	return append(out, end)
}

// toBuckets turns the aggregates of Store.Buckets into a series' buckets.
func toBuckets(m Metric, aggs []Slot) []Bucket {
	out := make([]Bucket, len(aggs))
	for i, a := range aggs {
		out[i] = toBucket(m, a)
	}
	return out
}

// toBucket gives an aggregate the metric's value: the sum, or the average,
// rounded to 3 decimals. Sums of fractions depend on the order they were
// added in (hourly rollups add in another order than 15-minute ones), so
// the last bits of a float are noise no answer should carry.
func toBucket(m Metric, a Slot) Bucket {
	b := Bucket{Start: a.Start, Value: round3(a.Sum), Count: a.Count}
	if a.Count > 0 {
		b.Min, b.Max = ptr(a.Min), ptr(a.Max)
		if m.Aggregation == AggAverage {
			b.Value = round3(a.Sum / float64(a.Count))
		}
	}
	return b
}

func ptr[T any](v T) *T { return &v }

// LatestMetrics implements Service.
func (s *service) LatestMetrics(ctx context.Context, userID string) ([]LatestMetric, error) {
	if err := s.mayActFor(ctx, userID); err != nil {
		return nil, err
	}
	latest, err := s.store.LatestSamples(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]LatestMetric, len(Metrics))
	for i, m := range Metrics {
		out[i].Metric = m
		for _, smp := range latest {
			if smp.Metric == m.Name {
				out[i].Latest = &LatestSample{Value: smp.Value, RecordedAt: smp.RecordedAt, Source: smp.Source}
			}
		}
	}
	return out, nil
}
