package activity

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

// seedNow is two days after New York's clocks went forward
// (2030-03-10 02:00 EST → 03:00 EDT), so the seeded fortnight spans it.
var seedNow = time.Date(2030, time.March, 12, 15, 20, 0, 0, time.UTC)

// seedAccounts is the users module as Seed sees it.
type seedAccounts map[string]UserBasics

func (a seedAccounts) Basics(_ context.Context, id string) (*UserBasics, error) {
	u, ok := a[id]
	if !ok {
		return nil, ErrUserNotFound
	}
	return &u, nil
}

func (seedAccounts) ActiveGoals(context.Context, GoalQuery) ([]GoalSpec, error) { return nil, nil }

// seedUsers are five users in different zones; "late" signed up in the
// middle of the fortnight, at 19:00 in Auckland.
func seedUsers() ([]SeedUser, seedAccounts) {
	long := seedNow.AddDate(-1, 0, 0)
	users := []SeedUser{
		{"ny", "America/New_York", long},
		{"kolkata", "Asia/Kolkata", long},
		{"late", "Pacific/Auckland", time.Date(2030, time.March, 8, 6, 0, 0, 0, time.UTC)},
		{"utc", "UTC", long},
		{"la", "America/Los_Angeles", long},
	}
	weight := 82.5
	accounts := seedAccounts{}
	for _, u := range users {
		accounts[u.UserID] = UserBasics{UserID: u.UserID, Timezone: u.Timezone}
	}
	accounts["ny"] = UserBasics{UserID: "ny", Timezone: "America/New_York", WeightKG: &weight}
	return users, accounts
}

// newSeedModule is the module on a fresh SQLite database, with store
// instead of the SQL store when given.
func newSeedModule(tb testing.TB, store Store, users Users) *Module {
	tb.Helper()
	m, err := New(Deps{DB: dbtest.New(tb), Store: store, Users: users,
		Clock: func() time.Time { return seedNow.Add(time.Minute) }})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = m.Close() })
	return m
}

func TestSeed(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		_, accounts := seedUsers()
		checkSeed(t, newSeedModule(t, nil, accounts))
	})
	t.Run("mongo", func(t *testing.T) {
		t.Parallel()
		s, _ := openMongoStore(t)
		_, accounts := seedUsers()
		checkSeed(t, newSeedModule(t, s, accounts))
	})
}

// checkSeed seeds a fortnight of seedUsers on m and checks what it stored.
func checkSeed(t *testing.T, m *Module) {
	users, accounts := seedUsers()
	var mu sync.Mutex
	var progress []int
	stats, err := m.Seed(context.Background(), users, SeedOptions{Days: 14, Rand: rand.New(rand.NewPCG(1, 2)), Now: seedNow,
		Progress: func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, len(users), total)
			progress = append(progress, done)
		}})
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 3, 4, 5}, progress)

	var got SeedStats
	for _, u := range users {
		w, s := checkSeededUser(t, m.svc.store, u, accounts[u.UserID].WeightKG)
		got.Workouts += len(w)
		got.Samples += s
	}
	assert.Equal(t, got, stats, "the stats count what is stored")
	assert.Greater(t, stats.Workouts, 5*14/3, "about a workout a day")
}

// checkSeededUser checks one user's data and returns their workouts and
// how many samples they have.
func checkSeededUser(t *testing.T, store Store, u SeedUser, weight *float64) ([]*Workout, int) {
	t.Helper()
	loc, err := time.LoadLocation(u.Timezone)
	require.NoError(t, err)
	var workouts []*Workout
	require.NoError(t, store.EachWorkout(sctx, u.UserID, time.Time{}, seedNow.Add(time.Hour), func(w *Workout) error {
		workouts = append(workouts, w)
		return nil
	}))
	byMetric := map[string][]Sample{}
	n := 0
	require.NoError(t, store.EachSample(sctx, u.UserID, time.Time{}, seedNow.Add(time.Hour), func(sm *Sample) error {
		byMetric[sm.Metric] = append(byMetric[sm.Metric], *sm)
		n++
		assert.False(t, sm.RecordedAt.Before(u.SignupAt), "%s: %s sample before signup", u.UserID, sm.Metric)
		assert.False(t, sm.RecordedAt.After(seedNow), "%s: %s sample after now", u.UserID, sm.Metric)
		return nil
	}))
	checkSeededWorkouts(t, u, loc, workouts, byMetric, weight)
	checkSeededSteps(t, store, u, loc, byMetric["steps"])
	for _, sm := range byMetric["weight_kg"] {
		assert.InDelta(t, 75, sm.Value, 50, "%s: weight", u.UserID)
		if weight != nil {
			assert.InDelta(t, *weight, sm.Value, 3, "%s: weight near the account's", u.UserID)
		}
	}
	return workouts, n
}

