package users

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
)

// Seeded accounts, for `fitloop dev seed`: every one signs in with its
// email (SeedEmail) and SeedPassword. Usernames are seed-user-00001,
// seed-user-00002, …; a later run continues after the highest number
// present, so running the seed again adds new accounts beside the old ones.
const (
	SeedPassword   = "fitloop-demo-password"
	seedPrefix     = "seed-user-"
	seedEmailHost  = "example.com"
	maxSeedUsers   = 1_000_000
	maxSeedDays    = 36_500
	seedBatch      = 500 // accounts per transaction
	seedPlanners   = 16  // goals told to the planner at once: on SQLite their writes share group commits
	seedPlanPrefix = "users.seed:"
)

// SeedUsername is the username of the n-th seeded account (from 1).
func SeedUsername(n int) string { return fmt.Sprintf("%s%05d", seedPrefix, n) }

// SeedEmail is the email, to sign in with, of the n-th seeded account.
func SeedEmail(n int) string { return SeedUsername(n) + "@" + seedEmailHost }

// SeedOptions says what Seed creates. Rand (math/rand/v2, seeded by the
// caller) makes every choice, so the same seed gives the same accounts,
// goals and biometrics; ids and write times still differ between runs.
type SeedOptions struct {
	Users int // accounts to create, 0 to 1,000,000
	Days  int // signups are spread over the Days (1 to 36,500) before Now
	Rand  *rand.Rand
	Now   time.Time // the end of the signup window; zero: the module's clock
}

// SeededUser is an account Seed created.
type SeededUser struct {
	UserID, Timezone string
	SignupAt         time.Time
}

// Seed creates opts.Users accounts with realistic data for benchmarks and
// demos, straight through the store in transactions of 500 accounts: mostly
// customers and a few instructors; IANA time zones around the world,
// half-hour ones included; signups spread over the opts.Days before opts.Now,
// more of them recently; about 60% on the leaderboard; about half with
// biometrics and a weight measurement; zero to four goals each (every goal
// type, daily to total periods, each with a target date 30 days to a year
// ahead). Every account has the password SeedPassword, hashed once for all.
//
// Accounts carry their signup as created_at (and an id of that instant, so
// lists by id keep signup order) but are stamped updated_at at the write,
// like every write the change feed reports; the password is set at the
// write too, so it has its full lifetime. Goals are stored as the
// users.set_goal saga's first step stores them, then each is told to the
// Planner as its second step tells it (key "users.seed:<goal id>"), without
// a saga per goal; a goal the planner refuses is removed again, as the
// saga's compensation would, and Seed fails.
//
// It checks no caller: it is for the CLI, never routed. A run continues
// the numbering after the highest seeded username present; a batch whose
// names another run took meanwhile fails (Conflict seed_conflict) rather
// than mix. On an error, the accounts written before it are returned with
// it. Errors: Invalid (options), Conflict.
func (m *Module) Seed(ctx context.Context, opts SeedOptions) ([]SeededUser, error) {
	return m.svc.seed(ctx, opts)
}

func (s *service) seed(ctx context.Context, opts SeedOptions) ([]SeededUser, error) {
	v := apperr.Validation{}
	v.Check(opts.Users >= 0 && opts.Users <= maxSeedUsers, "users", "must be from 0 to 1,000,000")
	v.Check(opts.Days >= 1 && opts.Days <= maxSeedDays, "days", "must be from 1 to 36,500")
	v.Check(opts.Rand != nil, "rand", "is required")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if opts.Now.IsZero() {
		opts.Now = s.clock()
	}
	zones, err := seedLocations()
	if err != nil {
		return nil, err
	}
	// One hash for every account: argon2id per account would take minutes.
	hash, err := auth.HashPassword(SeedPassword)
	if err != nil {
		return nil, err
	}
	first, err := s.store.nextSeedNumber(s.db.Read(ctx))
	if err != nil {
		return nil, err
	}
	// Planned a batch at a time, in order: the same choices as all at once,
	// without holding a million accounts' plans.
	out := make([]SeededUser, 0, opts.Users)
	for from := 0; from < opts.Users; from += seedBatch {
		plan := planSeed(opts.Rand, min(seedBatch, opts.Users-from), opts.Days, opts.Now.UTC(), zones)
		batch := seedRowsOf(plan, first+from, hash)
		if err := s.writeSeedBatch(ctx, batch); err != nil {
			return out, fmt.Errorf("users: seed %s and on: %w", batch.accounts[0].Username, err)
		}
		for _, a := range batch.accounts {
			out = append(out, SeededUser{UserID: a.ID, Timezone: a.Timezone, SignupAt: a.CreatedAt})
		}
		if err := s.planSeededGoals(ctx, batch.goals); err != nil {
			return out, err
		}
	}
	return out, nil
}

