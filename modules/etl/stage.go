package etl

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"slices"
)

// slot is one 15-minute rollup of a metric as the stage keeps it.
type slot struct {
	start         int64 // unix microseconds, UTC
	sum, min, max float64
	count         int64
}

// A day's slots are staged as one row (stage_metric_days), packed: the
// slots in start order, each its start as a varint delta from the one
// before (the first from 0), then a uvarint of its count times two, plus
// one when its sum, min and max are one value (a slot of one sample), and
// then that value, or the sum, min and max, as little-endian float64s.
// One row a day instead of one a slot: the stage is written and read a
// day at a time, and a day's fact is aggregated from its row in Go
// (dayFact).

// encodeSlots packs slots, which are sorted by start with no two alike.
func encodeSlots(slots []slot) []byte {
	b := make([]byte, 0, len(slots)*16)
	var prev int64
	for _, s := range slots {
		b = binary.AppendVarint(b, s.start-prev)
		prev = s.start
		if s.sum == s.min && s.sum == s.max {
			b = binary.AppendUvarint(b, uint64(s.count)<<1|1)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.sum))
			continue
		}
		b = binary.AppendUvarint(b, uint64(s.count)<<1)
		for _, v := range []float64{s.sum, s.min, s.max} {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b
}

var errBadSlots = errors.New("etl: a staged day's slots are damaged")

// decodeSlots unpacks what encodeSlots packed.
func decodeSlots(b []byte) ([]slot, error) {
	var out []slot
	var prev int64
	for len(b) > 0 {
		delta, n := binary.Varint(b)
		if n <= 0 {
			return nil, errBadSlots
		}
		b = b[n:]
		head, n := binary.Uvarint(b)
		floats := 3
		if head&1 == 1 {
			floats = 1
		}
		if n <= 0 || len(b) < n+8*floats {
			return nil, errBadSlots
		}
		b = b[n:]
		prev += delta
		s := slot{start: prev, count: int64(head >> 1), sum: math.Float64frombits(binary.LittleEndian.Uint64(b))}
		s.min, s.max = s.sum, s.sum
		if floats == 3 {
			s.min = math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
			s.max = math.Float64frombits(binary.LittleEndian.Uint64(b[16:]))
		}
		out = append(out, s)
		b = b[8*floats:]
	}
	return out, nil
}

// mergeSlots is a day's staged slots with changed ones laid over them:
// a changed slot replaces the staged one that starts at the same time
// (and the last of two changes of one slot wins). Both may be in any
// order; the result is sorted by start, in staged's array when it has
// room.
func mergeSlots(staged, changed []slot) []slot {
	all := append(staged, changed...)
	// A stable sort keeps, among slots of one start, the staged one first
	// and the changes in their order: the last is the one to keep.
	slices.SortStableFunc(all, func(a, b slot) int { return cmp.Compare(a.start, b.start) })
	out := all[:0]
	for i, s := range all {
		if i+1 < len(all) && all[i+1].start == s.start {
			continue
		}
		out = append(out, s)
	}
	return out
}

// dayFact is the fact_daily_metrics row of a day's slots (dailyCols).
func dayFact(d userDay, slots []slot) []any {
	var sum float64
	var count int64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range slots {
		sum += s.sum
		count += s.count
		lo, hi = min(lo, s.min), max(hi, s.max)
	}
	avg := 0.0
	if count != 0 {
		avg = sum / float64(count)
	}
	return []any{d.key, d.date, d.metric, sum, avg, lo, hi, count}
}
