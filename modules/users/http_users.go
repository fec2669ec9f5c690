package users

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/httpx"
)

func (h *handlers) getUser(c *gin.Context) error {
	return httpx.Respond(c, http.StatusOK)(h.svc.FindUserByID(c.Request.Context(), c.Param("user_id")))
}

func (h *handlers) updateUser(c *gin.Context) error {
	var upd UserUpdate
	if err := httpx.BindJSON(c, &upd); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusOK)(h.svc.UpdateUser(c.Request.Context(), c.Param("user_id"), upd))
}

// deleteRequest is the optional body of DELETE /users/{user_id}.
type deleteRequest struct {
	Password string `json:"password"`
}

func (h *handlers) deleteUser(c *gin.Context) error {
	var body deleteRequest
	if err := httpx.BindOptionalJSON(c, &body); err != nil {
		return err
	}
	id, err := h.svc.DeleteUser(c.Request.Context(), c.Param("user_id"), body.Password)
	if err != nil {
		return err
	}
	return httpx.JSON(c, http.StatusAccepted, AccountDeletion{SagaID: id, Status: "closed"})
}

func (h *handlers) changePassword(c *gin.Context) error {
	var in PasswordChange
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusOK)(h.svc.ChangePassword(c.Request.Context(), c.Param("user_id"), in))
}

func (h *handlers) getBiometrics(c *gin.Context) error {
	return httpx.Respond(c, http.StatusOK)(h.svc.FindBiometrics(c.Request.Context(), c.Param("user_id")))
}

func (h *handlers) updateBiometrics(c *gin.Context) error {
	var upd BiometricsUpdate
	if err := httpx.BindJSON(c, &upd); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusOK)(h.svc.UpdateBiometrics(c.Request.Context(), c.Param("user_id"), upd))
}

func (h *handlers) createGoal(c *gin.Context) error {
	var in GoalInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusCreated)(h.svc.CreateGoal(c.Request.Context(), c.Param("user_id"), in))
}

func (h *handlers) listGoals(c *gin.Context) error {
	page, err := httpx.PageOf(c)
	if err != nil {
		return err
	}
	goals, err := h.svc.FindGoals(c.Request.Context(), c.Param("user_id"), GoalFilter{Status: c.Query("status"), Page: page})
	if err != nil {
		return err
	}
	return httpx.JSON(c, http.StatusOK, httpx.NewList(goals, page.Limit, func(g *Goal) string { return g.GoalID }))
}

func (h *handlers) getGoal(c *gin.Context) error {
	return httpx.Respond(c, http.StatusOK)(h.svc.FindGoalByID(c.Request.Context(), c.Param("user_id"), c.Param("goal_id")))
}

func (h *handlers) updateGoal(c *gin.Context) error {
	var upd GoalUpdate
	if err := httpx.BindJSON(c, &upd); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusOK)(h.svc.UpdateGoal(c.Request.Context(), c.Param("user_id"), c.Param("goal_id"), upd))
}

func (h *handlers) deleteGoal(c *gin.Context) error {
	return httpx.NoContent(c, h.svc.DeleteGoal(c.Request.Context(), c.Param("user_id"), c.Param("goal_id")))
}

func (h *handlers) createToken(c *gin.Context) error {
	var in TokenInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusCreated)(h.svc.CreateToken(c.Request.Context(), c.Param("user_id"), in))
}

func (h *handlers) listTokens(c *gin.Context) error {
	tokens, err := h.svc.FindTokens(c.Request.Context(), c.Param("user_id"))
	if err != nil {
		return err
	}
	return httpx.JSON(c, http.StatusOK, httpx.List[*Token]{Items: tokens})
}

func (h *handlers) deleteToken(c *gin.Context) error {
	return httpx.NoContent(c, h.svc.DeleteToken(c.Request.Context(), c.Param("user_id"), c.Param("token_id")))
}

func (h *handlers) listUsers(c *gin.Context) error {
	page, err := httpx.PageOf(c)
	if err != nil {
		return err
	}
	users, err := h.svc.FindUsers(c.Request.Context(), UserFilter{Query: c.Query("q"), Page: page})
	if err != nil {
		return err
	}
	return httpx.JSON(c, http.StatusOK, httpx.NewList(users, page.Limit, func(p *Profile) string { return p.UserID }))
}

func (h *handlers) adminUpdateUser(c *gin.Context) error {
	var upd AdminUpdate
	if err := httpx.BindJSON(c, &upd); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusOK)(h.svc.AdminUpdateUser(c.Request.Context(), c.Param("user_id"), upd))
}
