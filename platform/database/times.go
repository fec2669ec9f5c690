package database

import "time"

// UTC is t as the stores keep it: in UTC, truncated to the microsecond
// (PostgreSQL's precision), so a value written reads back equal, and
// SQLite's TIMESTAMP text, which only sorts as time when every value has the
// same zone, sorts.
func UTC(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// UTCPtr is UTC for an optional time (nil stays nil).
func UTCPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := UTC(*t)
	return &u
}