// seedLocations loads every seed zone, so a system without the time zone
// database fails before anything is written.
func seedLocations() (map[string]*time.Location, error) {
	zones := make(map[string]*time.Location, len(seedZones))
	for _, z := range seedZones {
		loc, err := time.LoadLocation(z.v)
		if err != nil {
			return nil, fmt.Errorf("users: seed: time zone %s (is the tz database installed?): %w", z.v, err)
		}
		zones[z.v] = loc
	}
	return zones, nil
}

// seedRows are one batch's rows, ready to insert.
type seedRows struct {
	accounts []accountRow
	creds    []credentialRow
	bios     []biometricsRow
	weights  []weightRow
	goals    []goalRow
}

// seedRowsOf turns planned accounts into rows, numbering them from n. Write
// times (updated_at, the credential's) are left for the transaction.
func seedRowsOf(plan []seedAccount, n int, hash string) *seedRows {
	rows := &seedRows{}
	for i, p := range plan {
		a := accountRow{ID: idAt(p.signup), Username: SeedUsername(n + i), Email: SeedEmail(n + i), Role: p.role,
			DisplayName: p.displayName, Timezone: p.timezone, Units: p.units, QuietHoursStart: p.quietStart,
			QuietHoursEnd: p.quietEnd, LeaderboardOptIn: p.optIn, CreatedAt: p.signup}
		rows.accounts = append(rows.accounts, a)
		rows.creds = append(rows.creds, credentialRow{ID: newID(), UserID: a.ID, PasswordHash: hash})
		if b := p.bio; b != nil {
			height, weight, birth, sex := b.heightCM, b.weightKG, b.birth, b.sex
			rows.bios = append(rows.bios, biometricsRow{UserID: a.ID, HeightCM: &height, WeightKG: &weight,
				BirthDate: &birth, Sex: &sex, UpdatedAt: b.measuredAt})
			rows.weights = append(rows.weights, weightRow{ID: idAt(b.measuredAt), UserID: a.ID, WeightKG: weight,
				MeasuredAt: b.measuredAt})
		}
		for _, g := range p.goals {
			rows.goals = append(rows.goals, goalRow{ID: idAt(g.createdAt), UserID: a.ID, GoalType: g.goalType,
				TargetValue: g.target, TargetDate: g.targetDate, Period: g.period, Status: "active", CreatedAt: g.createdAt})
		}
	}
	return rows
}

// writeSeedBatch inserts a batch in one transaction, stamped with the
// module's clock inside it (see changes.go).
func (s *service) writeSeedBatch(ctx context.Context, rows *seedRows) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		for i := range rows.accounts {
			rows.accounts[i].UpdatedAt = now
		}
		for i := range rows.creds {
			rows.creds[i].CreatedAt, rows.creds[i].ExpiresAt = now, now.Add(s.cfg.PasswordMaxAge)
		}
		for i := range rows.goals {
			rows.goals[i].UpdatedAt = now
		}
		return s.store.createSeed(tx, rows)
	})
}

