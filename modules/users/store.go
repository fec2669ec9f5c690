package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fitloop/fitloop/platform/database"
)

type accountRow struct {
	ID              string
	Username        string
	Email           string
	Role            string
	DisplayName     string
	Bio             string
	Timezone        string
	Units           string
	QuietHoursStart string // "HH:MM" in Timezone
	QuietHoursEnd   string
	// LeaderboardOptIn: the user agreed to appear on the warehouse's
	// leaderboard (false until they opt in).
	LeaderboardOptIn bool
	Disabled         bool
	DeletedAt        *time.Time
	CreatedAt        time.Time
	// UpdatedAt is the module's clock at the last write, which sets it itself:
	// gorm's own stamping (its real clock, on every Save) is off, so the
	// change feed orders writes by the clock that made them.
	UpdatedAt time.Time `gorm:"autoUpdateTime:false"`
}

func (accountRow) TableName() string { return "users_accounts" }

type credentialRow struct {
	ID           string
	UserID       string
	PasswordHash string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

func (credentialRow) TableName() string { return "users_credentials" }

type sessionRow struct {
	ID     string
	UserID string
	Role   string
	// PasswordExpiresAt is the expiry of the credential the session was
	// opened with (or changed to): past it the session may only change the password.
	PasswordExpiresAt time.Time
	UserAgent         string
	ClientIP          string
	CreatedAt         time.Time
	ExpiresAt         time.Time
	LastSeenAt        time.Time
	RevokedAt         *time.Time
}

func (sessionRow) TableName() string { return "users_sessions" }

func (r *sessionRow) passwordExpired(now time.Time) bool { return !now.Before(r.PasswordExpiresAt) }

// store holds the users module's queries. Reads go to db.Read; writes take the
// transaction handle the service got from db.Tx.
type store struct {
	db *database.DB
}

// translate turns driver errors into the module's errors before they leave the store.
func translate(err error, notFound error) error {
	switch {
	case err == nil:
		return nil
	case database.IsNotFound(err):
		return notFound
	case database.IsUniqueViolation(err):
		msg := strings.ToLower(err.Error())
		if strings.Contains(msg, "username") {
			return ErrUsernameTaken
		}
		if strings.Contains(msg, "email") {
			return ErrEmailTaken
		}
		return fmt.Errorf("users: unique violation: %w", err)
	}
	return fmt.Errorf("users: %w", err)
}

// accountByID finds a live (not deleted) account.
func (s *store) accountByID(q *gorm.DB, id string) (*accountRow, error) {
	var a accountRow
	err := q.Where("id = ? AND deleted_at IS NULL", id).Take(&a).Error
	return &a, translate(err, ErrUserNotFound)
}

func (s *store) accountByEmail(ctx context.Context, email string) (*accountRow, error) {
	var a accountRow
	err := s.db.Read(ctx).Where("email = ? AND deleted_at IS NULL", email).Take(&a).Error
	return &a, translate(err, ErrUserNotFound)
}

// currentCredential returns the newest credential of a user.
func (s *store) currentCredential(q *gorm.DB, userID string) (*credentialRow, error) {
	var c credentialRow
	err := q.Where("user_id = ?", userID).Order("created_at DESC, id DESC").Take(&c).Error
	return &c, translate(err, ErrInvalidCredentials)
}

func (s *store) createAccount(tx *gorm.DB, a *accountRow, c *credentialRow) error {
	if err := s.checkAccountFree(tx, a.ID, a.Username, a.Email); err != nil {
		return err
	}
	if err := translate(tx.Create(a).Error, nil); err != nil {
		return err
	}
	return translate(tx.Create(c).Error, nil)
}

// checkAccountFree answers ErrUsernameTaken or ErrEmailTaken when an account
// other than id holds username or email (deleted accounts keep theirs). It asks
// first because SQLite's unique-violation error, once gorm translates it, no
// longer names the index, so translate could not tell the two apart; the
// unique indexes still decide races (PostgreSQL's translated error keeps the
// index name, and SQLite's single writer runs this check and the insert in one
// transaction).
func (s *store) checkAccountFree(tx *gorm.DB, id, username, email string) error {
	var rows []accountRow
	err := tx.Select("username", "email").Where("id <> ? AND (username = ? OR email = ?)", id, username, email).
		Limit(2).Find(&rows).Error
	if err != nil {
		return translate(err, nil)
	}
	for _, r := range rows {
		if r.Username == username {
			return ErrUsernameTaken
		}
	}
	if len(rows) > 0 {
		return ErrEmailTaken
	}
	return nil
}

func (s *store) session(ctx context.Context, id string) (*sessionRow, error) {
	var r sessionRow
	err := s.db.Read(ctx).Where("id = ?", id).Take(&r).Error
	return &r, translate(err, ErrSessionNotFound)
}

// sessionForAuth reads what authenticating with a session needs, without
// gorm's per-row reflection: it runs for every request and every socket
// re-check that misses the principal cache.
func (s *store) sessionForAuth(ctx context.Context, id string) (*sessionRow, error) {
	r := sessionRow{ID: id}
	var revoked sql.NullTime
	err := s.db.Read(ctx).Raw(`SELECT user_id, role, password_expires_at, expires_at, last_seen_at, revoked_at
		FROM users_sessions WHERE id = ?`, id).Row().
		Scan(&r.UserID, &r.Role, &r.PasswordExpiresAt, &r.ExpiresAt, &r.LastSeenAt, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrSessionNotFound
	}
	if err != nil {
		return nil, translate(err, nil)
	}
	if revoked.Valid {
		r.RevokedAt = &revoked.Time
	}
	return &r, nil
}

func (s *store) liveSessions(ctx context.Context, userID string, now time.Time) ([]sessionRow, error) {
	var rows []sessionRow
	err := s.db.Read(ctx).Where("user_id = ? AND revoked_at IS NULL AND expires_at > ?", userID, now).
		Order("created_at DESC").Limit(200).Find(&rows).Error
	return rows, translate(err, nil)
}

// revokeSessions revokes a user's live sessions except keep (may be ""), and
// returns the revoked ids.
func (s *store) revokeSessions(tx *gorm.DB, userID, keep string, now time.Time) ([]string, error) {
	var ids []string
	q := tx.Model(&sessionRow{}).Where("user_id = ? AND revoked_at IS NULL AND id <> ?", userID, keep)
	if err := q.Pluck("id", &ids).Error; err != nil {
		return nil, translate(err, nil)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	err := tx.Model(&sessionRow{}).Where("id IN ?", ids).Update("revoked_at", now).Error
	return ids, translate(err, nil)
}

func (s *store) revokeTokens(tx *gorm.DB, userID string, now time.Time) error {
	err := tx.Model(&tokenRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", now).Error
	return translate(err, nil)
}

// findAccounts lists accounts by id (UUIDv7, so creation order), newest first.
func (s *store) findAccounts(ctx context.Context, f UserFilter) ([]accountRow, error) {
	q := s.db.Read(ctx).Where("deleted_at IS NULL")
	if f.Query != "" {
		like := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		q = q.Where("(username LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\')", like, like)
	}
	if f.Page.Cursor != "" {
		q = q.Where("id < ?", f.Page.Cursor)
	}
	var rows []accountRow
	err := q.Order(clause.OrderByColumn{Column: clause.Column{Name: "id"}, Desc: true}).
		Limit(f.Page.Limit + 1).Find(&rows).Error
	return rows, translate(err, nil)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
