package users

import (
	"context"
	"errors"
	"strings"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/saga"
)

// Register implements Service.
func (s *service) Register(ctx context.Context, in RegisterInput) (*Account, error) {
	in.Username = strings.ToLower(strings.TrimSpace(in.Username))
	in.Email = normalizeEmail(in.Email)
	if in.Role == "" {
		in.Role = auth.RoleCustomer
	}
	v := apperr.Validation{}
	validateUsername(v, in.Username)
	validateEmail(v, "email", in.Email)
	validatePassword(v, "password", in.Password)
	validateRole(v, in.Role)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.Role == auth.RoleAdmin {
		if err := mayCreateAdmin(auth.PrincipalFrom(ctx)); err != nil {
			return nil, err
		}
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	a := &accountRow{ID: newID(), Username: in.Username, Email: in.Email, Role: in.Role,
		Timezone: "UTC", Units: "metric", QuietHoursStart: defaultQuietStart, QuietHoursEnd: defaultQuietEnd}
	cred := &credentialRow{ID: newID(), UserID: a.ID, PasswordHash: hash}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		// Stamped inside the transaction, like every write the change feeds
		// report (see changes.go).
		now := s.clock()
		a.CreatedAt, a.UpdatedAt = now, now
		cred.CreatedAt, cred.ExpiresAt = now, now.Add(s.cfg.PasswordMaxAge)
		return s.store.createAccount(tx, a, cred)
	})
	if err != nil {
		return nil, err
	}
	return &Account{UserID: a.ID, Username: a.Username, Email: a.Email, Role: a.Role, CreatedAt: a.CreatedAt}, nil
}

// mayCreateAdmin checks the caller of a registration with the admin role. The
// register route authenticates only optionally, so no middleware has checked
// the credential's scope or password expiry; creating an admin needs both.
// Every refusal is role_forbidden, the one 403 code the route documents.
func mayCreateAdmin(p *auth.Principal) error {
	msg := ""
	switch {
	case p == nil || !p.IsAdmin():
		msg = "Only an admin may create an admin."
	case p.PasswordExpired:
		msg = "Your password has expired; change it before creating an admin."
	case !p.HasScope(auth.ScopeWrite):
		msg = "Creating an admin needs a token with the write scope."
	default:
		return nil
	}
	return apperr.E(apperr.Forbidden, "role_forbidden", msg)
}

// FindUserByID implements Service. Disabled accounts are visible only to admins.
func (s *service) FindUserByID(ctx context.Context, userID string) (*Profile, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.CanActFor(userID) {
		return publicProfiles.load(ctx, s.views, userID, func() (*Profile, error) {
			a, err := s.store.accountByID(s.db.Read(ctx), userID)
			if err != nil {
				return nil, err
			}
			if a.Disabled {
				return nil, ErrUserNotFound
			}
			return publicProfile(a), nil
		})
	}
	a, bio, err := s.store.profile(s.db.Read(ctx), userID)
	if err != nil {
		return nil, err
	}
	if a.Disabled && !p.IsAdmin() {
		return nil, ErrUserNotFound
	}
	return s.profileDTO(a, bio), nil
}

func publicProfile(a *accountRow) *Profile {
	return &Profile{UserID: a.ID, Username: a.Username, DisplayName: a.DisplayName, Bio: a.Bio,
		Role: a.Role, CreatedAt: a.CreatedAt}
}

func (s *service) fullProfile(ctx context.Context, a *accountRow) (*Profile, error) {
	bio, err := s.store.biometrics(s.db.Read(ctx), a.ID)
	if err != nil {
		return nil, err
	}
	return s.profileDTO(a, bio), nil
}

func (s *service) profileDTO(a *accountRow, bio *biometricsRow) *Profile {
	p := publicProfile(a)
	p.Private = privateFields(a)
	p.Biometrics = summarize(bio, s.clock())
	return p
}

