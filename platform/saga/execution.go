package saga

import (
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Execution is what a step's Action or Compensate gets: which saga and step
// it runs for, the idempotency key, and the saga's data. Data set with
// SetData is saved together with the step's outcome, so the next step (or a
// resumed run) sees it.
type Execution struct {
	sagaID string
	saga   string
	step   string
	index  int
	phase  Phase
	data   json.RawMessage
}

// SagaID returns the saga instance's id.
func (e *Execution) SagaID() string { return e.sagaID }

// Saga returns the definition's name.
func (e *Execution) Saga() string { return e.saga }

// Step returns the running step's name.
func (e *Execution) Step() string { return e.step }

// Index returns the running step's position, from 0.
func (e *Execution) Index() int { return e.index }

// Phase says whether the action or the compensation runs.
func (e *Execution) Phase() Phase { return e.phase }

// Key returns the step's idempotency key, "saga_id:step", the same for
// every run of the step. Compensations that need their own key use
// Key()+":compensate" (see CompensationKey).
func (e *Execution) Key() string { return e.sagaID + ":" + e.step }

// CompensationKey returns the idempotency key of the step's compensation.
func (e *Execution) CompensationKey() string { return e.Key() + ":compensate" }

// Data decodes the saga's JSON data into v.
func (e *Execution) Data(v any) error {
	if err := json.Unmarshal(e.data, v); err != nil {
		return fmt.Errorf("saga: %s: decode data: %w", e.saga, err)
	}
	return nil
}

// SetData replaces the saga's data with v encoded as JSON; it is persisted
// with the step's outcome (and dropped if the step fails).
func (e *Execution) SetData(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("saga: %s: encode data: %w", e.saga, err)
	}
	e.data = raw
	return nil
}

// Once records an idempotency key in saga_effects inside tx and reports
// whether this is its first use. A step applies its local effect in the
// same transaction only when Once answers true, so a step run again after a
// crash changes nothing:
//
//	return db.Tx(ctx, func(tx *gorm.DB) error {
//		first, err := saga.Once(tx, ex.Key())
//		if err != nil || !first {
//			return err
//		}
//		return insertGoal(tx, goal)
//	})
//
// A step whose whole effect is such a local write is simpler and cheaper as
// a Step.TxAction, which commits with the step's record and needs no key.
func Once(tx *gorm.DB, key string) (bool, error) {
	res := tx.Exec(`INSERT INTO saga_effects (idem_key, created_at) VALUES (?, ?) ON CONFLICT (idem_key) DO NOTHING`,
		key, time.Now().UTC())
	if res.Error != nil {
		return false, fmt.Errorf("saga: record effect %s: %w", key, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// Applied reports whether Once has recorded key (read with tx or any handle).
func Applied(db *gorm.DB, key string) (bool, error) {
	var n int64
	if err := db.Table("saga_effects").Where("idem_key = ?", key).Count(&n).Error; err != nil {
		return false, fmt.Errorf("saga: look up effect %s: %w", key, err)
	}
	return n > 0, nil
}
