package etl

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/httpx"
)

// Leaderboard sizes.
const (
	DefaultLeaderboardLimit = 10
	MaxLeaderboardLimit     = 100
)

// ErrUserNotFound answers trends of a user the caller may not see, or (to
// an admin) one the warehouse does not know.
var ErrUserNotFound = apperr.NotFoundf("user_not_found", "User")

// RegisterRoutes mounts GET /analytics/leaderboard (any signed-in user) and
// GET /users/{user_id}/trends (the user or an admin) on the /api/v1 group.
func (a *Analytics) RegisterRoutes(rg *gin.RouterGroup, authn auth.Authenticator) {
	signedIn := auth.Require(authn, auth.Options{})
	rg.GET("/analytics/leaderboard", signedIn, httpx.Handle(func(c *gin.Context) error {
		limit, err := intQuery(c, "limit", DefaultLeaderboardLimit, 1, MaxLeaderboardLimit)
		if err != nil {
			return err
		}
		return httpx.Respond(c, http.StatusOK)(a.Leaderboard(c.Request.Context(), auth.From(c).UserID,
			c.DefaultQuery("metric", MeasureSteps), c.DefaultQuery("period", "week"), limit))
	}))
	rg.GET("/users/:user_id/trends", signedIn, auth.RequireSelfOrAdmin("user_id", ErrUserNotFound),
		httpx.Handle(func(c *gin.Context) error {
			weeks, err := intQuery(c, "weeks", DefaultTrendWeeks, 1, MaxTrendWeeks)
			if err != nil {
				return err
			}
			return httpx.Respond(c, http.StatusOK)(a.Trends(c.Request.Context(), c.Param("user_id"),
				c.DefaultQuery("metric", MeasureSteps), weeks))
		}))
}

// RegisterAdminRoutes mounts GET /analytics/overview on rg, which the
// caller mounts under /api/v1/admin behind admin authentication.
func (a *Analytics) RegisterAdminRoutes(rg gin.IRoutes) {
	rg.GET("/analytics/overview", httpx.Handle(func(c *gin.Context) error {
		days, err := intQuery(c, "days", DefaultOverviewDays, 1, MaxOverviewDays)
		if err != nil {
			return err
		}
		return httpx.Respond(c, http.StatusOK)(a.Overview(c.Request.Context(), days))
	}))
}

// intQuery reads an integer query parameter in [lo, hi], def when absent.
func intQuery(c *gin.Context, name string, def, lo, hi int) (int, error) {
	s, ok := c.GetQuery(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, apperr.FieldError(name, "must be an integer from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
	}
	return n, nil
}
