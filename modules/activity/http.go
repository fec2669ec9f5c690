package activity

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/httpx"
)

// MetricsRoute is the metric batch route, whose body limit is
// activity.max_body_bytes rather than http.max_body_bytes.
const MetricsRoute = "/users/:user_id/metrics"

type handlers struct {
	svc Service
	log *slog.Logger
}

// registerRoutes mounts the activity routes on the /api/v1 group.
func registerRoutes(rg *gin.RouterGroup, svc Service, log *slog.Logger, authn auth.Authenticator, idempotent gin.HandlerFunc) {
	h := &handlers{svc: svc, log: log}
	signedIn := auth.Require(authn, auth.Options{})
	metricsWriter := auth.Require(authn, auth.Options{Scope: auth.ScopeMetricsWrite})

	rg.GET("/workout-types", signedIn, httpx.Handle(h.workoutTypes))
	rg.POST("/workouts/start", signedIn, idempotent, httpx.Handle(h.start))
	rg.POST("/workouts/:session_id/end", signedIn, idempotent, httpx.Handle(h.end))
	rg.GET("/workouts/:session_id", signedIn, httpx.Handle(h.getWorkout))
	rg.PUT("/workouts/:session_id", signedIn, httpx.Handle(h.updateWorkout))
	rg.DELETE("/workouts/:session_id", signedIn, httpx.Handle(h.deleteWorkout))

	u := rg.Group("/users/:user_id")
	u.POST("/workouts", signedIn, idempotent, httpx.Handle(h.logWorkout))
	u.GET("/workouts", signedIn, httpx.Handle(h.listWorkouts))
	rg.POST(MetricsRoute, metricsWriter, idempotent, httpx.Handle(h.addSamples))
	u.GET("/metrics", signedIn, httpx.Handle(h.latestMetrics))
	u.GET("/metrics/:metric", signedIn, httpx.Handle(h.metricSeries))
	u.GET("/statistics", signedIn, httpx.Handle(h.statistics))
	u.GET("/reports/weekly", signedIn, httpx.Handle(h.report(ReportWeek, "week")))
	u.GET("/reports/monthly", signedIn, httpx.Handle(h.report(ReportMonth, "month")))
	u.GET("/reports/download", signedIn, httpx.Handle(h.download))
	u.GET("/notifications", signedIn, httpx.Handle(h.listNotifications))
	u.POST("/notifications/read-all", signedIn, httpx.Handle(h.readAll))
	u.POST("/notifications/:notification_id/read", signedIn, httpx.Handle(h.readNotification))
}

func (h *handlers) workoutTypes(c *gin.Context) error {
	return httpx.JSON(c, http.StatusOK, httpx.List[WorkoutType]{Items: h.svc.WorkoutTypes()})
}

func (h *handlers) start(c *gin.Context) error {
	var in StartInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusCreated)(h.svc.StartWorkout(c.Request.Context(), in))
}

func (h *handlers) end(c *gin.Context) error {
	var in EndInput
	if err := httpx.BindOptionalJSON(c, &in); err != nil { // no body: end now
		return err
	}
	return httpx.Respond(c, http.StatusOK)(h.svc.EndWorkout(c.Request.Context(), c.Param("session_id"), in))
}

func (h *handlers) getWorkout(c *gin.Context) error {
	return httpx.Respond(c, http.StatusOK)(h.svc.FindWorkout(c.Request.Context(), c.Param("session_id")))
}

func (h *handlers) updateWorkout(c *gin.Context) error {
	var upd WorkoutUpdate
	if err := httpx.BindJSON(c, &upd); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusOK)(h.svc.UpdateWorkout(c.Request.Context(), c.Param("session_id"), upd))
}

func (h *handlers) deleteWorkout(c *gin.Context) error {
	return httpx.NoContent(c, h.svc.DeleteWorkout(c.Request.Context(), c.Param("session_id")))
}

func (h *handlers) logWorkout(c *gin.Context) error {
	var in LogInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusCreated)(h.svc.LogWorkout(c.Request.Context(), c.Param("user_id"), in))
}

