package activity

import "time"

// QuietHours are the local times of day between which no goal alert is
// sent, as minutes after midnight; Start == End means none. They may wrap
// midnight (the default, 22:00–07:00).
type QuietHours struct{ Start, End int }

// DefaultQuietHours are 22:00–07:00.
var DefaultQuietHours = QuietHours{Start: 22 * 60, End: 7 * 60}

// ParseQuietHours reads "HH:MM" bounds; either one malformed gives the
// default.
func ParseQuietHours(start, end string) QuietHours {
	s, okS := clockMinutes(start)
	e, okE := clockMinutes(end)
	if !okS || !okE {
		return DefaultQuietHours
	}
	return QuietHours{Start: s, End: e}
}

func clockMinutes(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// None reports that the user keeps no quiet hours.
func (q QuietHours) None() bool { return q.Start == q.End }

// Contains reports whether the local time t falls in the quiet hours.
func (q QuietHours) Contains(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	switch {
	case q.None():
		return false
	case q.Start < q.End:
		return m >= q.Start && m < q.End
	}
	return m >= q.Start || m < q.End
}

// Waking is the waking part of the local day that starts at the midnight
// day: from the end of the quiet hours to their start, or to the end of the
// day when the quiet hours lie within the day (such as 00:30–08:00).
func (q QuietHours) Waking(day time.Time) (from, to time.Time) {
	at := func(min int) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), min/60, min%60, 0, 0, day.Location())
	}
	if q.None() {
		return day, day.AddDate(0, 0, 1)
	}
	if q.Start < q.End {
		return at(q.End), day.AddDate(0, 0, 1)
	}
	return at(q.End), at(q.Start)
}
