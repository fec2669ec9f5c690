package groups

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/httpx"
)

type handlers struct{ svc Service }

func registerRoutes(rg *gin.RouterGroup, svc Service, authn auth.Authenticator, idempotent gin.HandlerFunc) {
	h := &handlers{svc: svc}
	signedIn := auth.Require(authn, auth.Options{})
	g := rg.Group("/groups/sessions", signedIn)
	g.POST("", idempotent, httpx.Handle(h.createSession))
	g.GET("", httpx.Handle(h.listSessions))
	g.GET("/:session_id", httpx.Handle(h.session))
	g.POST("/:session_id/end", httpx.Handle(h.endSession))
	g.POST("/:session_id/invites", httpx.Handle(h.invite))
	g.GET("/:session_id/summary", httpx.Handle(h.summary))

	m := rg.Group("/meetings", signedIn)
	m.POST("", idempotent, httpx.Handle(h.createMeeting))
	m.GET("/:meeting_id", httpx.Handle(h.meeting))
	m.PUT("/:meeting_id", httpx.Handle(h.updateMeeting))
	m.DELETE("/:meeting_id", httpx.Handle(h.deleteMeeting))
}

func (h *handlers) createSession(c *gin.Context) error {
	var in SessionInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusCreated)(h.svc.CreateSession(c.Request.Context(), in))
}

func (h *handlers) listSessions(c *gin.Context) error {
	page, err := httpx.PageOf(c)
	if err != nil {
		return err
	}
	list, err := h.svc.FindSessions(c.Request.Context(), SessionFilter{
		State: c.Query("state"), Limit: page.Limit + 1, Cursor: page.Cursor})
	if err != nil {
		return err
	}
	return httpx.JSON(c, http.StatusOK, httpx.NewList(list, page.Limit, SessionCursorKey))
}

func (h *handlers) session(c *gin.Context) error {
	return httpx.Respond(c, http.StatusOK)(h.svc.FindSession(c.Request.Context(), c.Param("session_id")))
}

func (h *handlers) endSession(c *gin.Context) error {
	return httpx.Respond(c, http.StatusOK)(h.svc.EndSession(c.Request.Context(), c.Param("session_id")))
}

func (h *handlers) summary(c *gin.Context) error {
	return httpx.Respond(c, http.StatusOK)(h.svc.FindSummary(c.Request.Context(), c.Param("session_id")))
}

func (h *handlers) invite(c *gin.Context) error {
	var in InviteInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusOK)(h.svc.Invite(c.Request.Context(), c.Param("session_id"), in.UserIDs))
}

func (h *handlers) createMeeting(c *gin.Context) error {
	var in MeetingInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusCreated)(h.svc.CreateMeeting(c.Request.Context(), in))
}

func (h *handlers) meeting(c *gin.Context) error {
	return httpx.Respond(c, http.StatusOK)(h.svc.FindMeeting(c.Request.Context(), c.Param("meeting_id")))
}

func (h *handlers) updateMeeting(c *gin.Context) error {
	var in MeetingUpdate
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusOK)(h.svc.UpdateMeeting(c.Request.Context(), c.Param("meeting_id"), in))
}

func (h *handlers) deleteMeeting(c *gin.Context) error {
	return httpx.NoContent(c, h.svc.DeleteMeeting(c.Request.Context(), c.Param("meeting_id")))
}
