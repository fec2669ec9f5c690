package cron_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/cron"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

func TestParse(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 1, 10, 7, 30, 123, time.UTC)
	cases := []struct {
		spec string
		next time.Time
	}{
		{"@every 50ms", time.Date(2030, 1, 1, 10, 7, 30, int(50*time.Millisecond), time.UTC)},
		{"@every 1h", time.Date(2030, 1, 1, 11, 0, 0, 0, time.UTC)},
		{"@hourly", time.Date(2030, 1, 1, 11, 0, 0, 0, time.UTC)},
		{"*/5 * * * *", time.Date(2030, 1, 1, 10, 10, 0, 0, time.UTC)},
		{"0 3 * * *", time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)},
		{"CRON_TZ=Europe/Berlin 0 3 * * *", time.Date(2030, 1, 2, 2, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("reads_%s", c.spec), func(t *testing.T) {
			s, err := cron.Parse(c.spec)
			require.NoError(t, err)
			assert.True(t, c.next.Equal(s.Next(at)), "next is %s", s.Next(at))
		})
	}
	for _, bad := range []string{"", "every hour", "@every -1s", "@every 0s", "* * *"} {
		_, err := cron.Parse(bad)
		assert.Error(t, err, "%q", bad)
	}
	t.Run("every_is_the_same_whatever_the_start", func(t *testing.T) {
		s := cron.Every(5 * time.Minute)
		assert.Equal(t, s.Next(at), s.Next(at.Add(90*time.Second)))
	})
}

func TestSystemClock(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	reg := prometheus.NewRegistry()
	s, err := cron.New(cron.Deps{Config: testConfig(), DB: db, Metrics: reg, Replica: "r"})
	require.NoError(t, err)
	require.NoError(t, s.Register(cron.Job{Name: "test.fast", Schedule: "@every 20ms", Run: nop}))
	require.NoError(t, s.Start(context.Background()))
	require.Eventually(t, func() bool { return len(runsOf(t, db, "test.fast")) >= 5 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, s.Stop(context.Background()))

	runs := runsOf(t, db, "test.fast")
	seen := map[time.Time]bool{}
	for _, r := range runs {
		assert.Equal(t, cron.StatusSucceeded, r.Status)
		assert.Zero(t, r.Slot.UnixNano()%int64(20*time.Millisecond), "slot %s is on the grid", r.Slot)
		assert.False(t, seen[r.Slot], "slot %s once", r.Slot)
		seen[r.Slot] = true
	}
	assert.Equal(t, float64(len(runs)), metricValue(t, reg, "fitloop_cron_runs_total", "succeeded"))
	assert.Equal(t, float64(len(runs)), metricValue(t, reg, "fitloop_cron_run_duration_seconds", ""))
	assert.Positive(t, metricValue(t, reg, "fitloop_cron_last_success_timestamp_seconds", ""))
}

// metricValue returns the test.fast series of a metric (with the given status
// label when not empty): a counter's or gauge's value, a histogram's count.
func metricValue(tb testing.TB, reg *prometheus.Registry, name, status string) float64 {
	tb.Helper()
	families, err := reg.Gather()
	require.NoError(tb, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["job"] != "test.fast" || (status != "" && labels["status"] != status) {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	tb.Fatalf("metric %s not found", name)
	return 0
}
