package idempotency

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/cron"
	"github.com/fitloop/fitloop/platform/database"
)

// States of a key.
const (
	stateInFlight = "in_flight"
	stateDone     = "done"
)

// abandonAfter is how long an in-flight key may stay so before it is taken
// over: its request's replica died before storing the answer. HTTP server
// timeouts end every live request long before.
const abandonAfter = 5 * time.Minute

// record is one row of idempotency_keys.
//
// CreatedAt is also the claim's fencing token: a claim taken over after
// abandonAfter gets a new one, so complete and release, which match it, can
// no longer touch the row once the key has a new owner. It must therefore
// come back from the database exactly as it was written: newRecord keeps it
// in UTC (SQLite stores times as text with their offset, and compares them as
// text) at microsecond precision (PostgreSQL's).
type record struct {
	UserID       string
	Method       string
	Route        string
	IdemKey      string
	RequestHash  string
	State        string
	Status       int
	ResponseBody []byte
	ContentType  string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// TableName is the keys table.
func (record) TableName() string { return "idempotency_keys" }

func (r *record) scope(tx *gorm.DB) *gorm.DB {
	return tx.Model(&record{}).Where("user_id = ? AND method = ? AND route = ? AND idem_key = ?",
		r.UserID, r.Method, r.Route, r.IdemKey)
}

// claim inserts rec as in flight, or takes over the key's row when it has
// expired or was abandoned. It returns nil when rec now owns the key, else
// the row that holds it. The claim commits before the handler runs, so a
// concurrent duplicate on any replica sees it.
func claim(ctx context.Context, db *database.DB, rec *record) (*record, error) {
	var held *record
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		held = nil
		res := tx.Exec(`INSERT INTO idempotency_keys
			(user_id, method, route, idem_key, request_hash, state, status, content_type, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, 0, '', ?, ?)
			ON CONFLICT (user_id, method, route, idem_key) DO NOTHING`,
			rec.UserID, rec.Method, rec.Route, rec.IdemKey, rec.RequestHash, stateInFlight, rec.CreatedAt, rec.ExpiresAt)
		if res.Error != nil || res.RowsAffected == 1 {
			return res.Error
		}
		res = rec.scope(tx).Where("expires_at <= ? OR (state = ? AND created_at <= ?)",
			rec.CreatedAt, stateInFlight, rec.CreatedAt.Add(-abandonAfter)).
			Updates(map[string]any{"request_hash": rec.RequestHash, "state": stateInFlight, "status": 0,
				"response_body": nil, "content_type": "", "created_at": rec.CreatedAt, "expires_at": rec.ExpiresAt})
		if res.Error != nil || res.RowsAffected == 1 {
			return res.Error
		}
		var cur record
		if err := rec.scope(tx).Take(&cur).Error; err != nil {
			return err // not found: removed meanwhile by a failed request; the client retries
		}
		held = &cur
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("idempotency: claim key: %w", err)
	}
	return held, nil
}

// owned narrows scope to rec's own in-flight claim: the same request, and the
// claim's fencing token, so a request whose key was taken over while it ran
// (its replica seemed dead) cannot change the new owner's row.
func (r *record) owned(tx *gorm.DB) *gorm.DB {
	return r.scope(tx).Where("request_hash = ? AND state = ? AND created_at = ?",
		r.RequestHash, stateInFlight, r.CreatedAt)
}

// complete stores the answer of rec's request, unless the key has another
// owner by now.
func complete(ctx context.Context, db *database.DB, rec *record) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		return rec.owned(tx).Updates(map[string]any{"state": stateDone, "status": rec.Status,
			"response_body": rec.ResponseBody, "content_type": rec.ContentType}).Error
	})
	if err != nil {
		return fmt.Errorf("idempotency: store answer: %w", err)
	}
	return nil
}

// release deletes rec's in-flight claim so the client may retry, unless the
// key has another owner by now.
func release(ctx context.Context, db *database.DB, rec *record) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		return rec.owned(tx).Delete(&record{}).Error
	})
	if err != nil {
		return fmt.Errorf("idempotency: release key: %w", err)
	}
	return nil
}

// Cleanup deletes the keys that expired at or before now and reports how many.
func Cleanup(ctx context.Context, db *database.DB, now time.Time) (int64, error) {
	var n int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("expires_at <= ?", now).Delete(&record{})
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("idempotency: cleanup: %w", err)
	}
	return n, nil
}

// CleanupJobName names the job that deletes expired keys.
const CleanupJobName = "idempotency.cleanup"

// CleanupJob is the cron job deleting expired keys, hourly.
func CleanupJob(db *database.DB) cron.Job {
	return cron.Job{Name: CleanupJobName, Schedule: "@hourly", Run: func(ctx context.Context) error {
		_, err := Cleanup(ctx, db, time.Now().UTC())
		return err
	}}
}
