package activity

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The pure parts of goal progress, alerts and reports.

func TestQuietHours(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	at := func(h, m int) time.Time { return time.Date(2030, 3, 10, h, m, 0, 0, ny) }
	q := ParseQuietHours("22:00", "07:00")
	assert.Equal(t, DefaultQuietHours, q)
	for _, c := range []struct {
		t     time.Time
		quiet bool
	}{{at(21, 59), false}, {at(22, 0), true}, {at(3, 0), true}, {at(6, 59), true}, {at(7, 0), false}, {at(12, 0), false}} {
		assert.Equal(t, c.quiet, q.Contains(c.t), c.t.Format("15:04"))
	}
	within := ParseQuietHours("00:30", "08:00")
	assert.True(t, within.Contains(at(0, 30)))
	assert.False(t, within.Contains(at(23, 0)))
	assert.False(t, ParseQuietHours("07:00", "07:00").Contains(at(7, 0)), "equal bounds: no quiet hours")
	for _, bad := range [][2]string{{"7:00", "22:00"}, {"24:00", "07:00"}, {"22:00", "07:60"}, {"ab:cd", "07:00"}, {"", ""}} {
		assert.Equal(t, DefaultQuietHours, ParseQuietHours(bad[0], bad[1]), "%q falls back to the default", bad)
	}

	day := time.Date(2030, 3, 10, 0, 0, 0, 0, ny) // 23 hours long: clocks go forward at 02:00
	from, to := q.Waking(day)
	assert.Equal(t, "2030-03-10T07:00:00-04:00", from.Format(time.RFC3339))
	assert.Equal(t, "2030-03-10T22:00:00-04:00", to.Format(time.RFC3339))
	from, to = within.Waking(day)
	assert.Equal(t, "2030-03-10T08:00:00-04:00", from.Format(time.RFC3339))
	assert.Equal(t, "2030-03-11T00:00:00-04:00", to.Format(time.RFC3339))
}

func TestGoalWindow(t *testing.T) {
	t.Parallel()
	kolkata := mustZone(t, "Asia/Kolkata")
	now := time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC) // Saturday 01:30 in Kolkata
	cases := map[string][2]string{
		PeriodDaily:   {"2026-11-21T00:00:00+05:30", "2026-11-22T00:00:00+05:30"},
		PeriodWeekly:  {"2026-11-16T00:00:00+05:30", "2026-11-23T00:00:00+05:30"},
		PeriodMonthly: {"2026-11-01T00:00:00+05:30", "2026-12-01T00:00:00+05:30"},
		PeriodTotal:   {"2026-11-02T00:00:00+05:30", "2027-01-01T00:00:00+05:30"},
	}
	for period, want := range cases {
		g := GoalSpec{Period: period, TargetDate: "2026-12-31", CreatedAt: time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)}
		from, to := goalWindow(g, now, kolkata)
		assert.Equal(t, want, [2]string{from.Format(time.RFC3339), to.Format(time.RFC3339)}, period)
	}
}

