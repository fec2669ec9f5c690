package database

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStoredTimeReadsWhatTheDriverWrites(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	cases := []time.Time{time.Date(2026, 11, 21, 16, 37, 24, 295607000, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC), time.Date(2024, 2, 29, 23, 59, 59, 999999000, time.UTC)}
	for range 2000 {
		cases = append(cases, UTC(time.Unix(rnd.Int64N(4_000_000_000), rnd.Int64N(1e9))))
	}
	for _, want := range cases {
		s := want.Format(StoredTimeLayout)
		got, err := ParseStoredTime(s)
		require.NoError(t, err, s)
		require.True(t, want.Equal(got), "%s: %v", s, got)
		assert.Equal(t, time.UTC, got.Location())
	}
}

func TestParseStoredTimeFallsBackOrRefuses(t *testing.T) {
	for s, want := range map[string]time.Time{
		"2026-11-21 18:37:24.5+02:00":         time.Date(2026, 11, 21, 16, 37, 24, 5e8, time.UTC), // another zone: the slow path
		"2026-11-21 16:37:24.123456789+00:00": time.Date(2026, 11, 21, 16, 37, 24, 123456789, time.UTC),
	} {
		got, err := ParseStoredTime(s)
		require.NoError(t, err, s)
		assert.True(t, want.Equal(got), "%s: %v", s, got)
		assert.Equal(t, time.UTC, got.Location())
	}
	for _, s := range []string{"", "2026-11-31 10:00:00+00:00", "2026-13-01 10:00:00+00:00", "2026-11-21 24:00:00+00:00",
		"2026-11-21 10:00:00.+00:00", "2026-11-21 10:00:0x+00:00", "2026-11-21T10:00:00+00:00", "yesterday, at noon"} {
		_, err := ParseStoredTime(s)
		assert.Error(t, err, s)
	}
}

func BenchmarkParseStoredTime(b *testing.B) {
	s := time.Date(2026, 11, 21, 16, 37, 24, 295607000, time.UTC).Format(StoredTimeLayout)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			_, _ = ParseStoredTime(s)
		}
	})
	b.Run("time.Parse", func(b *testing.B) {
		for b.Loop() {
			_, _ = time.ParseInLocation(StoredTimeLayout, s, time.UTC)
		}
	})
}
