package users

import (
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/auth"
)

// Module is the users module: its service and its routes.
type Module struct {
	svc        *service
	idempotent gin.HandlerFunc
}

// New builds the module from its dependencies.
func New(d Deps) (*Module, error) {
	if d.DB == nil || d.Signer == nil || d.Sagas == nil {
		return nil, errors.New("users: DB, Signer and Sagas are required")
	}
	idem := d.Idempotent
	if idem == nil {
		idem = func(c *gin.Context) { c.Next() }
	}
	return &Module{svc: newService(d), idempotent: idem}, nil
}

// Service returns the module's contract for other modules and the CLI.
func (m *Module) Service() Service { return m.svc }

// Authenticator returns what the auth middleware uses to resolve credentials.
func (m *Module) Authenticator() auth.Authenticator { return m.svc }

// RegisterRoutes mounts the module's routes on the /api/v1 group.
func (m *Module) RegisterRoutes(rg *gin.RouterGroup) { registerRoutes(rg, m.svc, m.svc, m.idempotent) }