func TestPace(t *testing.T) {
	t.Parallel()
	utc := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	day, next := utc(18, 0), utc(19, 0)
	hour := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }

	t.Run("daily_goals_pace_over_the_waking_hours", func(t *testing.T) {
		g := GoalSpec{GoalType: GoalSteps, Period: PeriodDaily, TargetValue: 10000}
		p := pace(g, 6000, nil, day, next, hour(13), DefaultQuietHours) // 6 of 15 waking hours
		require.NotNil(t, p.Expected)
		assert.Equal(t, 4000.0, *p.Expected)
		assert.True(t, p.OnTrack)
		require.NotNil(t, p.ProjectedDate, "6,000 in 6 h: 10,000 by 17:00")
		assert.Equal(t, "2026-11-18", *p.ProjectedDate)

		p = pace(g, 1000, nil, day, next, hour(13), DefaultQuietHours)
		assert.False(t, p.OnTrack)
		assert.Nil(t, p.ProjectedDate, "1,000 in 6 h does not reach 10,000 before 22:00")

		p = pace(g, 0, nil, day, next, hour(5), DefaultQuietHours)
		assert.Equal(t, 0.0, *p.Expected, "nothing is expected before the day starts")
		assert.True(t, p.OnTrack)
	})
	t.Run("weekly_goals_pace_over_the_whole_week", func(t *testing.T) {
		g := GoalSpec{GoalType: GoalWorkouts, Period: PeriodWeekly, TargetValue: 4}
		p := pace(g, 1, nil, utc(16, 0), utc(23, 0), utc(19, 12), DefaultQuietHours) // 3.5 of 7 days
		assert.Equal(t, 2.0, *p.Expected)
		assert.False(t, p.OnTrack)
		assert.Nil(t, p.ProjectedDate, "1 in 3.5 days makes 2 by Sunday, not 4")
	})
	t.Run("reached_goals_are_on_track_and_dated_today", func(t *testing.T) {
		g := GoalSpec{GoalType: GoalSteps, Period: PeriodDaily, TargetValue: 10000}
		p := pace(g, 10000, nil, day, next, hour(9), DefaultQuietHours)
		assert.True(t, p.Reached)
		assert.True(t, p.OnTrack)
		assert.Equal(t, "2026-11-18", *p.ProjectedDate)
	})
	t.Run("weight_goals_pace_from_the_planned_start_in_its_direction", func(t *testing.T) {
		g := GoalSpec{GoalType: GoalWeightKG, Period: PeriodTotal, TargetValue: 75}
		start := 85.0
		p := pace(g, 82, &start, utc(1, 0), utc(21, 0), utc(11, 0), QuietHours{}) // half way: 80 expected
		assert.Equal(t, 80.0, *p.Expected)
		assert.False(t, p.OnTrack, "82 kg is behind 80 when losing")
		assert.False(t, p.Reached)
		assert.True(t, pace(g, 74.9, &start, utc(1, 0), utc(21, 0), utc(11, 0), QuietHours{}).Reached)
		gain := 70.0
		assert.False(t, pace(g, 74.9, &gain, utc(1, 0), utc(21, 0), utc(11, 0), QuietHours{}).Reached, "gaining toward 75")
		assert.Nil(t, pace(g, 82, nil, utc(1, 0), utc(21, 0), utc(11, 0), QuietHours{}).Expected)
	})
}

func TestMessages(t *testing.T) {
	t.Parallel()
	g := GoalSpec{GoalType: GoalSteps, Period: PeriodDaily, TargetValue: 10000}
	assert.Equal(t, "3,200 more steps today to reach 10,000.", behindMessage(g, 6800))
	assert.Equal(t, "Goal achieved: 10,000 steps today.", achievedMessage(g))
	w := GoalSpec{GoalType: GoalDistanceKM, Period: PeriodTotal, TargetValue: 100, TargetDate: "2026-12-31"}
	assert.Equal(t, "12.5 more km by 2026-12-31 to reach 100.", behindMessage(w, 87.5))
	assert.Equal(t, "Goal achieved: 72.5 kg.", achievedMessage(GoalSpec{GoalType: GoalWeightKG, TargetValue: 72.5}))
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.89: "1,234,567.9", -4200: "-4,200"} {
		assert.Equal(t, want, number(in))
	}
}

func TestReportStart(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	today := time.Date(2026, 11, 21, 0, 0, 0, 0, ny)
	for _, c := range []struct{ period, label, from, want string }{
		{ReportWeek, "", "2026-11-16", "2026-W47"},
		{ReportWeek, "2026-W47", "2026-11-16", "2026-W47"},
		{ReportWeek, "2026-W01", "2025-12-29", "2026-W01"},
		{ReportWeek, "2026-W53", "2026-12-28", "2026-W53"}, // 2026 has 53 ISO weeks
		{ReportMonth, "", "2026-11-01", "2026-11"},
		{ReportMonth, "2024-02", "2024-02-01", "2024-02"},
	} {
		from, label, err := reportStart(ReportQuery{Period: c.period, Label: c.label}, today)
		require.NoError(t, err, c.label)
		assert.Equal(t, c.from, from.Format(time.DateOnly), c.label)
		assert.Equal(t, c.want, label)
	}
	for _, bad := range []ReportQuery{{ReportWeek, "2025-W53"}, {ReportWeek, "2026-W00"}, {ReportWeek, "2026-47"},
		{ReportWeek, "1999-W01"}, {ReportWeek, "2026-W1"}, {ReportMonth, "2026-13"}, {ReportMonth, "26-11"}, {ReportMonth, "2026-11-01"}} {
		_, _, err := reportStart(bad, today)
		assert.Error(t, err, "%+v", bad)
	}
}

func TestCSVCells(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "", "easy run": "easy run", "=HYPERLINK(1)": "'=HYPERLINK(1)",
		"+1": "'+1", "-x": "'-x", "@SUM": "'@SUM", "\tx": "'\tx"} {
		assert.Equal(t, want, cell(in))
	}
}
