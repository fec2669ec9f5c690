package etl

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/breaker"
	"github.com/fitloop/fitloop/platform/changefeed"
	"github.com/fitloop/fitloop/platform/database"
)

// Loader defaults.
const (
	DefaultBatch = 5000            // changes read and written per transaction
	DefaultLag   = 5 * time.Minute // how far before its watermark a run re-reads a feed
	MaxBatch     = changefeed.MaxLimit
)

// Source names: the keys of etl_watermarks and of a run's statistics.
const (
	SourceUsers    = "users"
	SourceWorkouts = "workouts"
)

// Loader runs loads into the warehouse.
type Loader struct {
	wh       *database.DB
	breaker  *breaker.Breaker // nil: calls unguarded
	users    Users
	workouts Workouts
	key      []byte
	batch    int
	lag      time.Duration
	now      func() time.Time
	// crash, set by tests, fails a batch after its rows are written and
	// before its transaction commits, as a process dying mid-run would.
	crash func(source string) error
}

// LoaderDeps is what a Loader needs.
type LoaderDeps struct {
	Warehouse    *database.DB     // migrated (OpenWarehouse)
	Breaker      *breaker.Breaker // around every warehouse call; nil: none
	Users        Users
	Workouts     Workouts
	PseudonymKey []byte           // the users' pseudonyms' key; at least 16 bytes
	Batch        int              // DefaultBatch when 0
	Lag          time.Duration    // DefaultLag when 0; negative: none
	Now          func() time.Time // time.Now when nil
}

