package users

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
)

// lastSeenEvery bounds how often a session's last_seen_at is written.
const lastSeenEvery = time.Minute

// Login implements Service. Unknown emails, wrong passwords and closed accounts
// all answer the same error after one password verification's worth of work.
func (s *service) Login(ctx context.Context, in LoginInput) (*LoginResult, error) {
	now := s.clock()
	email := normalizeEmail(in.Email)
	acctKey, ipKey := "acct:"+email, "ip:"+in.ClientIP
	for _, k := range []string{acctKey, ipKey} {
		if blocked, wait := s.failures.Blocked(k, now); blocked {
			return nil, &apperr.Error{Kind: apperr.RateLimited, Code: "too_many_attempts",
				Message: "Too many failed sign-ins; try again later.", RetryAfter: int(wait.Seconds()) + 1}
		}
	}
	a, cred, err := s.verifyLogin(ctx, email, in.Password)
	if err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			s.failures.Fail(acctKey, now)
			s.failures.Fail(ipKey, now)
		}
		return nil, err
	}
	s.failures.Reset(acctKey)
	sess := &sessionRow{
		ID: newID(), UserID: a.ID, Role: a.Role, PasswordExpiresAt: cred.ExpiresAt,
		UserAgent: truncate(in.UserAgent, 256), ClientIP: in.ClientIP,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL), LastSeenAt: now,
	}
	if err := s.db.Tx(ctx, func(tx *gorm.DB) error { return translate(tx.Create(sess).Error, nil) }); err != nil {
		return nil, err
	}
	return s.issue(sess, now)
}

func (s *service) verifyLogin(ctx context.Context, email, password string) (*accountRow, *credentialRow, error) {
	a, err := s.store.accountByEmail(ctx, email)
	if errors.Is(err, ErrUserNotFound) {
		auth.BurnPasswordCheck(password)
		return nil, nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, nil, err
	}
	cred, err := s.store.currentCredential(s.db.Read(ctx), a.ID)
	if err != nil {
		return nil, nil, err
	}
	ok, err := auth.VerifyPassword(cred.PasswordHash, password)
	if err != nil {
		return nil, nil, err
	}
	if !ok || a.Disabled {
		return nil, nil, ErrInvalidCredentials
	}
	return a, cred, nil
}

func (s *service) issue(sess *sessionRow, now time.Time) (*LoginResult, error) {
	tok, err := s.signer.Issue(sess.UserID, sess.ID, sess.Role, sess.CreatedAt, sess.ExpiresAt)
	if err != nil {
		return nil, err
	}
	return &LoginResult{Token: tok, UserID: sess.UserID, SessionID: sess.ID, ExpiresAt: sess.ExpiresAt,
		PasswordExpired: sess.passwordExpired(now)}, nil
}

// Authenticate implements Service and auth.Authenticator.
func (s *service) Authenticate(ctx context.Context, credential string) (*auth.Principal, error) {
	if auth.IsAPIToken(credential) {
		return s.authenticateToken(ctx, credential)
	}
	now := s.clock()
	claims, err := s.signer.Verify(credential, now)
	if err != nil {
		return nil, auth.Unauthenticated
	}
	if p, ok := s.sessions.get(claims.SessionID, now); ok {
		return p, nil
	}
	sess, err := s.store.sessionForAuth(ctx, claims.SessionID)
	if errors.Is(err, ErrSessionNotFound) {
		return nil, auth.Unauthenticated
	}
	if err != nil {
		return nil, err
	}
	if sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) || sess.UserID != claims.Subject {
		return nil, auth.Unauthenticated
	}
	if now.Sub(sess.LastSeenAt) > lastSeenEvery {
		s.touchSession(ctx, sess.ID, now)
	}
	p := &auth.Principal{UserID: sess.UserID, Role: sess.Role, SessionID: sess.ID,
		PasswordExpired: sess.passwordExpired(now)}
	s.sessions.put(sess.ID, p, now)
	return p, nil
}

// touchSession records activity. It is bookkeeping, not user data: a failure
// is logged and the request goes on.
func (s *service) touchSession(ctx context.Context, id string, now time.Time) {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&sessionRow{}).Where("id = ?", id).Update("last_seen_at", now).Error
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("users: touch session", slog.String("error", err.Error()))
	}
}

// CurrentSession implements Service.
func (s *service) CurrentSession(ctx context.Context) (*Session, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	sess, err := s.store.session(ctx, p.SessionID)
	if err != nil {
		return nil, err
	}
	return sessionDTO(sess, p.SessionID), nil
}

// ExtendSession implements Service: the session keeps its id and gets a later
// expiry; the new token replaces the old one (which stays valid until its own
// expiry, as both name the same live session).
func (s *service) ExtendSession(ctx context.Context) (*LoginResult, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var sess sessionRow
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ? AND revoked_at IS NULL", p.SessionID).Take(&sess).Error; err != nil {
			return translate(err, ErrSessionNotFound)
		}
		sess.ExpiresAt, sess.LastSeenAt, sess.CreatedAt = now.Add(s.cfg.SessionTTL), now, now
		return translate(tx.Model(&sessionRow{}).Where("id = ?", sess.ID).
			Updates(map[string]any{"expires_at": sess.ExpiresAt, "last_seen_at": now}).Error, nil)
	})
	if err != nil {
		return nil, err
	}
	return s.issue(&sess, now)
}

// Logout implements Service.
func (s *service) Logout(ctx context.Context) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	return s.revoke(ctx, p.UserID, p.SessionID)
}

// FindSessions implements Service.
func (s *service) FindSessions(ctx context.Context) ([]*Session, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.liveSessions(ctx, p.UserID, s.clock())
	if err != nil {
		return nil, err
	}
	out := make([]*Session, 0, len(rows))
	for i := range rows {
		out = append(out, sessionDTO(&rows[i], p.SessionID))
	}
	return out, nil
}

// RevokeSession implements Service.
func (s *service) RevokeSession(ctx context.Context, sessionID string) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	return s.revoke(ctx, p.UserID, sessionID)
}

// revoke ends one live session of userID; anyone else's is NotFound.
func (s *service) revoke(ctx context.Context, userID, sessionID string) error {
	now := s.clock()
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&sessionRow{}).Where("id = ? AND user_id = ? AND revoked_at IS NULL", sessionID, userID).
			Update("revoked_at", now)
		if res.Error != nil {
			return translate(res.Error, nil)
		}
		if res.RowsAffected == 0 {
			return ErrSessionNotFound
		}
		return nil
	})
	if err == nil {
		s.sessions.drop(sessionID)
		s.closeSockets(ctx, "", sessionID)
	}
	return err
}

func sessionDTO(r *sessionRow, current string) *Session {
	return &Session{SessionID: r.ID, UserID: r.UserID, Role: r.Role, UserAgent: r.UserAgent, ClientIP: r.ClientIP,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, LastSeenAt: r.LastSeenAt, Current: r.ID == current}
}

func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