func (h *handlers) listWorkouts(c *gin.Context) error {
	page, err := httpx.PageOf(c)
	if err != nil {
		return err
	}
	list, err := h.svc.FindWorkouts(c.Request.Context(), c.Param("user_id"), WorkoutFilter{
		Type: c.Query("type"), From: c.Query("from"), To: c.Query("to"), Limit: page.Limit + 1, Cursor: page.Cursor})
	if err != nil {
		return err
	}
	return httpx.JSON(c, http.StatusOK, httpx.NewList(list, page.Limit, WorkoutCursorKey))
}

func (h *handlers) addSamples(c *gin.Context) error {
	var in SampleBatch
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	return httpx.Respond(c, http.StatusOK)(h.svc.AddSamples(c.Request.Context(), c.Param("user_id"), in))
}

func (h *handlers) latestMetrics(c *gin.Context) error {
	list, err := h.svc.LatestMetrics(c.Request.Context(), c.Param("user_id"))
	if err != nil {
		return err
	}
	return httpx.JSON(c, http.StatusOK, httpx.List[LatestMetric]{Items: list})
}

func (h *handlers) metricSeries(c *gin.Context) error {
	q := SeriesQuery{Period: c.Query("period"), From: c.Query("from"), To: c.Query("to")}
	return httpx.Respond(c, http.StatusOK)(h.svc.MetricSeries(c.Request.Context(), c.Param("user_id"), c.Param("metric"), q))
}

func (h *handlers) statistics(c *gin.Context) error {
	q := StatsQuery{From: c.Query("from"), To: c.Query("to")}
	return httpx.Respond(c, http.StatusOK)(h.svc.Statistics(c.Request.Context(), c.Param("user_id"), q))
}

// report serves a weekly or monthly report; param is the query parameter
// naming the period.
func (h *handlers) report(period, param string) func(c *gin.Context) error {
	return func(c *gin.Context) error {
		q := ReportQuery{Period: period, Label: c.Query(param)}
		return httpx.Respond(c, http.StatusOK)(h.svc.Report(c.Request.Context(), c.Param("user_id"), q))
	}
}

func (h *handlers) download(c *gin.Context) error {
	ctx := c.Request.Context()
	e, err := h.svc.Export(ctx, c.Param("user_id"), ExportQuery{From: c.Query("from"), To: c.Query("to"), Format: c.Query("format")})
	if err != nil {
		return err
	}
	c.Header("Content-Type", e.ContentType())
	c.Header("Content-Disposition", `attachment; filename="`+e.Filename()+`"`)
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	if err := e.WriteTo(ctx, c.Writer); err != nil {
		// The status and part of the body are out: only a dropped
		// connection tells the client the file is incomplete.
		h.log.ErrorContext(ctx, "activity: download cut short", "user_id", e.UserID, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (h *handlers) listNotifications(c *gin.Context) error {
	page, err := httpx.PageOf(c)
	if err != nil {
		return err
	}
	f := NotificationFilter{Limit: page.Limit + 1, Cursor: page.Cursor}
	switch c.Query("unread") {
	case "", "false":
	case "true":
		f.Unread = true
	default:
		return apperr.FieldError("unread", "must be true or false")
	}
	list, err := h.svc.FindNotifications(c.Request.Context(), c.Param("user_id"), f)
	if err != nil {
		return err
	}
	return httpx.JSON(c, http.StatusOK, httpx.NewList(list, page.Limit, func(n Notification) string { return n.ID }))
}

func (h *handlers) readNotification(c *gin.Context) error {
	return httpx.Respond(c, http.StatusOK)(h.svc.ReadNotification(c.Request.Context(), c.Param("user_id"), c.Param("notification_id")))
}

func (h *handlers) readAll(c *gin.Context) error {
	return httpx.Respond(c, http.StatusOK)(h.svc.ReadAllNotifications(c.Request.Context(), c.Param("user_id")))
}
