package cron

import (
	"fmt"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// Schedule gives a job's fire times: Next returns the first one after t. It is
// robfig/cron's Schedule, so any of its schedules can be used.
type Schedule = robfig.Schedule

var parser = robfig.NewParser(robfig.Minute | robfig.Hour | robfig.Dom | robfig.Month | robfig.Dow | robfig.Descriptor)

// Parse reads a schedule: a five-field cron expression ("*/5 * * * *"), a
// descriptor ("@hourly", "@daily"), or "@every <duration>". Expressions are
// evaluated in UTC unless they start with "CRON_TZ=<zone>", so replicas with
// different local zones agree on the slots.
//
// "@every d" fires at the multiples of d counted from time.Time's zero (so
// "@every 1h" fires on the hour), not d after start-up as robfig's own @every
// does: replicas started at different times must compute the same slots.
// Sub-second intervals are allowed.
func Parse(spec string) (Schedule, error) {
	spec = strings.TrimSpace(spec)
	if rest, ok := strings.CutPrefix(spec, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("cron: schedule %q: %w", spec, err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("cron: schedule %q: the interval must be positive", spec)
		}
		return Every(d), nil
	}
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("cron: schedule %q: %w", spec, err)
	}
	if ss, ok := s.(*robfig.SpecSchedule); ok && !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") {
		ss.Location = time.UTC
	}
	return s, nil
}

// Every returns a schedule that fires at every multiple of d counted from
// time.Time's zero.
func Every(d time.Duration) Schedule { return every(d) }

type every time.Duration

var _ Schedule = every(0)

// Next returns the first multiple of the interval after t.
func (e every) Next(t time.Time) time.Time {
	d := time.Duration(e)
	return t.Truncate(d).Add(d).UTC()
}
