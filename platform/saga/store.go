package saga

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database"
)

// errLeaseLost means another replica took the saga over (or it is no longer
// unfinished); the driver stops without writing anything more.
var errLeaseLost = errors.New("saga: lease lost")

// instanceRow is one saga_instances row.
type instanceRow struct {
	ID             string     `gorm:"column:id;primaryKey"`
	Name           string     `gorm:"column:name"`
	Version        int        `gorm:"column:version"`
	State          State      `gorm:"column:state"`
	Step           int        `gorm:"column:step"`
	Data           string     `gorm:"column:data"`
	LastError      string     `gorm:"column:last_error"`
	Attempts       int        `gorm:"column:attempts"`
	LeaseOwner     string     `gorm:"column:lease_owner"`
	LeaseExpiresAt *time.Time `gorm:"column:lease_expires_at"`
	LeaseVersion   int64      `gorm:"column:lease_version"`
	NextAttemptAt  *time.Time `gorm:"column:next_attempt_at"`
	CreatedAt      time.Time  `gorm:"column:created_at"`
	UpdatedAt      time.Time  `gorm:"column:updated_at"`
	FinishedAt     *time.Time `gorm:"column:finished_at"`
}

// TableName is the table's name.
func (instanceRow) TableName() string { return "saga_instances" }

// stepRow is one saga_steps row: a transition of one step.
type stepRow struct {
	ID      string    `gorm:"column:id;primaryKey"`
	SagaID  string    `gorm:"column:saga_id"`
	Step    int       `gorm:"column:step"`
	Name    string    `gorm:"column:name"`
	Phase   Phase     `gorm:"column:phase"`
	Status  string    `gorm:"column:status"`
	Attempt int       `gorm:"column:attempt"`
	Error   string    `gorm:"column:error"`
	At      time.Time `gorm:"column:at"`
}

// TableName is the table's name.
func (stepRow) TableName() string { return "saga_steps" }

// Step statuses in the log.
const (
	statusStarted   = "started"
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// store reads and writes the saga tables.
type store struct {
	db txDB
}

// txDB is what the store needs of *database.DB; a test wraps it to count
// the transactions one saga costs.
type txDB interface {
	Tx(ctx context.Context, fn func(tx *gorm.DB) error) error
	Read(ctx context.Context) *gorm.DB
}

var _ txDB = (*database.DB)(nil)

// lease is a driver's claim on one instance: every write checks it.
type lease struct {
	id      string
	owner   string
	version int64
}

// create inserts a new instance — Start leases it to its own replica in the
// row itself, so no acquire follows — and its first log entries, in one
// transaction.
func (s store) create(ctx context.Context, inTx func(*gorm.DB) error, row *instanceRow, log ...stepRow) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		if inTx != nil {
			if err := inTx(tx); err != nil {
				return err
			}
		}
		if err := tx.Create(row).Error; err != nil {
			return err
		}
		return appendLog(tx, log)
	})
}

// acquire takes the lease on an unfinished instance when it is free, expired
// or already the owner's, bumping the fencing version, and returns the row.
// errLeaseLost means someone else holds it (or the saga is finished).
func (s store) acquire(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (*instanceRow, lease, error) {
	var row instanceRow
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE saga_instances
			SET lease_owner = ?, lease_expires_at = ?, lease_version = lease_version + 1
			WHERE id = ? AND state IN (?, ?)
			  AND (lease_owner = '' OR lease_owner = ? OR lease_expires_at IS NULL OR lease_expires_at < ?)`,
			owner, now.Add(ttl), id, Running, Compensating, owner, now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return errLeaseLost
		}
		return tx.Where("id = ?", id).Take(&row).Error
	})
	if err != nil {
		return nil, lease{}, fmt.Errorf("saga: acquire %s: %w", id, err)
	}
	return &row, lease{id: id, owner: owner, version: row.LeaseVersion}, nil
}

// fenced updates the instance only while l still holds it, and appends log
// entries in the same transaction.
func (s store) fenced(ctx context.Context, l lease, set map[string]any, log ...stepRow) error {
	return s.fencedEffect(ctx, l, nil, func() (map[string]any, []stepRow) { return set, log })
}

// fencedEffect is fenced with an effect: in one transaction it runs effect
// (when not nil), then writes the update and log entries that change
// returns, which may depend on what effect did. An error from effect rolls
// everything back and is returned wrapped.
func (s store) fencedEffect(ctx context.Context, l lease, effect func(tx *gorm.DB) error,
	change func() (map[string]any, []stepRow)) error {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if effect != nil {
			// Check the fence before the effect: a stale driver stops here
			// having applied nothing, and on PostgreSQL the row lock makes a
			// new owner's acquire wait until this commits or rolls back.
			if err := fence(tx, l, map[string]any{"lease_version": l.version}); err != nil {
				return err
			}
			if err := effect(tx); err != nil {
				return err
			}
		}
		set, log := change()
		if err := fence(tx, l, set); err != nil {
			return err
		}
		return appendLog(tx, log)
	})
	if err != nil {
		return fmt.Errorf("saga: save %s: %w", l.id, err)
	}
	return nil
}

// fence updates the instance in tx if l still holds it, else errLeaseLost.
func fence(tx *gorm.DB, l lease, set map[string]any) error {
	res := tx.Table("saga_instances").
		Where("id = ? AND lease_owner = ? AND lease_version = ?", l.id, l.owner, l.version).Updates(set)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return errLeaseLost
	}
	return nil
}

func appendLog(tx *gorm.DB, log []stepRow) error {
	for i := range log {
		if err := tx.Create(&log[i]).Error; err != nil {
			return err
		}
	}
	return nil
}

// renew extends the lease; errLeaseLost when it is no longer held.
func (s store) renew(ctx context.Context, l lease, until time.Time) error {
	return s.fenced(ctx, l, map[string]any{"lease_expires_at": until})
}

// resumable lists unfinished instances whose lease is free, expired or owner's.
func (s store) resumable(ctx context.Context, owner string, now time.Time, limit int) ([]string, error) {
	var ids []string
	err := s.db.Read(ctx).Table("saga_instances").
		Where("state IN (?, ?)", Running, Compensating).
		Where("lease_owner = '' OR lease_owner = ? OR lease_expires_at IS NULL OR lease_expires_at < ?", owner, now).
		Order("id").Limit(limit).Pluck("id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("saga: list resumable: %w", err)
	}
	return ids, nil
}

// countByName counts the instances in a state per definition name.
func (s store) countByName(ctx context.Context, state State) (map[string]int, error) {
	var rows []struct {
		Name string
		N    int
	}
	err := s.db.Read(ctx).Table("saga_instances").Select("name, COUNT(*) AS n").
		Where("state = ?", state).Group("name").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("saga: count %s: %w", state, err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Name] = r.N
	}
	return out, nil
}
