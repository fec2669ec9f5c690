package activity

import (
	"context"
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/auth"
)

// Module is the activity module: its service and its routes.
type Module struct {
	svc        *service
	idempotent gin.HandlerFunc
}

// New builds the module from its dependencies.
func New(d Deps) (*Module, error) {
	if d.DB == nil || d.Users == nil {
		return nil, errors.New("activity: DB and Users are required")
	}
	idem := d.Idempotent
	if idem == nil {
		idem = func(c *gin.Context) { c.Next() }
	}
	return &Module{svc: newService(d), idempotent: idem}, nil
}

// Service returns the module's contract.
func (m *Module) Service() Service { return m.svc }

// RegisterRoutes mounts the module's routes on the /api/v1 group.
func (m *Module) RegisterRoutes(rg *gin.RouterGroup, authn auth.Authenticator) {
	registerRoutes(rg, m.svc, authn, m.idempotent)
}

// EraseAccount forgets every workout and sample of a user (the users
// module's AccountEraser; idempotent).
func (m *Module) EraseAccount(ctx context.Context, userID string) error {
	return m.svc.store.EraseUser(ctx, userID)
}