// NewLoader checks deps and returns a Loader.
func NewLoader(d LoaderDeps) (*Loader, error) {
	switch {
	case d.Warehouse == nil || d.Users == nil || d.Workouts == nil:
		return nil, errors.New("etl: the loader needs a warehouse, users and workouts")
	case len(d.PseudonymKey) < 16:
		return nil, errors.New("etl: the pseudonym key must be at least 16 bytes")
	case d.Batch < 0 || d.Batch > MaxBatch:
		return nil, fmt.Errorf("etl: batch must be 1 to %d", MaxBatch)
	}
	l := &Loader{wh: d.Warehouse, breaker: d.Breaker, users: d.Users, workouts: d.Workouts, key: d.PseudonymKey,
		batch: d.Batch, lag: d.Lag, now: d.Now}
	if l.batch == 0 {
		l.batch = DefaultBatch
	}
	if l.lag == 0 {
		l.lag = DefaultLag
	}
	l.lag = max(l.lag, 0)
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

// Counts are one table's rows in a run.
type Counts struct {
	Read    int `json:"read"`
	Written int `json:"written"` // upserted or deleted
}

// Stats are what a run did, by source, and where it left each feed.
type Stats struct {
	Tables     map[string]*Counts `json:"tables"`
	Watermarks map[string]Cursor  `json:"watermarks"`
	// Reread: an account came back after being taken out, so the fact
	// feeds were read again from the start.
	Reread bool `json:"reread,omitempty"`
}

func (s *Stats) table(name string) *Counts {
	if s.Tables[name] == nil {
		s.Tables[name] = &Counts{}
	}
	return s.Tables[name]
}

// Run loads what changed since the last run, source by source (users
// first, so facts find their user's time zone). With full, it empties the
// warehouse and loads everything again, in one transaction per batch like
// any run: a crash midway leaves a consistent, partly loaded warehouse
// that the next run completes.
func (l *Loader) Run(ctx context.Context, full bool) (*Stats, error) {
	st := &Stats{Tables: map[string]*Counts{}, Watermarks: map[string]Cursor{}}
	if full {
		if err := l.reset(ctx); err != nil {
			return st, err
		}
	}
	if err := pump(ctx, l, st, SourceUsers, l.users.UserChanges,
		func(c UserChange) Cursor { return Cursor{At: c.ChangedAt, ID: c.UserID} }, l.applyUsers); err != nil {
		return st, err
	}
	if err := pump(ctx, l, st, SourceWorkouts, l.workouts.WorkoutChanges,
		func(c WorkoutChange) Cursor { return Cursor{At: c.ChangedAt, ID: c.ID} }, l.applyWorkouts); err != nil {
		return st, err
	}
	return st, nil
}

// reset empties the warehouse's tables and watermarks in one transaction.
func (l *Loader) reset(ctx context.Context) error {
	return l.tx(ctx, func(tx *gorm.DB) error {
		for _, t := range append(slices.Clone(factTables), "dim_user", "dim_workout_type", "etl_watermarks", "etl_erased_users") {
			if err := tx.Exec("DELETE FROM " + t).Error; err != nil {
				return fmt.Errorf("etl: empty %s: %w", t, err)
			}
		}
		return nil
	})
}

// pump moves one feed into the warehouse: batch by batch from a lag window
// before its watermark, each batch applied and the watermark moved in one
// transaction.
func pump[T any](ctx context.Context, l *Loader, st *Stats, source string,
	fetch func(context.Context, Cursor, int) ([]T, error), cursor func(T) Cursor,
	apply func(*gorm.DB, []T, *Stats) error) error {
	mark, err := l.watermark(ctx, source)
	if err != nil {
		return err
	}
	from := mark
	if l.lag > 0 && !mark.At.IsZero() {
		from = Cursor{At: mark.At.Add(-l.lag)}
	}
	for {
		rows, err := fetch(ctx, from, l.batch)
		if err != nil {
			return fmt.Errorf("etl: read %s: %w", source, err)
		}
		if len(rows) == 0 {
			break
		}
		last := cursor(rows[len(rows)-1])
		err = l.tx(ctx, func(tx *gorm.DB) error {
			if err := apply(tx, rows, st); err != nil {
				return err
			}
			if l.crash != nil {
				if err := l.crash(source); err != nil {
					return err // the batch's rows were written: the transaction takes them back
				}
			}
			if !last.After(mark) {
				return nil // re-read inside the lag window: the watermark stays
			}
			return tx.Clauses(clause.OnConflict{UpdateAll: true}).
				Create(&watermarkRow{Source: source, ChangedAt: last.At.UTC(), ID: last.ID, UpdatedAt: l.now().UTC()}).Error
		})
		if err != nil {
			return fmt.Errorf("etl: load %s: %w", source, err)
		}
		if last.After(mark) {
			mark = last
		}
		from = last
		if len(rows) < l.batch {
			break
		}
	}
	if !mark.At.IsZero() {
		st.Watermarks[source] = mark
	}
	return nil
}

// ErrWarehouseUnavailable answers while the warehouse's breaker is open.
var ErrWarehouseUnavailable = apperr.E(apperr.Unavailable, "warehouse_unavailable",
	"The reporting warehouse is unavailable; try again later.")

// guard runs a warehouse call through the breaker: while the warehouse is
// down, calls fail at once instead of each waiting for a time-out.
func (l *Loader) guard(ctx context.Context, fn func(context.Context) error) error {
	if l.breaker == nil {
		return fn(ctx)
	}
	err := l.breaker.Do(ctx, fn)
	if errors.Is(err, breaker.ErrOpen) {
		return fmt.Errorf("%w: %w", ErrWarehouseUnavailable, err)
	}
	return err
}

// tx is one guarded warehouse transaction.
func (l *Loader) tx(ctx context.Context, fn func(*gorm.DB) error) error {
	return l.guard(ctx, func(ctx context.Context) error { return l.wh.Tx(ctx, fn) })
}

// available reports whether the warehouse's breaker lets calls through.
func (l *Loader) available() bool { return l.breaker == nil || l.breaker.State() != breaker.StateOpen }

// watermark returns how far source has been loaded (zero: not yet).
func (l *Loader) watermark(ctx context.Context, source string) (Cursor, error) {
	var w watermarkRow
	err := l.guard(ctx, func(ctx context.Context) error {
		return l.wh.Read(ctx).Where("source = ?", source).Limit(1).Find(&w).Error
	})
	if err != nil {
		return Cursor{}, fmt.Errorf("etl: read the %s watermark: %w", source, err)
	}
	return Cursor{At: w.ChangedAt, ID: w.ID}, nil
}

// applyUsers upserts dim_user and takes erased users out with their facts.
func (l *Loader) applyUsers(tx *gorm.DB, rows []UserChange, st *Stats) error {
	c := st.table("dim_user")
	c.Read += len(rows)
	var keep []dimUser
	var gone, back []string
	for _, u := range rows {
		key := pseudonym(l.key, u.UserID)
		if u.Deleted {
			gone = append(gone, key)
			continue
		}
		back = append(back, key) // if erased here: a closing that was undone
		keep = append(keep, dimUser{UserKey: key, Role: u.Role, SignupDate: dateKey(inZone(u.SignupAt, u.Timezone)),
			Timezone: u.Timezone, ChangedAt: u.ChangedAt.UTC()})
	}
	if len(keep) > 0 {
		moved, err := movedZones(tx, keep)
		if err != nil {
			return err
		}
		// leaderboard_opt_in is not in the feed yet; an upsert keeps it.
		err = tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "user_key"}},
			DoUpdates: clause.AssignmentColumns([]string{"role", "signup_date", "timezone", "changed_at"})}).
			CreateInBatches(keep, 500).Error
		if err != nil {
			return err
		}
		c.Written += len(keep)
		for _, u := range moved {
			if err := redate(tx, u, st); err != nil {
				return err
			}
		}
	}
	if len(back) > 0 {
		res := tx.Exec("DELETE FROM etl_erased_users WHERE user_key IN ?", back)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected > 0 {
			// The feed reports a closed account as deleted, and a failed
			// erasure reopens it: its facts, taken out, come back only by
			// reading the fact feeds again from the start (idempotently).
			// Rare, so simple.
			if err := tx.Exec("DELETE FROM etl_watermarks WHERE source <> ?", SourceUsers).Error; err != nil {
				return err
			}
			st.Reread = true
		}
	}
	if len(gone) > 0 {
		erased := make([]erasedUser, len(gone))
		for i, k := range gone {
			erased[i] = erasedUser{UserKey: k, ErasedAt: l.now().UTC()}
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(erased, 500).Error; err != nil {
			return err
		}
		for _, t := range factTables {
			res := tx.Exec("DELETE FROM "+t+" WHERE user_key IN ?", gone)
			if res.Error != nil {
				return res.Error
			}
			st.table(t).Written += int(res.RowsAffected)
		}
		res := tx.Exec("DELETE FROM dim_user WHERE user_key IN ?", gone)
		if res.Error != nil {
			return res.Error
		}
		c.Written += int(res.RowsAffected)
	}
	return nil
}

