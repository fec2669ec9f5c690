package etl

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStagedSlotsRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var slots []slot
		start := rnd.Int64N(1 << 52)
		for range rnd.IntN(100) {
			start += 900_000_000 * (1 + rnd.Int64N(4))
			v := rnd.Float64() * 1000
			s := slot{start: start, count: 1, sum: v, min: v, max: v}
			if rnd.IntN(2) == 0 { // a slot of several samples
				s.count, s.sum, s.min, s.max = 1+rnd.Int64N(1000), v*50, v-rnd.Float64(), v+rnd.Float64()
			}
			slots = append(slots, s)
		}
		b := encodeSlots(slots)
		got, err := decodeSlots(b)
		require.NoError(t, err)
		require.Equal(t, len(slots), len(got))
		if len(slots) > 0 {
			assert.Equal(t, slots, got)
			_, err = decodeSlots(b[:len(b)-1])
			assert.ErrorIs(t, err, errBadSlots, "cut short")
		}
	}
}

func TestMergedSlotsTakeTheLastChange(t *testing.T) {
	one := func(start int64, v float64) slot { return slot{start: start, count: 1, sum: v, min: v, max: v} }
	staged := []slot{one(10, 1), one(20, 2), one(30, 3)}
	got := mergeSlots(staged, []slot{one(40, 4), one(20, 5), one(5, 6), one(20, 7)})
	assert.Equal(t, []slot{one(5, 6), one(10, 1), one(20, 7), one(30, 3), one(40, 4)}, got)
	f := dayFact(userDay{"k", "steps", 20261120}, got)
	assert.Equal(t, []any{"k", 20261120, "steps", 21.0, 21.0 / 5, 1.0, 7.0, int64(5)}, f)
}
