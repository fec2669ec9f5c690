package users

import (
	"strings"
	"time"

	"gorm.io/gorm"
)

type biometricsRow struct {
	UserID    string `gorm:"primaryKey"`
	HeightCM  *float64
	WeightKG  *float64
	BirthDate *time.Time
	Sex       *string
	UpdatedAt time.Time `gorm:"autoUpdateTime:false"` // set by each write, as accountRow's
}

func (biometricsRow) TableName() string { return "users_biometrics" }

type weightRow struct {
	ID         string
	UserID     string
	WeightKG   float64
	MeasuredAt time.Time
}

func (weightRow) TableName() string { return "users_weight_history" }

type goalRow struct {
	ID          string
	UserID      string
	GoalType    string
	TargetValue float64
	TargetDate  time.Time
	Period      string
	Status      string
	CreatedAt   time.Time
	UpdatedAt   time.Time `gorm:"autoUpdateTime:false"` // set by each write, as accountRow's
}

func (goalRow) TableName() string { return "users_goals" }

type tokenRow struct {
	ID         string
	UserID     string
	Name       string
	TokenHash  string
	Prefix     string
	Scopes     string // space-separated
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

func (tokenRow) TableName() string { return "users_api_tokens" }

func (t *tokenRow) scopes() []string { return strings.Fields(t.Scopes) }

// biometrics returns a user's row, or nil when none was ever saved.
func (s *store) biometrics(q *gorm.DB, userID string) (*biometricsRow, error) {
	var rows []biometricsRow
	if err := q.Where("user_id = ?", userID).Limit(1).Find(&rows).Error; err != nil {
		return nil, translate(err, nil)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0], nil
}

// profileRow is an account with its biometrics (all nil when none were saved).
type profileRow struct {
	Account    accountRow `gorm:"embedded"`
	BHeightCM  *float64   `gorm:"column:b_height_cm"`
	BWeightKG  *float64   `gorm:"column:b_weight_kg"`
	BBirthDate *time.Time `gorm:"column:b_birth_date"`
	BSex       *string    `gorm:"column:b_sex"`
	BUpdatedAt *time.Time `gorm:"column:b_updated_at"`
}

// profile reads a live account and its biometrics in one query: the full
// profile is the hottest read of the module.
func (s *store) profile(q *gorm.DB, id string) (*accountRow, *biometricsRow, error) {
	var r profileRow
	err := q.Table("users_accounts AS a").
		Select("a.*, b.height_cm AS b_height_cm, b.weight_kg AS b_weight_kg, b.birth_date AS b_birth_date, "+
			"b.sex AS b_sex, b.updated_at AS b_updated_at").
		Joins("LEFT JOIN users_biometrics b ON b.user_id = a.id").
		Where("a.id = ? AND a.deleted_at IS NULL", id).Take(&r).Error
	if err != nil {
		return nil, nil, translate(err, ErrUserNotFound)
	}
	if r.BUpdatedAt == nil {
		return &r.Account, nil, nil
	}
	return &r.Account, &biometricsRow{UserID: id, HeightCM: r.BHeightCM, WeightKG: r.BWeightKG,
		BirthDate: r.BBirthDate, Sex: r.BSex, UpdatedAt: *r.BUpdatedAt}, nil
}

// maxWeightHistory bounds the history a biometrics read returns.
const maxWeightHistory = 365

func (s *store) weightHistory(q *gorm.DB, userID string) ([]weightRow, error) {
	var rows []weightRow
	err := q.Where("user_id = ?", userID).Order("measured_at DESC, id DESC").Limit(maxWeightHistory).Find(&rows).Error
	return rows, translate(err, nil)
}

func (s *store) goal(q *gorm.DB, userID, goalID string) (*goalRow, error) {
	var g goalRow
	err := q.Where("id = ? AND user_id = ?", goalID, userID).Take(&g).Error
	return &g, translate(err, ErrGoalNotFound)
}

func (s *store) goals(q *gorm.DB, userID string, f GoalFilter) ([]goalRow, error) {
	q = q.Where("user_id = ?", userID)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Page.Cursor != "" {
		q = q.Where("id < ?", f.Page.Cursor)
	}
	var rows []goalRow
	err := q.Order("id DESC").Limit(f.Page.Limit + 1).Find(&rows).Error
	return rows, translate(err, nil)
}

// activeGoals lists active goals of live (neither deleted nor disabled)
// accounts by id, after f.After; f.Limit is already clamped. Across users it
// walks the partial index users_goals_active, for one user users_goals_user.
// The status is a literal: SQLite uses a partial index only when the query's
// own text implies the index's WHERE, which a bound parameter never does.
func (s *store) activeGoals(q *gorm.DB, f ActiveGoalQuery) ([]goalRow, error) {
	q = q.Table("users_goals AS g").Select("g.*").
		Joins("JOIN users_accounts a ON a.id = g.user_id AND a.deleted_at IS NULL AND a.disabled = ?", false).
		Where("g.status = 'active'")
	if f.UserID != "" {
		q = q.Where("g.user_id = ?", f.UserID)
	}
	if len(f.Periods) > 0 {
		q = q.Where("g.period IN ?", f.Periods)
	}
	if f.After != "" {
		q = q.Where("g.id > ?", f.After)
	}
	var rows []goalRow
	err := q.Order("g.id").Limit(f.Limit).Find(&rows).Error
	return rows, translate(err, nil)
}

func (s *store) tokenByHash(q *gorm.DB, hash string) (*tokenRow, error) {
	var t tokenRow
	err := q.Where("token_hash = ?", hash).Take(&t).Error
	return &t, translate(err, ErrTokenNotFound)
}

func (s *store) liveTokens(q *gorm.DB, userID string, now time.Time) ([]tokenRow, error) {
	var rows []tokenRow
	err := q.Where("user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", userID, now).
		Order("id DESC").Limit(maxTokensPerUser).Find(&rows).Error
	return rows, translate(err, nil)
}