// movedZones are the users among keep whose time zone differs from the
// one their facts were dated in: dim_user's, or UTC for a user not loaded
// yet.
func movedZones(tx *gorm.DB, keep []dimUser) ([]dimUser, error) {
	keys := make([]string, len(keep))
	for i, u := range keep {
		keys[i] = u.UserKey
	}
	var old []dimUser
	if err := tx.Select("user_key", "timezone").Where("user_key IN ?", keys).Find(&old).Error; err != nil {
		return nil, err
	}
	was := make(map[string]string, len(old))
	for _, u := range old {
		was[u.UserKey] = u.Timezone
	}
	var moved []dimUser
	for _, u := range keep {
		before, ok := was[u.UserKey]
		if !ok {
			before = "UTC"
		}
		if zoneOf(before) != zoneOf(u.Timezone) {
			moved = append(moved, u)
		}
	}
	return moved, nil
}

// redate dates a user's facts again in their time zone, which changed:
// facts are dated by the user's local day as it is now, whenever they were
// loaded. Rare (a move, or facts loaded before their user), so row by row.
func redate(tx *gorm.DB, u dimUser, st *Stats) error {
	var facts []factWorkout
	if err := tx.Select("workout_id", "start_time").Where("user_key = ?", u.UserKey).Find(&facts).Error; err != nil {
		return err
	}
	loc := zoneOf(u.Timezone)
	dates := map[int]dimDate{}
	for _, f := range facts {
		d := dateRow(f.StartTime.In(loc))
		dates[d.DateKey] = d
		if err := tx.Model(&factWorkout{}).Where("workout_id = ?", f.WorkoutID).Update("date_key", d.DateKey).Error; err != nil {
			return err
		}
	}
	st.table("fact_workouts").Written += len(facts)
	return upsertDims(tx, dates, nil)
}