func checkSeededWorkouts(t *testing.T, u SeedUser, loc *time.Location, workouts []*Workout, byMetric map[string][]Sample, weight *float64) {
	t.Helper()
	hr := byMetric["heart_rate"]
	inWorkouts, calories := 0, 0.0
	for i, w := range workouts {
		name := u.UserID + " " + w.WorkoutType + " " + w.StartTime.Format(time.RFC3339)
		wt, ok := workoutType(w.WorkoutType)
		require.True(t, ok, name)
		require.NotNil(t, w.EndTime, name)
		assert.Equal(t, w.StartTime.Add(time.Duration(w.Duration)*time.Second), *w.EndTime, name)
		assert.Equal(t, SourceLive, w.Source, name)
		assert.Equal(t, w.StartTime, w.CreatedAt, "%s: created when it started", name)
		assert.Equal(t, seedNow.Add(time.Minute), w.UpdatedAt, "%s: updated when written", name)
		assert.False(t, w.StartTime.Before(u.SignupAt), "%s: before signup", name)
		assert.False(t, w.EndTime.After(seedNow), "%s: after now", name)
		if i > 0 {
			assert.True(t, w.StartTime.After(*workouts[i-1].EndTime), "%s overlaps the one before", name)
		}
		assert.GreaterOrEqual(t, w.Duration, int64(10*60), name)
		assert.LessOrEqual(t, w.Duration, int64(4*3600), name)
		if local := w.StartTime.In(loc).Hour(); local < 5 || local > 22 {
			t.Errorf("%s: starts at %d:00 local time", name, local)
		}
		kg, estimated := DefaultWeightKG, true
		if weight != nil {
			kg, estimated = *weight, false
		}
		assert.Equal(t, Calories(wt.MET, kg, w.Duration), w.CaloriesBurned, name)
		assert.Equal(t, estimated, w.CaloriesEstimated, name)
		calories += w.CaloriesBurned
		if seedTypes[w.WorkoutType].kmh[1] > 0 {
			require.NotNil(t, w.DistanceKM, name)
			kmh := *w.DistanceKM / (float64(w.Duration) / 3600)
			assert.True(t, kmh > 1 && kmh < 35, "%s: %.1f km/h", name, kmh)
		} else {
			assert.Nil(t, w.DistanceKM, name)
		}
		require.NotNil(t, w.AvgHeartRate, name)
		assert.True(t, *w.AvgHeartRate >= 60 && *w.AvgHeartRate <= 200, "%s: avg heart rate %d", name, *w.AvgHeartRate)

		var sum, count float64
		for _, sm := range hr {
			if !sm.RecordedAt.Before(w.StartTime) && sm.RecordedAt.Before(*w.EndTime) {
				sum, count = sum+sm.Value, count+1
			}
		}
		assert.Equal(t, float64(w.Duration/60), count, "%s: a heart rate a minute", name)
		assert.InDelta(t, float64(*w.AvgHeartRate), sum/count, 0.5, "%s: mean heart rate", name)
		inWorkouts += int(count)
	}
	assert.Equal(t, len(hr), inWorkouts, "%s: heart rates only during workouts", u.UserID)
	assert.Len(t, byMetric["calories_burned"], len(workouts), u.UserID)
	assert.Len(t, byMetric["active_minutes"], len(workouts), u.UserID)
	assert.InDelta(t, calories, seedSum(byMetric["calories_burned"]), 1e-6, u.UserID)
}

