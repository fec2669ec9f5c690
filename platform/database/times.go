package database

import (
	"fmt"
	"time"
)

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

// StoredTimeLayout is how the SQLite driver writes a time.Time into a
// TIMESTAMP column (go-sqlite3's SQLiteTimestampFormats[0]).
const StoredTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

// ParseStoredTime reads a TIMESTAMP the SQLite driver wrote for a UTC time
// ("2026-11-21 16:37:24.295607+00:00"; the fraction as long as it needs,
// or none). A store reading many of them (a change feed's pages) selects
// the column's text and parses it here: the driver's own parse tries a
// list of layouts with time.ParseInLocation, several times slower. Any
// other text goes to time.Parse with the layout.
func ParseStoredTime(s string) (time.Time, error) {
	n := len(s)
	if n < 25 || n > 35 || s[n-6:] != "+00:00" || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return parseStoredTimeSlow(s)
	}
	num := func(i, j int) int {
		v := 0
		for _, c := range []byte(s[i:j]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day, hour, minute, sec := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
	nsec := 0
	if frac := s[19 : n-6]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 {
			return parseStoredTimeSlow(s)
		}
		if nsec = num(20, n-6); nsec >= 0 {
			for range 10 - len(frac) {
				nsec *= 10
			}
		}
	}
	if min(year, month, day, hour, minute, sec, nsec) < 0 || month < 1 || month > 12 || day < 1 || day > 31 ||
		hour > 23 || minute > 59 || sec > 59 {
		return parseStoredTimeSlow(s)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // 31 November, say: time.Date would roll it over
		return parseStoredTimeSlow(s)
	}
	return t, nil
}

func parseStoredTimeSlow(s string) (time.Time, error) {
	t, err := time.Parse(StoredTimeLayout, s)
	return t.UTC(), err
}

// StoredTime scans a TIMESTAMP column into T: a time (PostgreSQL), or the
// column's text (SQLite, selected as CAST(column AS TEXT) so that the
// driver leaves it as text) read with ParseStoredTime.
type StoredTime struct{ T *time.Time }

// Scan implements sql.Scanner.
func (s StoredTime) Scan(src any) error {
	var err error
	switch v := src.(type) {
	case time.Time:
		*s.T = v.UTC()
	case string:
		*s.T, err = ParseStoredTime(v)
	case []byte:
		*s.T, err = ParseStoredTime(string(v))
	default:
		err = fmt.Errorf("database: a stored time from %T", src)
	}
	return err
}
