package users

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/httpx"
)

type handlers struct {
	svc Service
}

// registerRoutes mounts the users routes on the /api/v1 group.
func registerRoutes(rg *gin.RouterGroup, svc Service, authn auth.Authenticator, idempotent gin.HandlerFunc) {
	h := &handlers{svc: svc}
	signedIn := auth.Require(authn, auth.Options{})
	sessionOnly := auth.Require(authn, auth.Options{SessionOnly: true, AllowExpiredPassword: true})
	// Token management and account deletion need a session whose password
	// has not expired: an expired password may only be changed.
	sessionRequired := auth.Require(authn, auth.Options{SessionOnly: true})

	rg.POST("/users/register", auth.Optional(authn), httpx.Handle(h.register))
	rg.POST("/users/login", httpx.Handle(h.login))

	rg.GET("/auth/session", sessionOnly, httpx.Handle(h.currentSession))
	rg.PUT("/auth/session", sessionOnly, httpx.Handle(h.extendSession))
	rg.DELETE("/auth/session", sessionOnly, httpx.Handle(h.logout))
	rg.GET("/auth/sessions", sessionOnly, httpx.Handle(h.sessions))
	rg.DELETE("/auth/sessions/:session_id", sessionOnly, httpx.Handle(h.revokeSession))

	u := rg.Group("/users/:user_id")
	u.GET("", signedIn, httpx.Handle(h.getUser))
	u.PUT("", signedIn, httpx.Handle(h.updateUser))
	u.DELETE("", sessionRequired, httpx.Handle(h.deleteUser))
	u.PUT("/password", sessionOnly, httpx.Handle(h.changePassword))
	u.GET("/biometrics", signedIn, httpx.Handle(h.getBiometrics))
	u.PUT("/biometrics", signedIn, httpx.Handle(h.updateBiometrics))
	u.POST("/goals", signedIn, idempotent, httpx.Handle(h.createGoal))
	u.GET("/goals", signedIn, httpx.Handle(h.listGoals))
	u.GET("/goals/:goal_id", signedIn, httpx.Handle(h.getGoal))
	u.PUT("/goals/:goal_id", signedIn, httpx.Handle(h.updateGoal))
	u.DELETE("/goals/:goal_id", signedIn, httpx.Handle(h.deleteGoal))
	u.POST("/tokens", sessionRequired, httpx.Handle(h.createToken))
	u.GET("/tokens", sessionRequired, httpx.Handle(h.listTokens))
	u.DELETE("/tokens/:token_id", sessionRequired, httpx.Handle(h.deleteToken))

	admin := rg.Group("/admin", signedIn, auth.RequireRole(auth.RoleAdmin))
	admin.GET("/users", httpx.Handle(h.listUsers))
	admin.PUT("/users/:user_id", httpx.Handle(h.adminUpdateUser))
}

func (h *handlers) register(c *gin.Context) error {
	var in RegisterInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	a, err := h.svc.Register(c.Request.Context(), in)
	if err != nil {
		return err
	}
	return httpx.JSON(c, http.StatusCreated, a)
}

func (h *handlers) login(c *gin.Context) error {
	var in LoginInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	in.ClientIP, in.UserAgent = c.ClientIP(), c.Request.UserAgent()
	res, err := h.svc.Login(c.Request.Context(), in)
	if err != nil {
		return err
	}
	return httpx.JSON(c, http.StatusOK, res)
}

func (h *handlers) currentSession(c *gin.Context) error {
	return httpx.Respond(c, http.StatusOK)(h.svc.CurrentSession(c.Request.Context()))
}

func (h *handlers) extendSession(c *gin.Context) error {
	return httpx.Respond(c, http.StatusOK)(h.svc.ExtendSession(c.Request.Context()))
}

func (h *handlers) logout(c *gin.Context) error {
	return httpx.NoContent(c, h.svc.Logout(c.Request.Context()))
}

func (h *handlers) sessions(c *gin.Context) error {
	list, err := h.svc.FindSessions(c.Request.Context())
	if err != nil {
		return err
	}
	return httpx.JSON(c, http.StatusOK, httpx.List[*Session]{Items: list})
}

func (h *handlers) revokeSession(c *gin.Context) error {
	return httpx.NoContent(c, h.svc.RevokeSession(c.Request.Context(), c.Param("session_id")))
}