// privateFields are an account's private profile fields, without biometrics.
func privateFields(a *accountRow) *Private {
	return &Private{Email: a.Email, Timezone: a.Timezone, Units: a.Units,
		QuietHoursStart: a.QuietHoursStart, QuietHoursEnd: a.QuietHoursEnd,
		LeaderboardOptIn: a.LeaderboardOptIn, Disabled: a.Disabled, UpdatedAt: a.UpdatedAt}
}

// UpdateUser implements Service.
func (s *service) UpdateUser(ctx context.Context, userID string, upd UserUpdate) (*Profile, error) {
	p, err := selfOrAdmin(ctx, userID, ErrUserNotFound)
	if err != nil {
		return nil, err
	}
	v := apperr.Validation{}
	if upd.DisplayName != nil {
		*upd.DisplayName = strings.TrimSpace(*upd.DisplayName)
		validateText(v, "display_name", *upd.DisplayName, 64)
	}
	if upd.Bio != nil {
		validateText(v, "bio", *upd.Bio, 500)
	}
	if upd.Timezone != nil {
		validateTimezone(v, *upd.Timezone)
	}
	if upd.Units != nil {
		v.Check(*upd.Units == "metric" || *upd.Units == "imperial", "units", "must be metric or imperial")
	}
	if upd.QuietHoursStart != nil {
		validateClock(v, "quiet_hours_start", *upd.QuietHoursStart)
	}
	if upd.QuietHoursEnd != nil {
		validateClock(v, "quiet_hours_end", *upd.QuietHoursEnd)
	}
	if upd.Email != nil {
		*upd.Email = normalizeEmail(*upd.Email)
		validateEmail(v, "email", *upd.Email)
		if p.UserID == userID && (upd.CurrentPassword == nil || *upd.CurrentPassword == "") {
			v.Add("current_password", "is required to change the email")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if upd.Email != nil && p.UserID == userID {
		if err := s.checkPassword(ctx, userID, *upd.CurrentPassword); err != nil {
			return nil, err
		}
	}
	var a *accountRow
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if a, err = s.store.accountByID(tx, userID); err != nil {
			return err
		}
		if upd.Email != nil && *upd.Email != a.Email {
			if err := s.store.checkAccountFree(tx, a.ID, "", *upd.Email); err != nil {
				return err
			}
		}
		applyUserUpdate(a, upd)
		a.UpdatedAt = s.clock()
		return translate(tx.Save(a).Error, nil)
	})
	if err != nil {
		return nil, err
	}
	s.views.forget(ctx, userID)
	return s.fullProfile(ctx, a)
}

func applyUserUpdate(a *accountRow, upd UserUpdate) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&a.DisplayName, upd.DisplayName)
	set(&a.Bio, upd.Bio)
	set(&a.Timezone, upd.Timezone)
	set(&a.Units, upd.Units)
	set(&a.QuietHoursStart, upd.QuietHoursStart)
	set(&a.QuietHoursEnd, upd.QuietHoursEnd)
	set(&a.Email, upd.Email)
	if upd.LeaderboardOptIn != nil {
		a.LeaderboardOptIn = *upd.LeaderboardOptIn
	}
}

// DeleteUser implements Service. The account is closed at once (no sign-in,
// sessions and tokens revoked, profile gone) and the users.delete_account
// saga erases the rest; the saga id is returned for the 202.
func (s *service) DeleteUser(ctx context.Context, userID, password string) (string, error) {
	p, err := selfOrAdmin(ctx, userID, ErrUserNotFound)
	if err != nil {
		return "", err
	}
	if p.UserID == userID {
		if password == "" {
			return "", apperr.FieldError("password", "is required to delete your account")
		}
		if err := s.checkPassword(ctx, userID, password); errors.Is(err, ErrWrongPassword) {
			return "", &apperr.Error{Kind: apperr.Forbidden, Code: "wrong_password", Message: "The password is wrong.",
				Fields: map[string]string{"password": "is wrong"}}
		} else if err != nil {
			return "", err
		}
	}
	a, err := s.store.accountByID(s.db.Read(ctx), userID)
	if err != nil {
		return "", err
	}
	data := deleteAccountData{UserID: userID, WasDisabled: a.Disabled}
	// The account is closed in the transaction that records the saga: the
	// 202 is only sent once the account can no longer be used, no crash can
	// leave it closed without a saga to erase it, and a fast saga's
	// compensation (reopen) always comes after this close. The saga's first
	// step closes again (idempotent).
	id, err := s.sagas.StartAsync(ctx, SagaDeleteAccount, data,
		saga.InTx(func(tx *gorm.DB) error { return s.closeAccountTx(tx, userID) }))
	if err != nil {
		return "", err
	}
	s.accountClosed(ctx, userID)
	return id, nil
}

