package etl

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/breaker"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/httpx"
)

// analyticsWorld is a small, hand-computed warehouse: the week of Monday
// 2026-11-16 with today Saturday the 21st (UTC noon).
func analyticsWorld(t *testing.T, dialect string) (*Analytics, *Loader, *database.DB) {
	t.Helper()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	src := newSources()
	at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for _, u := range []struct{ id, zone string }{{"alice", "Europe/Berlin"}, {"bob", "UTC"}, {"carol", "UTC"}, {"dave", "UTC"}} {
		src.users.put(u.id, UserChange{UserID: u.id, Role: "customer", Timezone: u.zone, SignupAt: at, ChangedAt: at})
	}
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	for _, s := range []struct {
		user string
		at   time.Time
		sum  float64
	}{{"alice", day(17, 8), 3000}, {"alice", day(20, 9), 2000}, {"bob", day(18, 12), 5000}, {"bob", day(10, 12), 10000},
		{"carol", day(19, 12), 9000}} {
		m := MetricChange{UserID: s.user, Metric: "steps", SlotStart: s.at, Sum: s.sum, Count: 1, Min: s.sum, Max: s.sum, ChangedAt: at}
		src.metrics.put(slotID(s.user, "steps", s.at), m)
	}
	for _, w := range []struct {
		id, user, kind string
		start          time.Time
	}{{"w1", "alice", "running", day(17, 10)}, {"w2", "alice", "running", day(19, 10)}, {"w3", "bob", "cycling", day(18, 7)}} {
		end := w.start.Add(30 * time.Minute)
		src.workouts.put(w.id, WorkoutChange{ID: w.id, UserID: w.user, WorkoutType: w.kind, StartTime: w.start, EndTime: &end,
			Duration: 1800, CaloriesBurned: 300, Source: "manual", ChangedAt: at})
	}
	for _, g := range []GoalChange{
		{GoalID: "g-bob", UserID: "bob", GoalType: "steps", Period: "total", TargetValue: 20000, CreatedAt: day(1, 9)},
		{GoalID: "g-alice", UserID: "alice", GoalType: "workouts", Period: "weekly", TargetValue: 3, CreatedAt: day(1, 9)},
		{GoalID: "g-carol", UserID: "carol", GoalType: "steps", Period: "total", TargetValue: 8000, CreatedAt: day(1, 9)},
	} {
		g.Status, g.ChangedAt = "active", at
		src.goals.put(g.GoalID, g)
	}
	wh := warehouse(t, dialect)
	b := breaker.New("warehouse-analytics", 1, time.Hour, breaker.Options{Backend: "warehouse"})
	l, err := NewLoader(LoaderDeps{Warehouse: wh, Breaker: b, Feeds: src.feeds(), PseudonymKey: testKey, Now: func() time.Time { return now }})
	require.NoError(t, err)
	_, err = l.Run(context.Background(), false)
	require.NoError(t, err)
	members := func(context.Context) ([]Member, error) {
		return []Member{{"alice", "Alice"}, {"bob", "Bob"}, {"dave", "Dave"}}, nil // carol did not opt in
	}
	return NewAnalytics(l, members, slog.New(slog.DiscardHandler)), l, wh
}

