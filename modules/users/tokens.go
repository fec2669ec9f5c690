package users

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
)

// maxTokensPerUser bounds the live API tokens of one user.
const maxTokensPerUser = 50

// CreateToken implements Service.
func (s *service) CreateToken(ctx context.Context, userID string, in TokenInput) (*CreatedToken, error) {
	if _, err := selfOrAdmin(ctx, userID, ErrUserNotFound); err != nil {
		return nil, err
	}
	now := s.clock()
	in.Name = strings.TrimSpace(in.Name)
	v := apperr.Validation{}
	v.Check(in.Name != "", "name", "is required")
	validateText(v, "name", in.Name, 64)
	v.Check(len(in.Scopes) > 0, "scopes", "must list at least one of "+strings.Join(auth.Scopes, ", "))
	for _, sc := range in.Scopes {
		v.Check(slices.Contains(auth.Scopes, sc), "scopes", "must only contain "+strings.Join(auth.Scopes, ", "))
	}
	if in.ExpiresAt != nil {
		v.Check(in.ExpiresAt.After(now), "expires_at", "must be in the future")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	secret, hash, err := auth.NewAPIToken()
	if err != nil {
		return nil, err
	}
	scopes := slices.Compact(slices.Sorted(slices.Values(in.Scopes)))
	row := &tokenRow{ID: newID(), UserID: userID, Name: in.Name, TokenHash: hash,
		Prefix: secret[:len(auth.APITokenPrefix)+6], Scopes: strings.Join(scopes, " "), CreatedAt: now}
	if in.ExpiresAt != nil {
		exp := in.ExpiresAt.UTC()
		row.ExpiresAt = &exp
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.store.accountByID(tx, userID); err != nil {
			return err
		}
		live, err := s.store.liveTokens(tx, userID, now)
		if err != nil {
			return err
		}
		if len(live) >= maxTokensPerUser {
			return apperr.E(apperr.Conflict, "too_many_tokens", "Delete an API token before creating another (50 at most).")
		}
		return translate(tx.Create(row).Error, nil)
	})
	if err != nil {
		return nil, err
	}
	return &CreatedToken{Token: *tokenDTO(row), Secret: secret}, nil
}

// FindTokens implements Service.
func (s *service) FindTokens(ctx context.Context, userID string) ([]*Token, error) {
	if _, err := selfOrAdmin(ctx, userID, ErrUserNotFound); err != nil {
		return nil, err
	}
	q := s.db.Read(ctx)
	if _, err := s.store.accountByID(q, userID); err != nil {
		return nil, err
	}
	rows, err := s.store.liveTokens(q, userID, s.clock())
	if err != nil {
		return nil, err
	}
	out := make([]*Token, 0, len(rows))
	for i := range rows {
		out = append(out, tokenDTO(&rows[i]))
	}
	return out, nil
}

// DeleteToken implements Service.
func (s *service) DeleteToken(ctx context.Context, userID, tokenID string) error {
	if _, err := selfOrAdmin(ctx, userID, ErrTokenNotFound); err != nil {
		return err
	}
	var hash string
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var t tokenRow
		if err := tx.Where("id = ? AND user_id = ? AND revoked_at IS NULL", tokenID, userID).Take(&t).Error; err != nil {
			return translate(err, ErrTokenNotFound)
		}
		hash = t.TokenHash
		return translate(tx.Model(&tokenRow{}).Where("id = ?", tokenID).Update("revoked_at", s.clock()).Error, nil)
	})
	if err == nil {
		s.sessions.drop(hash)
	}
	return err
}

// authenticateToken resolves a personal API token.
func (s *service) authenticateToken(ctx context.Context, secret string) (*auth.Principal, error) {
	now := s.clock()
	hash := auth.HashAPIToken(secret)
	if p, ok := s.sessions.get(hash, now); ok {
		return p, nil
	}
	q := s.db.Read(ctx)
	t, err := s.store.tokenByHash(q, hash)
	if errors.Is(err, ErrTokenNotFound) {
		return nil, auth.Unauthenticated
	}
	if err != nil {
		return nil, err
	}
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return nil, auth.Unauthenticated
	}
	a, err := s.store.accountByID(q, t.UserID)
	if errors.Is(err, ErrUserNotFound) || (err == nil && a.Disabled) {
		return nil, auth.Unauthenticated
	}
	if err != nil {
		return nil, err
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > lastSeenEvery {
		s.touchToken(ctx, t.ID, now)
	}
	p := &auth.Principal{UserID: t.UserID, Role: a.Role, TokenID: t.ID, Scopes: t.scopes()}
	s.sessions.put(hash, p, now)
	return p, nil
}

func (s *service) touchToken(ctx context.Context, id string, now time.Time) {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&tokenRow{}).Where("id = ?", id).Update("last_used_at", now).Error
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("users: touch token", "error", err.Error())
	}
}

func tokenDTO(t *tokenRow) *Token {
	return &Token{TokenID: t.ID, Name: t.Name, Prefix: t.Prefix, Scopes: t.scopes(), CreatedAt: t.CreatedAt,
		ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt}
}