// closeAccount marks the account deleted and disabled and revokes its
// sessions and tokens.
func (s *service) closeAccount(ctx context.Context, userID string) error {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error { return s.closeAccountTx(tx, userID) })
	if err == nil {
		s.accountClosed(ctx, userID)
	}
	return err
}

// closeAccountTx is closeAccount's write, in the caller's transaction.
func (s *service) closeAccountTx(tx *gorm.DB, userID string) error {
	now := s.clock()
	if err := tx.Model(&accountRow{}).Where("id = ?", userID).
		Updates(map[string]any{"deleted_at": now, "disabled": true, "updated_at": now}).Error; err != nil {
		return translate(err, nil)
	}
	return s.closeAccess(tx, userID)
}

// accountClosed forgets a closed account in this replica's caches, the
// shared views cache and every replica's sockets.
func (s *service) accountClosed(ctx context.Context, userID string) {
	s.sessions.dropUser(userID)
	s.views.forget(ctx, userID)
	s.closeSockets(ctx, userID)
}

// closeAccess revokes every session and token of a user (in the caller's tx).
func (s *service) closeAccess(tx *gorm.DB, userID string) error {
	now := s.clock()
	if _, err := s.store.revokeSessions(tx, userID, "", now); err != nil {
		return err
	}
	return s.store.revokeTokens(tx, userID, now)
}

// ChangePassword implements Service.
func (s *service) ChangePassword(ctx context.Context, userID string, in PasswordChange) (*PasswordChanged, error) {
	p, err := selfOrAdmin(ctx, userID, ErrUserNotFound)
	if err != nil {
		return nil, err
	}
	// A user proves the current password; an admin resetting someone else's
	// password cannot know it and does not need it.
	self := p.UserID == userID
	v := apperr.Validation{}
	v.Check(!self || in.CurrentPassword != "", "current_password", "is required")
	validatePassword(v, "new_password", in.NewPassword)
	v.Check(in.NewPassword != in.CurrentPassword, "new_password", "must differ from the current password")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if self {
		if err := s.checkPassword(ctx, userID, in.CurrentPassword); err != nil {
			return nil, err
		}
	} else if _, err := s.store.accountByID(s.db.Read(ctx), userID); err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(in.NewPassword)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	cred := &credentialRow{ID: newID(), UserID: userID, PasswordHash: hash, CreatedAt: now, ExpiresAt: now.Add(s.cfg.PasswordMaxAge)}
	keep := ""
	if self {
		keep = p.SessionID
	}
	var revoked []string
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := translate(tx.Create(cred).Error, nil); err != nil {
			return err
		}
		if revoked, err = s.store.revokeSessions(tx, userID, keep, now); err != nil {
			return err
		}
		return translate(tx.Model(&sessionRow{}).Where("id = ?", keep).
			Update("password_expires_at", cred.ExpiresAt).Error, nil)
	})
	if err != nil {
		return nil, err
	}
	s.sessions.drop(append(revoked, keep)...)
	s.closeSockets(ctx, "", revoked...)
	return &PasswordChanged{PasswordExpiresAt: cred.ExpiresAt, RevokedSessions: len(revoked)}, nil
}