func TestLeaderboard(t *testing.T) {
	t.Parallel()
	eachWarehouse(t, func(t *testing.T, dialect string) {
		a, _, _ := analyticsWorld(t, dialect)
		ctx := context.Background()
		lb, err := a.Leaderboard(ctx, "alice", "steps", "week", 10)
		require.NoError(t, err)
		assert.Equal(t, "2026-11-16", lb.From)
		assert.Equal(t, "2026-11-21", lb.To)
		require.Len(t, lb.Entries, 2, "carol did not opt in; dave did nothing")
		for _, e := range lb.Entries {
			assert.Equal(t, 1, e.Rank, "a tie shares the rank")
			assert.Equal(t, 5000.0, e.Value)
		}
		assert.Equal(t, Standing{Rank: 1, Value: 5000, OptedIn: true, OutOf: 2}, lb.Me)

		// Carol sees her own place, first, but not herself among the entries.
		lb, err = a.Leaderboard(ctx, "carol", "steps", "week", 10)
		require.NoError(t, err)
		assert.Equal(t, Standing{Rank: 1, Value: 9000, OptedIn: false, OutOf: 3}, lb.Me)
		require.Len(t, lb.Entries, 2)
		assert.Equal(t, 2, lb.Entries[0].Rank)

		lb, err = a.Leaderboard(ctx, "dave", "steps", "month", 1)
		require.NoError(t, err)
		assert.Equal(t, []Entry{{Rank: 1, UserID: "bob", DisplayName: "Bob", Value: 15000}}, lb.Entries)
		assert.Equal(t, Standing{Rank: 3, Value: 0, OptedIn: true, OutOf: 3}, lb.Me)

		lb, err = a.Leaderboard(ctx, "bob", "workouts", "week", 10)
		require.NoError(t, err)
		require.Len(t, lb.Entries, 2)
		assert.Equal(t, Entry{Rank: 1, UserID: "alice", DisplayName: "Alice", Value: 2}, lb.Entries[0])
		assert.Equal(t, Standing{Rank: 2, Value: 1, OptedIn: true, OutOf: 2}, lb.Me)

		lb, err = a.Leaderboard(ctx, "alice", "active_minutes", "week", 10)
		require.NoError(t, err)
		assert.Equal(t, 60.0, lb.Me.Value, "two half-hour workouts")

		_, err = a.Leaderboard(ctx, "alice", "heart_rate", "year", 10)
		fields := fieldsOf(t, err)
		assert.Contains(t, fields, "metric")
		assert.Contains(t, fields, "period")
	})
}

func TestTrendsAndProjections(t *testing.T) {
	t.Parallel()
	eachWarehouse(t, func(t *testing.T, dialect string) {
		a, _, _ := analyticsWorld(t, dialect)
		tr, err := a.Trends(context.Background(), "bob", "steps", 3)
		require.NoError(t, err)
		assert.Equal(t, []Week{{"2026-11-02", 0, 0}, {"2026-11-09", 10000, 5000}, {"2026-11-16", 5000, 5000}}, tr.Weeks)
		assert.Equal(t, Fit{SlopePerWeek: 2500, Intercept: 2500, Direction: "up"}, tr.Trend)
		// 15,000 of 20,000 steps, 15,000 in the last 28 days: 5,000 more
		// take 10 days.
		require.Len(t, tr.Goals, 1)
		assert.Equal(t, Projection{GoalID: "g-bob", GoalType: "steps", Period: "total", Target: 20000, Progress: 15000,
			DailyPace: 535.71, ProjectedAt: ptr("2026-12-01"), OnTrack: true}, tr.Goals[0])

		// Alice: 2 of 3 workouts this week; at 2 in 28 days the third
		// comes after Sunday.
		tr, err = a.Trends(context.Background(), "alice", "workouts", 12)
		require.NoError(t, err)
		require.Len(t, tr.Weeks, 12)
		assert.Equal(t, 2.0, tr.Weeks[11].Total)
		require.Len(t, tr.Goals, 1)
		assert.Nil(t, tr.Goals[0].ProjectedAt)
		assert.False(t, tr.Goals[0].OnTrack)
		assert.Equal(t, 2.0, tr.Goals[0].Progress)

		tr, err = a.Trends(context.Background(), "carol", "steps", 1)
		require.NoError(t, err)
		assert.True(t, tr.Goals[0].Achieved)
		assert.Equal(t, "2026-11-21", *tr.Goals[0].ProjectedAt)

		_, err = a.Trends(context.Background(), "bob", "weight_kg", 0)
		fields := fieldsOf(t, err)
		assert.Contains(t, fields, "metric")
		assert.Contains(t, fields, "weeks")
	})
}

func TestOverview(t *testing.T) {
	t.Parallel()
	eachWarehouse(t, func(t *testing.T, dialect string) {
		a, _, _ := analyticsWorld(t, dialect)
		o, err := a.Overview(context.Background(), 7)
		require.NoError(t, err)
		assert.Equal(t, "2026-11-15", o.From)
		assert.Equal(t, []DayActivity{{"2026-11-15", 0, 0}, {"2026-11-16", 0, 0}, {"2026-11-17", 1, 1}, {"2026-11-18", 1, 1},
			{"2026-11-19", 2, 1}, {"2026-11-20", 1, 0}, {"2026-11-21", 0, 0}}, o.Days)
		assert.Equal(t, 0, o.DailyActiveUsers)
		assert.Equal(t, 3, o.WeeklyActiveUsers)
		assert.Equal(t, []TypeCount{{"running", 2}, {"cycling", 1}}, o.TopWorkoutTypes)
		assert.Equal(t, Attainment{Goals: 3, Achieved: 1, Rate: 0.33}, o.GoalAttainment)
		_, err = a.Overview(context.Background(), 0)
		assert.Contains(t, fieldsOf(t, err), "days")
	})
}