// zoneOf is the named zone, or UTC when the name is unknown.
func zoneOf(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

// applyWorkouts upserts fact_workouts, dated by the user's local day, and
// deletes the tombstoned ones.
func (l *Loader) applyWorkouts(tx *gorm.DB, rows []WorkoutChange, st *Stats) error {
	c := st.table("fact_workouts")
	c.Read += len(rows)
	zones, erased, err := l.batchUsers(tx, rows)
	if err != nil {
		return err
	}
	facts := make([]factWorkout, 0, len(rows))
	dates := map[int]dimDate{}
	types := map[string]bool{}
	var gone []string
	for _, w := range rows {
		if w.Deleted {
			gone = append(gone, w.ID)
			continue
		}
		key := pseudonym(l.key, w.UserID)
		if erased[key] {
			continue // read after its user's erasure: stays out
		}
		local := w.StartTime.In(zones[key])
		d := dateRow(local)
		dates[d.DateKey] = d
		types[w.WorkoutType] = true
		f := factWorkout{WorkoutID: w.ID, UserKey: key, DateKey: d.DateKey, WorkoutType: w.WorkoutType,
			StartTime: w.StartTime.UTC(), DurationS: w.Duration, CaloriesBurned: w.CaloriesBurned,
			DistanceKM: w.DistanceKM, AvgHeartRate: w.AvgHeartRate, Source: w.Source, ChangedAt: w.ChangedAt.UTC()}
		if w.EndTime != nil {
			end := w.EndTime.UTC()
			f.EndTime = &end
		}
		facts = append(facts, f)
	}
	if err := upsertDims(tx, dates, types); err != nil {
		return err
	}
	if len(facts) > 0 {
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).CreateInBatches(facts, 500).Error; err != nil {
			return err
		}
		c.Written += len(facts)
	}
	if len(gone) > 0 {
		res := tx.Exec("DELETE FROM fact_workouts WHERE workout_id IN ?", gone)
		if res.Error != nil {
			return res.Error
		}
		c.Written += int(res.RowsAffected)
	}
	return nil
}

// batchUsers finds the time zones of the batch's users in dim_user (UTC for a
// user not loaded yet) and which of them were erased.
func (l *Loader) batchUsers(tx *gorm.DB, rows []WorkoutChange) (map[string]*time.Location, map[string]bool, error) {
	set := map[string]bool{}
	for _, w := range rows {
		set[pseudonym(l.key, w.UserID)] = true
	}
	keys := slices.Collect(maps.Keys(set))
	var users []dimUser
	if err := tx.Select("user_key", "timezone").Where("user_key IN ?", keys).Find(&users).Error; err != nil {
		return nil, nil, err
	}
	var gone []string
	if err := tx.Model(&erasedUser{}).Where("user_key IN ?", keys).Pluck("user_key", &gone).Error; err != nil {
		return nil, nil, err
	}
	zones := make(map[string]*time.Location, len(keys))
	for _, k := range keys {
		zones[k] = time.UTC
	}
	for _, u := range users {
		zones[u.UserKey] = zoneOf(u.Timezone)
	}
	erased := make(map[string]bool, len(gone))
	for _, k := range gone {
		erased[k] = true
	}
	return zones, erased, nil
}

// upsertDims adds the dates and workout types a batch refers to.
func upsertDims(tx *gorm.DB, dates map[int]dimDate, types map[string]bool) error {
	if len(dates) > 0 {
		rows := slices.Collect(maps.Values(dates))
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
			return err
		}
	}
	if len(types) > 0 {
		rows := make([]dimWorkoutType, 0, len(types))
		for t := range types {
			rows = append(rows, dimWorkoutType{WorkoutType: t})
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
			return err
		}
	}
	return nil
}

// inZone is t in the named zone, or in UTC when the name is unknown.
func inZone(t time.Time, zone string) time.Time { return t.In(zoneOf(zone)) }
