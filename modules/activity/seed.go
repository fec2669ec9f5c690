package activity

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
)

// SeedUser is an account to seed data for (the users module created it).
type SeedUser struct {
	UserID   string
	Timezone string // IANA name: days are cut in it
	SignupAt time.Time
}

// SeedOptions control Seed.
type SeedOptions struct {
	// Days is how many days of data each user gets, the last one the day
	// that holds Now in the user's time zone.
	Days int
	// Rand drives every choice; the same seed gives the same data (workout
	// ids and updated_at aside). Required.
	Rand *rand.Rand
	// Now ends the data: nothing is recorded after it. Zero: the module's
	// clock.
	Now time.Time
	// Progress, when set, is called after each user with the number of
	// users done so far, one call at a time.
	Progress func(done, total int)
}

// SeedStats counts what Seed stored.
type SeedStats struct {
	Workouts int
	Samples  int // accepted by the store: a sample seeded before is not counted again
}

// How many users Seed makes up at once, and how many writes each has in
// flight. On SQLite every write goes to the one writer, which commits the
// writes waiting for it together (up to database.group_commit_max, 256 by
// default): the more in flight, the fewer fsyncs per workout. See
// BenchmarkSeed.
const (
	seedParallelUsers  = 8
	seedParallelWrites = 32
)

// Seed writes realistic demo and benchmark data for users: for each, opts.Days
// days ending at opts.Now in the user's time zone, nothing before their
// signup. A user gets hourly step samples over waking hours (weekends
// differ from weekdays; each user has their own activity level); 0–2
// workouts a day of a few favourite types from the catalog, with durations,
// distances and heart rates that fit the type (a few users never work out);
// per-minute heart_rate samples over each workout (warm-up, plateau,
// cool-down) whose mean is the workout's avg_heart_rate; a calories_burned,
// active_minutes and, for distance types, distance_km sample at the end of
// each workout; and now and then a morning weight_kg sample. Calories use the
// account's weight as a logged workout's do (Users.Basics).
//
// Everything goes through the Store, so rollups, versions and the change
// feed stay consistent on every backend. Goals are not checked as data
// arrives: the hourly GoalAlertsJob announces the ones reached. Users are
// seeded concurrently; each user's data depends only on opts.Rand, the
// user's place in users, time zone and signup, and the account's weight.
//
// It checks no caller: it is for the CLI, never routed. On an error Seed
// stops and returns what it stored so far with the error. Errors: Invalid
// (options, a user's time zone), NotFound (user_not_found from Users).
func (m *Module) Seed(ctx context.Context, users []SeedUser, opts SeedOptions) (SeedStats, error) {
	jobs, err := seedJobs(users, opts)
	if err != nil {
		return SeedStats{}, err
	}
	now := opts.Now
	if now.IsZero() {
		now = m.svc.clock()
	}
	s := &seeder{svc: m.svc, days: opts.Days, now: now.UTC().Truncate(time.Second), progress: opts.Progress,
		total: len(jobs)}
	return s.run(ctx, jobs)
}

// seedJob is one user with its own random source, drawn from the caller's
// in user order, so the data does not depend on which worker seeds it.
type seedJob struct {
	user SeedUser
	loc  *time.Location
	rng  *rand.Rand
}

func seedJobs(users []SeedUser, opts SeedOptions) ([]seedJob, error) {
	v := apperr.Validation{}
	v.Check(opts.Rand != nil, "rand", "is required")
	v.Check(opts.Days >= 0, "days", "must not be negative")
	locs := map[string]*time.Location{}
	for i, u := range users {
		if _, ok := locs[u.Timezone]; !ok {
			loc, err := time.LoadLocation(u.Timezone)
			v.Check(err == nil, fmt.Sprintf("users[%d].timezone", i), "must be an IANA time zone")
			locs[u.Timezone] = loc
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	jobs := make([]seedJob, len(users))
	for i, u := range users {
		jobs[i] = seedJob{user: u, loc: locs[u.Timezone], rng: rand.New(rand.NewPCG(opts.Rand.Uint64(), opts.Rand.Uint64()))}
	}
	return jobs, nil
}

// seeder runs one Seed call.
type seeder struct {
	svc      *service
	days     int
	now      time.Time
	progress func(done, total int)

	mu    sync.Mutex // guards stats and done, and serializes progress
	stats SeedStats
	done  int
	total int
}

func (s *seeder) run(ctx context.Context, jobs []seedJob) (SeedStats, error) {
	err := seedEach(ctx, len(jobs), seedParallelUsers, func(ctx context.Context, i int) error {
		return s.user(ctx, jobs[i])
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats, err
}

// user generates one user's data and stores it: the workouts (the Store
// creates one at a time) and the samples, in batches as large as the
// service accepts, each in the store's order so that it need not sort them.
func (s *seeder) user(ctx context.Context, job seedJob) error {
	u, err := s.svc.users.Basics(ctx, job.user.UserID)
	if err != nil {
		return fmt.Errorf("activity: seed: user %s: %w", job.user.UserID, err)
	}
	g := newSeedGen(job.rng, job.loc, job.user.SignupAt.UTC(), s.now, u.WeightKG)
	g.run(s.days)
	batches := slices.Collect(slices.Chunk(g.sorted(), s.svc.maxSamples))
	var workouts, samples atomic.Int64
	err = seedEach(ctx, len(g.workouts)+len(batches), seedParallelWrites, func(ctx context.Context, i int) error {
		if i < len(g.workouts) {
			w := g.workouts[i]
			w.ID, w.UserID, w.UpdatedAt = newID(), job.user.UserID, s.svc.clock()
			if err := s.svc.store.CreateWorkout(ctx, w); err != nil {
				return err
			}
			workouts.Add(1)
			return nil
		}
		n, _, err := s.svc.store.AddSamples(ctx, job.user.UserID, batches[i-len(g.workouts)])
		samples.Add(int64(n))
		return err
	})
	s.add(int(workouts.Load()), int(samples.Load()), err == nil)
	if err != nil {
		return fmt.Errorf("activity: seed: user %s: %w", job.user.UserID, err)
	}
	return nil
}

// seedEach calls fn for 0 to n-1 on at most workers goroutines and returns
// the first error (or the end of ctx); after an error no new call starts.
func seedEach(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// add counts what a user's writes stored, and the user if it is done.
func (s *seeder) add(workouts, samples int, done bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Workouts += workouts
	s.stats.Samples += samples
	if done {
		s.done++
		if s.progress != nil {
			s.progress(s.done, s.total)
		}
	}
}