// planSeededGoals tells the planner about goals, seedPlanners at a time. The
// goals it refused are deleted (leaving tombstones), and the first refusal
// is returned.
func (s *service) planSeededGoals(ctx context.Context, goals []goalRow) error {
	errs := make([]error, len(goals))
	next := make(chan int)
	var wg sync.WaitGroup
	for range seedPlanners {
		wg.Go(func() {
			for i := range next {
				g := &goals[i]
				errs[i] = s.planner.GoalSet(ctx, seedPlanPrefix+g.ID, PlannedGoal{GoalID: g.ID, UserID: g.UserID,
					GoalType: g.GoalType, TargetValue: g.TargetValue, TargetDate: g.TargetDate.Format(time.DateOnly),
					Period: g.Period})
			}
		})
	}
	for i := range goals {
		next <- i
	}
	close(next)
	wg.Wait()
	var refused []string
	var first error
	for i, err := range errs {
		if err != nil {
			refused = append(refused, goals[i].ID)
			first = cmp.Or(first, err)
		}
	}
	if first == nil {
		return nil
	}
	// The removal must happen even when ctx ended (which may be why the
	// planner failed): a goal the planner never took must not stay.
	undo := context.WithoutCancel(ctx)
	err := s.db.Tx(undo, func(tx *gorm.DB) error {
		_, err := s.store.deleteGoals(tx, s.clock(), "id IN ?", refused)
		return err
	})
	return errors.Join(fmt.Errorf("users: seed: the planner refused %d goals: %w", len(refused), first), err)
}

// idAt is a UUIDv7 whose time is t instead of now, so rows seeded with a
// past creation time sort by id where the module's lists expect creation
// order. Its random bits keep it unique.
func idAt(t time.Time) string {
	id := uuid.Must(uuid.NewV7())
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		id[i] = byte(ms >> (40 - 8*i))
	}
	return id.String()
}

// nextSeedNumber is the number after the highest seeded username (1 when
// there is none). Names that only look seeded (seed-user-abc) are skipped.
func (s *store) nextSeedNumber(q *gorm.DB) (int, error) {
	var names []string
	if err := q.Model(&accountRow{}).Where("username LIKE ?", seedPrefix+"%").Pluck("username", &names).Error; err != nil {
		return 0, translate(err, nil)
	}
	highest := 0
	for _, name := range names {
		if n, err := strconv.Atoi(strings.TrimPrefix(name, seedPrefix)); err == nil && n > highest {
			highest = n
		}
	}
	return highest + 1, nil
}

// createSeed inserts a batch of seeded rows in the caller's transaction,
// after checking that no account holds their usernames or emails: the
// numbering was read before, and another seed may have taken it since.
func (s *store) createSeed(tx *gorm.DB, rows *seedRows) error {
	names, emails := make([]string, len(rows.accounts)), make([]string, len(rows.accounts))
	for i, a := range rows.accounts {
		names[i], emails[i] = a.Username, a.Email
	}
	var taken int64
	if err := tx.Model(&accountRow{}).Where("username IN ? OR email IN ?", names, emails).Count(&taken).Error; err != nil {
		return translate(err, nil)
	}
	if taken > 0 {
		return apperr.E(apperr.Conflict, "seed_conflict", fmt.Sprintf(
			"%d of the accounts %s to %s exist already: is another seed running? Run it again.", taken, names[0], names[len(names)-1]))
	}
	if err := createChunks(tx, rows.accounts); err != nil {
		return err
	}
	if err := createChunks(tx, rows.creds); err != nil {
		return err
	}
	if err := createChunks(tx, rows.bios); err != nil {
		return err
	}
	if err := createChunks(tx, rows.weights); err != nil {
		return err
	}
	return createChunks(tx, rows.goals)
}

// createChunks inserts rows, 100 per statement (well under both dialects'
// parameter limits); none is nothing to do (gorm refuses an empty slice).
func createChunks[T any](tx *gorm.DB, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	return translate(tx.CreateInBatches(rows, 100).Error, nil)
}
