package users

import (
	"context"

	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
)

// FindUsers implements Service.
func (s *service) FindUsers(ctx context.Context, f UserFilter) ([]*Profile, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.store.findAccounts(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]*Profile, 0, len(rows))
	for i := range rows {
		p := publicProfile(&rows[i])
		p.Private = privateFields(&rows[i])
		out = append(out, p)
	}
	return out, nil
}

// AdminUpdateUser implements Service. Disabling an account revokes its
// sessions and tokens; a role change applies to its live sessions at once; an admin cannot
// disable or demote themself, so a site never locks out its last admin by mistake.
func (s *service) AdminUpdateUser(ctx context.Context, userID string, upd AdminUpdate) (*Profile, error) {
	p, err := requireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	v := apperr.Validation{}
	if upd.Role != nil {
		validateRole(v, *upd.Role)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if p.UserID == userID && ((upd.Disabled != nil && *upd.Disabled) || (upd.Role != nil && *upd.Role != p.Role)) {
		return nil, apperr.E(apperr.Conflict, "cannot_modify_self", "Admins cannot disable or demote themselves.")
	}
	var a *accountRow
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if a, err = s.store.accountByID(tx, userID); err != nil {
			return err
		}
		roleChanged := upd.Role != nil && *upd.Role != a.Role
		if upd.Role != nil {
			a.Role = *upd.Role
		}
		if upd.Disabled != nil {
			a.Disabled = *upd.Disabled
		}
		a.UpdatedAt = s.clock()
		if err := translate(tx.Save(a).Error, nil); err != nil {
			return err
		}
		switch {
		case a.Disabled:
			return s.closeAccess(tx, userID)
		case roleChanged:
			return translate(tx.Model(&sessionRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).
				Update("role", a.Role).Error, nil)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.sessions.dropUser(userID)
	s.views.forget(ctx, userID)
	if a.Disabled {
		s.closeSockets(ctx, userID)
	}
	return s.fullProfile(ctx, a)
}