// The analytics routes: who may call them, their validation, and 503
// while the warehouse is down.
func TestAnalyticsRoutes(t *testing.T) {
	t.Parallel()
	a, _, wh := analyticsWorld(t, database.SQLite)
	log := slog.New(slog.DiscardHandler)
	engine := httpx.NewEngine(log, httpx.Options{MaxBodyBytes: 1 << 10})
	authn := auth.AuthenticatorFunc(func(_ context.Context, cred string) (*auth.Principal, error) {
		role := auth.RoleCustomer
		if cred == "root" {
			role = auth.RoleAdmin
		}
		return &auth.Principal{UserID: cred, Role: role, SessionID: "s-" + cred}, nil
	})
	api := engine.Group("/api/v1")
	a.RegisterRoutes(api, authn)
	a.RegisterAdminRoutes(api.Group("/admin", auth.Require(authn, auth.Options{}), auth.RequireRole(auth.RoleAdmin)))
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	call := func(who, path string, want int) map[string]any {
		t.Helper()
		return request(t, http.MethodGet, srv.URL+"/api/v1"+path, who, "", want)
	}
	code := func(out map[string]any) string { return out["error"].(map[string]any)["code"].(string) }

	lb := call("alice", "/analytics/leaderboard?metric=steps", http.StatusOK)
	assert.Equal(t, "week", lb["period"])
	assert.Len(t, lb["entries"], 2)
	assert.Equal(t, "unauthenticated", code(call("", "/analytics/leaderboard?metric=steps", http.StatusUnauthorized)))
	assert.Equal(t, "steps", call("alice", "/analytics/leaderboard", http.StatusOK)["metric"], "by default")
	for _, q := range []string{"?metric=", "?metric=heart_rate", "?metric=steps&period=day", "?metric=steps&limit=0", "?metric=steps&limit=x", "?metric=steps&limit=101"} {
		assert.Equal(t, "validation_failed", code(call("alice", "/analytics/leaderboard"+q, http.StatusBadRequest)), q)
	}
	tr := call("bob", "/users/bob/trends?weeks=2", http.StatusOK)
	assert.Len(t, tr["weeks"], 2)
	assert.Equal(t, "steps", tr["metric"])
	assert.Equal(t, "user_not_found", code(call("alice", "/users/bob/trends", http.StatusNotFound)), "another user's")
	call("root", "/users/bob/trends?metric=workouts", http.StatusOK)
	for _, q := range []string{"?weeks=0", "?weeks=105", "?weeks=2.5", "?metric=weight_kg"} {
		assert.Equal(t, "validation_failed", code(call("bob", "/users/bob/trends"+q, http.StatusBadRequest)), q)
	}
	ov := call("root", "/admin/analytics/overview", http.StatusOK)
	assert.Len(t, ov["days"], DefaultOverviewDays)
	assert.Equal(t, "forbidden", code(call("alice", "/admin/analytics/overview", http.StatusForbidden)))
	assert.Equal(t, "validation_failed", code(call("root", "/admin/analytics/overview?days=367", http.StatusBadRequest)))

	require.NoError(t, wh.Close()) // the warehouse goes away
	for _, p := range []string{"/analytics/leaderboard?metric=steps", "/users/bob/trends"} {
		assert.Equal(t, "warehouse_unavailable", code(call("bob", p, http.StatusServiceUnavailable)), p)
	}
	assert.Equal(t, "warehouse_unavailable", code(call("root", "/admin/analytics/overview", http.StatusServiceUnavailable)))
}

// fieldsOf is the field errors of an Invalid error.
func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	ae, ok := apperr.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, apperr.Invalid, ae.Kind)
	return ae.Fields
}