// checkSeededSteps checks that steps come hourly over the user's waking
// hours, local ones, in realistic daily totals, and that the rollups have
// them all.
func checkSeededSteps(t *testing.T, store Store, u SeedUser, loc *time.Location, steps []Sample) {
	t.Helper()
	days := map[string]float64{}
	for _, sm := range steps {
		local := sm.RecordedAt.In(loc)
		assert.Zero(t, local.Minute(), "%s: steps at %s: hours are local hours", u.UserID, local)
		if local.Hour() < 5 {
			t.Errorf("%s: steps at %s, while asleep", u.UserID, local)
		}
		assert.Equal(t, sm.Value, math.Trunc(sm.Value))
		days[local.Format(time.DateOnly)] += sm.Value
	}
	today := seedNow.In(loc).Format(time.DateOnly)
	signupDay := u.SignupAt.In(loc).Format(time.DateOnly)
	for day, total := range days {
		if day != today && day != signupDay {
			assert.True(t, total >= 800 && total <= 80_000, "%s: %d steps on %s", u.UserID, int(total), day)
		}
	}
	// Every local day of the fortnight since signup has steps; today's
	// only once a waking hour has passed.
	first := seedNow.In(loc).AddDate(0, 0, -13)
	if u.SignupAt.After(first) {
		first = u.SignupAt.In(loc)
	}
	for d := first; d.Format(time.DateOnly) < today; d = d.AddDate(0, 0, 1) {
		assert.Contains(t, days, d.Format(time.DateOnly), u.UserID)
	}
	for day := range days {
		assert.True(t, day >= first.Format(time.DateOnly) && day <= today, "%s: steps on %s", u.UserID, day)
	}
	if seedNow.In(loc).Hour() >= 12 {
		assert.Contains(t, days, today, u.UserID)
	}

	buckets, err := store.Buckets(sctx, u.UserID, "steps", []time.Time{seedNow.AddDate(0, 0, -20), seedNow.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, seedSum(steps), buckets[0].Sum, "%s: rollups", u.UserID)
	assert.Equal(t, int64(len(steps)), buckets[0].Count, "%s: rollups", u.UserID)
}

func seedSum(samples []Sample) float64 {
	sum := 0.0
	for _, sm := range samples {
		sum += sm.Value
	}
	return sum
}

func TestSeedIsDeterministic(t *testing.T) {
	t.Parallel()
	users, accounts := seedUsers()
	var runs [2]struct {
		workouts []Workout
		samples  []Sample
	}
	for i := range runs {
		m := newSeedModule(t, nil, accounts)
		_, err := m.Seed(sctx, users, SeedOptions{Days: 14, Rand: rand.New(rand.NewPCG(7, 8)), Now: seedNow})
		require.NoError(t, err)
		for _, u := range users {
			require.NoError(t, m.svc.store.EachWorkout(sctx, u.UserID, time.Time{}, seedNow.Add(time.Hour), func(w *Workout) error {
				w.ID, w.UpdatedAt = "", time.Time{}
				runs[i].workouts = append(runs[i].workouts, *w)
				return nil
			}))
			runs[i].samples = append(runs[i].samples, contractStored(t, m.svc.store, u.UserID)...)
		}
	}
	require.NotEmpty(t, runs[0].samples)
	assert.Equal(t, runs[0].workouts, runs[1].workouts)
	assert.Equal(t, runs[0].samples, runs[1].samples)
}

func TestSeedRefusesBadOptions(t *testing.T) {
	t.Parallel()
	users, accounts := seedUsers()
	m := newSeedModule(t, nil, accounts)
	_, err := m.Seed(sctx, users, SeedOptions{Days: -1, Now: seedNow})
	e, ok := apperr.As(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, apperr.Invalid, e.Kind)
	assert.Equal(t, map[string]string{"rand": "is required", "days": "must not be negative"}, e.Fields)
	bad := append(users, SeedUser{UserID: "mars", Timezone: "Mars/Olympus_Mons"})
	_, err = m.Seed(sctx, bad, SeedOptions{Days: 1, Rand: rand.New(rand.NewPCG(1, 1)), Now: seedNow})
	e, ok = apperr.As(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, map[string]string{"users[5].timezone": "must be an IANA time zone"}, e.Fields)
	stats, err := m.Seed(sctx, []SeedUser{{UserID: "nobody", Timezone: "UTC"}}, SeedOptions{Days: 1, Rand: rand.New(rand.NewPCG(1, 1)), Now: seedNow})
	assert.ErrorIs(t, err, ErrUserNotFound)
	assert.Zero(t, stats)
}

// BenchmarkSeed seeds b.N users × 90 days on a SQLite file opened as
// production opens it (synchronous=FULL, one writer), and reports the rate
// and the time 10,000 users would take. Run with
//
//	go test -tags libsqlite3 -run '^$' -bench '^BenchmarkSeed$' -benchtime 200x ./modules/activity/
func BenchmarkSeed(b *testing.B) {
	users := make([]SeedUser, b.N)
	accounts := seedAccounts{}
	zones := []string{"America/New_York", "Europe/Berlin", "Asia/Kolkata", "America/Los_Angeles", "UTC"}
	for i := range users {
		id := newID()
		users[i] = SeedUser{UserID: id, Timezone: zones[i%len(zones)], SignupAt: seedNow.AddDate(-1, 0, 0)}
		accounts[id] = UserBasics{UserID: id, Timezone: users[i].Timezone}
	}
	m := newSeedModule(b, nil, accounts)
	b.ResetTimer()
	began := time.Now()
	stats, err := m.Seed(context.Background(), users, SeedOptions{Days: 90, Rand: rand.New(rand.NewPCG(1, 2)), Now: seedNow})
	elapsed := time.Since(began)
	require.NoError(b, err)
	b.ReportMetric(float64(stats.Samples)/elapsed.Seconds(), "samples/s")
	b.ReportMetric(float64(stats.Workouts)/elapsed.Seconds(), "workouts/s")
	b.ReportMetric(float64(stats.Samples)/float64(b.N), "samples/user")
	b.ReportMetric((elapsed / time.Duration(b.N) * 10_000).Minutes(), "min/10k-users")
}
