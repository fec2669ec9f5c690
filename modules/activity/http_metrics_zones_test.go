package activity_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/auth"
)

// TestMetricSeriesZones cuts series where the SQL store reads its hourly
// rollups (Berlin: whole hours, also on the days the clocks change) and
// where it reads the 15-minute ones (Kathmandu, at +05:45 all year).
func TestMetricSeriesZones(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		berlin := e.newUser("Europe/Berlin", nil, auth.Principal{Role: auth.RoleCustomer})
		kathmandu := e.newUser("Asia/Kathmandu", nil, auth.Principal{Role: auth.RoleCustomer})
		// Berlin's clocks went forward on 2029-03-25 at 02:00 (a 23-hour
		// day) and back on 2029-10-28 at 03:00 (a 25-hour day).
		e.post(t, berlin,
			sample("heart_rate", 70, utc("2029-03-25T00:59:00Z")),  // 01:59 CET
			sample("heart_rate", 90, utc("2029-03-25T01:00:00Z")),  // 03:00 CEST
			sample("heart_rate", 60, utc("2029-10-27T22:00:00Z")),  // 10-28 00:00 CEST
			sample("heart_rate", 100, utc("2029-10-28T00:30:00Z")), // 02:30 CEST
			sample("heart_rate", 120, utc("2029-10-28T01:30:00Z")), // 02:30 CET, an hour later
			sample("heart_rate", 80, utc("2029-10-28T22:59:00Z")),  // 23:59 CET
			sample("heart_rate", 99, utc("2029-10-28T23:00:00Z")),  // 10-29 00:00 CET
		)
		e.post(t, kathmandu,
			sample("steps", 100, utc("2030-03-05T18:14:00Z")), // 03-05 23:59 NPT
			sample("steps", 200, utc("2030-03-05T18:15:00Z")), // 03-06 00:00 NPT
			sample("steps", 50, utc("2030-03-06T04:14:00Z")),  // 03-06 09:59 NPT
			sample("steps", 70, utc("2030-03-06T04:16:00Z")),  // 03-06 10:01 NPT
		)

		t.Run("cuts_berlins_spring_day_into_23_hours", func(t *testing.T) {
			s := e.series(t, berlin, berlin.ID, "heart_rate", "period=day&from=2029-03-25")
			require.Len(t, s.Buckets, 23)
			checkBuckets(t, s.Buckets, map[int]bucket{
				1: {"2029-03-25T01:00:00+01:00", 70, 1, 70, 70},
				2: {"2029-03-25T03:00:00+02:00", 90, 1, 90, 90},
			})
		})
		t.Run("cuts_berlins_autumn_day_into_25_hours", func(t *testing.T) {
			s := e.series(t, berlin, berlin.ID, "heart_rate", "period=day&from=2029-10-28")
			require.Len(t, s.Buckets, 25)
			assert.Equal(t, "2029-10-28T23:00:00+01:00", s.Buckets[24].Start.Format(time.RFC3339))
			checkBuckets(t, s.Buckets, map[int]bucket{
				0:  {"2029-10-28T00:00:00+02:00", 60, 1, 60, 60},
				2:  {"2029-10-28T02:00:00+02:00", 100, 1, 100, 100},
				3:  {"2029-10-28T02:00:00+01:00", 120, 1, 120, 120},
				24: {"2029-10-28T23:00:00+01:00", 80, 1, 80, 80},
			})
		})
		t.Run("averages_berlins_days_across_the_change", func(t *testing.T) {
			s := e.series(t, berlin, berlin.ID, "heart_rate", "period=week&from=2029-10-25")
			require.Len(t, s.Buckets, 7)
			checkBuckets(t, s.Buckets, map[int]bucket{
				3: {"2029-10-28T00:00:00+02:00", 90, 4, 60, 120},
				4: {"2029-10-29T00:00:00+01:00", 99, 1, 99, 99},
			})
		})
		t.Run("cuts_days_at_a_quarter_past_in_utc_for_kathmandu", func(t *testing.T) {
			s := e.series(t, kathmandu, kathmandu.ID, "steps", "period=week&from=2030-03-04")
			assert.Equal(t, "Asia/Kathmandu", s.Timezone)
			require.Len(t, s.Buckets, 7)
			checkBuckets(t, s.Buckets, map[int]bucket{
				1: {"2030-03-05T00:00:00+05:45", 100, 1, 100, 100},
				2: {"2030-03-06T00:00:00+05:45", 320, 3, 50, 200},
			})
		})
		t.Run("cuts_hours_at_a_quarter_past_in_utc_for_kathmandu", func(t *testing.T) {
			s := e.series(t, kathmandu, kathmandu.ID, "steps", "period=day&from=2030-03-06")
			require.Len(t, s.Buckets, 24)
			checkBuckets(t, s.Buckets, map[int]bucket{
				0:  {"2030-03-06T00:00:00+05:45", 200, 1, 200, 200},
				9:  {"2030-03-06T09:00:00+05:45", 50, 1, 50, 50},
				10: {"2030-03-06T10:00:00+05:45", 70, 1, 70, 70},
			})
		})
	})
}
