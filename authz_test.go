package main

// The authorization matrix: for every route that names a user, object or
// session, what each kind of caller gets when the path names the owner's
// objects. The rows are checked against the router's own route list, so a new
// route without a row fails here until someone decides who may call it.
//
// DESIGN.md §4: another user's private object answers 404, never 200 or 403.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/cron"
	"github.com/fitloop/fitloop/platform/jobs"
)

// The callers of the matrix.
const (
	callerAnonymous = iota
	callerOwner
	callerOther // another customer
	callerInstructor
	callerAdmin
	callerCount
)

var callerNames = [callerCount]string{"anonymous", "owner", "other_customer", "instructor", "admin"}

// authzPublicRoutes answer anonymous callers; every other route answers 401.
var authzPublicRoutes = []string{
	"POST /api/v1/users/register",
	"POST /api/v1/users/login",
	"GET /healthz",
	"GET /readyz",
	"GET /metrics",
	"GET /api/openapi.json",
	"GET /api/docs",
	"GET /api/docs/*file",
}

// authzOwner is a user with one of each private object.
type authzOwner struct {
	userID, email, password string
	token                   string // a session of the owner's
	goalID                  string
	tokenID                 string // a personal API token
	apiToken                string // its secret
	sessionID               string // a second session, not the one token names
	sagaID                  string // the users.set_goal saga that stored goalID
	deadJobID               string // a dead job in the queue (the environment's, not the owner's)
	workoutID               string // a workout logged after the fact (ended)
	liveWorkoutID           string // a live workout, started and not ended
	notificationID          string // "goal achieved", from steps that reach the goal
	groupSessionID          string // an invite-only group session the owner hosts, live
	meetingID               string // a meeting the owner organizes, an hour from now
	meetingSessionID        string // the meeting's own invite-only session
	guestID                 string // whom the owner invites: the admin, who sees every session anyway
}

// params fills route's path parameters with the owner's objects.
func (o *authzOwner) params(route string) map[string]string {
	p := map[string]string{
		"user_id": o.userID, "goal_id": o.goalID, "token_id": o.tokenID, "session_id": o.sessionID,
		"file": "", // the docs page itself
		// The admin routes name platform objects, not the owner's.
		"name": cron.CleanupJobName, "job_id": o.deadJobID, "id": o.sagaID,
		"metric": "steps", "notification_id": o.notificationID, "meeting_id": o.meetingID,
	}
	// The workout routes keep the seed API's name for a workout's id,
	// session_id: there it names the owner's workout, the live one to end;
	// the group routes' session_id names the owner's group session.
	switch {
	case strings.HasPrefix(route, "/api/v1/workouts/") && strings.HasSuffix(route, "/end"):
		p["session_id"] = o.liveWorkoutID
	case strings.HasPrefix(route, "/api/v1/workouts/"):
		p["session_id"] = o.workoutID
	case strings.HasPrefix(route, "/api/v1/groups/sessions/"):
		p["session_id"] = o.groupSessionID
	}
	return p
}

// secrets are what no other customer or instructor may see in any answer.
func (o *authzOwner) secrets() []string {
	return []string{o.email, o.goalID, o.tokenID, o.sessionID, o.apiToken, o.workoutID, o.liveWorkoutID,
		o.groupSessionID, o.meetingID, o.meetingSessionID}
}

// authzRow is who gets what on one route.
type authzRow struct {
	// fresh gives every caller its own owner and objects, for routes that
	// destroy or change them, so the order of callers does not matter.
	fresh bool
	body  func(o *authzOwner) any
	// want is the status per caller, indexed by the caller constants.
	want [callerCount]int
}

// Common expectations.
var (
	// private: the owner and admins only; others get the object's 404.
	private = [callerCount]int{401, 200, 404, 404, 200}
	// created: like private, for routes that answer 201.
	created = [callerCount]int{401, 201, 404, 404, 201}
	// removed: like private, for routes that answer 204.
	removed = [callerCount]int{401, 204, 404, 404, 204}
	// closed: like removed, for the account deletion that answers 202 (a saga erases the rest).
	closed = [callerCount]int{401, 202, 404, 404, 202}
	// adminOnly: administrators only; everyone else is refused by role (403).
	adminOnly = [callerCount]int{401, 403, 403, 403, 200}
	// adminOnly202: like adminOnly, for an admin action that answers 202.
	adminOnly202 = [callerCount]int{401, 403, 403, 403, 202}
)

// authzRows has one row per route with a path parameter, keyed "METHOD /path".
var authzRows = map[string]authzRow{
	// Sessions are the caller's own: the path names a session, not a user, so
	// an admin revoking someone else's session is answered like anyone else.
	"DELETE /api/v1/auth/sessions/:session_id": {fresh: true, want: [callerCount]int{401, 204, 404, 404, 404}},

	// The profile is public to signed-in callers: others get the public
	// fields only (checked by the secrets: no email).
	"GET /api/v1/users/:user_id": {want: [callerCount]int{401, 200, 200, 200, 200}},
	"PUT /api/v1/users/:user_id": {want: private, body: func(*authzOwner) any {
		return map[string]any{"display_name": "Renamed"}
	}},
	"DELETE /api/v1/users/:user_id": {fresh: true, want: closed, body: func(o *authzOwner) any {
		return map[string]any{"password": o.password}
	}},
	// An admin must also know the current password (the service asks for it
	// from everyone), so the body carries it.
	"PUT /api/v1/users/:user_id/password": {fresh: true, want: private, body: func(o *authzOwner) any {
		return map[string]any{"current_password": o.password, "new_password": "Brand-New-Passphrase-7"}
	}},

	"GET /api/v1/users/:user_id/biometrics": {want: private},
	"PUT /api/v1/users/:user_id/biometrics": {want: private, body: func(*authzOwner) any {
		return map[string]any{"height_cm": 180}
	}},

	"POST /api/v1/users/:user_id/goals":         {want: created, body: func(*authzOwner) any { return authzGoal() }},
	"GET /api/v1/users/:user_id/goals":          {want: private},
	"GET /api/v1/users/:user_id/goals/:goal_id": {want: private},
	"PUT /api/v1/users/:user_id/goals/:goal_id": {want: private, body: func(*authzOwner) any {
		return map[string]any{"target_value": 12000}
	}},
	"DELETE /api/v1/users/:user_id/goals/:goal_id": {fresh: true, want: removed},

	"POST /api/v1/users/:user_id/tokens": {want: created, body: func(*authzOwner) any {
		return map[string]any{"name": "matrix", "scopes": []string{"read"}}
	}},
	"GET /api/v1/users/:user_id/tokens":              {want: private},
	"DELETE /api/v1/users/:user_id/tokens/:token_id": {fresh: true, want: removed},

	// Admin routes are refused by role before any lookup: 403 says nothing
	// about the user named.
	"PUT /api/v1/admin/users/:user_id": {want: [callerCount]int{401, 403, 403, 403, 200}, body: func(*authzOwner) any {
		return map[string]any{"disabled": false}
	}},

	// The operations routes are admin routes too: refused by role (403
	// forbidden) before the job or saga is looked up, so a non-admin learns
	// nothing about what exists; they are not private objects, hence not 404.
	// Only the admin acts, once per environment: the run is started (202),
	// the dead job is queued again (204; a second retry would be 409), and
	// the owner's users.set_goal saga is shown (200).
	"POST /api/v1/admin/jobs/:name/run":      {want: adminOnly202},
	"POST /api/v1/admin/queue/:job_id/retry": {want: [callerCount]int{401, 403, 403, 403, 204}},
	"GET /api/v1/admin/sagas/:id":            {want: adminOnly},
	// The owner's goal saga completed: an admin may call it but it is not retryable.
	"POST /api/v1/admin/sagas/:id/retry": {want: [callerCount]int{401, 403, 403, 403, 409}},

	// Workouts and health metrics are private: the workout routes name no
	// user, so another caller's 404 is the workout's own. Ending and deleting
	// change the workout, hence an owner per caller.
	"GET /api/v1/workouts/:session_id": {want: private},
	"PUT /api/v1/workouts/:session_id": {want: private, body: func(*authzOwner) any {
		return map[string]any{"notes": "matrix"}
	}},
	"DELETE /api/v1/workouts/:session_id":   {fresh: true, want: removed},
	"POST /api/v1/workouts/:session_id/end": {fresh: true, want: private},
	"POST /api/v1/users/:user_id/workouts":  {want: created, body: func(*authzOwner) any { return authzWorkout() }},
	"GET /api/v1/users/:user_id/workouts":   {want: private},
	// A repeated batch is stored once; every later one answers 200 with duplicates.
	"POST /api/v1/users/:user_id/metrics":         {want: private, body: func(*authzOwner) any { return authzSamples() }},
	"GET /api/v1/users/:user_id/metrics":          {want: private},
	"GET /api/v1/users/:user_id/metrics/:metric":  {want: private},
	"GET /api/v1/users/:user_id/statistics":       {want: private},
	"GET /api/v1/users/:user_id/trends":           {want: private},
	"GET /api/v1/users/:user_id/reports/weekly":   {want: private},
	"GET /api/v1/users/:user_id/reports/monthly":  {want: private},
	"GET /api/v1/users/:user_id/reports/download": {want: private},
	"GET /api/v1/users/:user_id/notifications":    {want: private},
	// Reading twice changes nothing, so one owner serves every caller.
	"POST /api/v1/users/:user_id/notifications/read-all":              {want: private},
	"POST /api/v1/users/:user_id/notifications/:notification_id/read": {want: private},

	// Group sessions and meetings: the owner hosts an invite-only session and
	// organizes a meeting, to neither of which another customer or the
	// instructor is invited, so both are private objects and answer their own
	// 404 (a caller who may see one but not change it gets 403: see
	// TestAuthorizationCrossObjects). Ending a session and cancelling a
	// meeting change them, hence an owner per caller; inviting the admin again
	// changes nothing.
	"GET /api/v1/groups/sessions/:session_id":      {want: private},
	"POST /api/v1/groups/sessions/:session_id/end": {fresh: true, want: private},
	// The owner's session is live: those who may see it learn that its
	// summary comes at the end; others get the session's 404. (Who may read
	// an ended session's summary: modules/groups TestLiveClass.)
	"GET /api/v1/groups/sessions/:session_id/summary": {want: [callerCount]int{401, 409, 404, 404, 409}},
	"POST /api/v1/groups/sessions/:session_id/invites": {want: private, body: func(o *authzOwner) any {
		return map[string]any{"user_ids": []string{o.guestID}}
	}},
	"GET /api/v1/meetings/:meeting_id": {want: private},
	"PUT /api/v1/meetings/:meeting_id": {want: private, body: func(*authzOwner) any {
		return map[string]any{"title": "Renamed"}
	}},
	"DELETE /api/v1/meetings/:meeting_id": {fresh: true, want: removed},

	// Public files: the parameter is a file name, not an object.
	"GET /api/docs/*file": {want: [callerCount]int{200, 200, 200, 200, 200}},
}

// authzNoParamRows are routes without path parameters whose answer depends
// on the caller's role or identity (the rest only need a signed-in caller).
var authzNoParamRows = map[string]authzRow{
	"GET /api/v1/admin/users": {want: adminOnly},
	"GET /api/v1/admin/jobs":  {want: adminOnly},
	"GET /api/v1/admin/queue": {want: adminOnly},
	"GET /api/v1/admin/sagas": {want: adminOnly},
	// Only an administrator loads the warehouse or lists its loads.
	"GET /api/v1/admin/etl/runs": {want: adminOnly},
	"POST /api/v1/admin/etl/run": {want: adminOnly202},
	// Analytics: the overview is for administrators; anyone signed in sees
	// the leaderboard, with their own standing.
	"GET /api/v1/admin/analytics/overview": {want: adminOnly},
	"GET /api/v1/analytics/leaderboard":    {want: [callerCount]int{401, 200, 200, 200, 200}},

	// Anyone signed in lists group sessions, but only those they may see: the
	// secrets keep the owner's invite-only session out of other lists.
	"GET /api/v1/groups/sessions": {want: [callerCount]int{401, 200, 200, 200, 200}},
}

func authzGoal() map[string]any {
	return map[string]any{"goal_type": "steps", "target_value": 10000, "target_date": "2099-12-31", "period": "daily"}
}

// authzWorkout is a finished workout to log, of half an hour three hours ago.
func authzWorkout() map[string]any {
	return map[string]any{"workout_type": "running", "duration": 1800,
		"start_time": time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339)}
}

// authzMeeting is a meeting of an hour, starting in an hour.
func authzMeeting(attendees ...string) map[string]any {
	start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if attendees == nil {
		attendees = []string{}
	}
	return map[string]any{"title": "Form check", "start_time": start.Format(time.RFC3339),
		"end_time": start.Add(time.Hour).Format(time.RFC3339), "attendee_ids": attendees}
}

// authzSamples is a batch of health-metric samples an hour old.
func authzSamples() map[string]any {
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Minute).Format(time.RFC3339)
	return map[string]any{"samples": []map[string]any{
		{"metric": "steps", "value": 1200, "recorded_at": at, "source": "matrix"},
		{"metric": "heart_rate", "value": 64, "recorded_at": at, "source": "matrix"},
	}}
}

// authzEnv is the app with its callers.
type authzEnv struct {
	a      *app
	tokens [callerCount]string // callerOwner's is per owner
	ids    [callerCount]string
	shared *authzOwner
	seq    atomic.Int32
	// deadJobID is a job in the queue that failed its last attempt, for the
	// retry route.
	deadJobID string
}

func newAuthzEnv(t *testing.T) *authzEnv {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	a, err := newApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.close() }) // the hub, the bus and the database
	// Cleanups run last first: a job run started by a test ends before the
	// database closes.
	t.Cleanup(func() { _ = a.cron.Stop(context.Background()) })
	env := &authzEnv{a: a, deadJobID: enqueueDeadJob(t, a)}

	admin := auth.WithPrincipal(ctx, &auth.Principal{Role: auth.RoleAdmin, SessionID: "x"})
	for _, c := range []struct {
		caller int
		role   string
	}{{callerOther, auth.RoleCustomer}, {callerInstructor, auth.RoleInstructor}, {callerAdmin, auth.RoleAdmin}} {
		name := strings.ReplaceAll(callerNames[c.caller], "_", "")
		_, err := a.users.Service().Register(admin, users.RegisterInput{
			Username: name, Email: name + "@example.com", Password: "Matrix-Password-" + name, Role: c.role,
		})
		require.NoError(t, err)
		env.ids[c.caller], env.tokens[c.caller] = env.login(t, name+"@example.com", "Matrix-Password-"+name)
	}
	env.shared = env.newOwner(t)
	return env
}

// serve sends one request through the router.
func (e *authzEnv) serve(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.a.engine.ServeHTTP(w, req)
	return w.Code, w.Body.Bytes()
}

func (e *authzEnv) login(t *testing.T, email, password string) (userID, token string) {
	t.Helper()
	status, body := e.serve(t, "POST", "/api/v1/users/login", "", map[string]string{"email": email, "password": password})
	require.Equal(t, 200, status, string(body))
	var res struct {
		UserID    string `json:"user_id"`
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
	}
	require.NoError(t, json.Unmarshal(body, &res))
	return res.UserID, res.Token
}

// newOwner registers a customer and gives them a goal, an API token and a
// second session.
func (e *authzEnv) newOwner(t *testing.T) *authzOwner {
	t.Helper()
	n := e.seq.Add(1)
	o := &authzOwner{email: fmt.Sprintf("owner%d@example.com", n), password: fmt.Sprintf("Owner-Password-%d", n),
		deadJobID: e.deadJobID, guestID: e.ids[callerAdmin]}
	status, body := e.serve(t, "POST", "/api/v1/users/register", "", map[string]string{
		"username": fmt.Sprintf("owner%d", n), "email": o.email, "password": o.password,
	})
	require.Equal(t, 201, status, string(body))
	o.userID, o.token = e.login(t, o.email, o.password)

	status, body = e.serve(t, "POST", "/api/v1/users/login", "", map[string]string{"email": o.email, "password": o.password})
	require.Equal(t, 200, status, string(body))
	var sess struct {
		SessionID string `json:"session_id"`
	}
	require.NoError(t, json.Unmarshal(body, &sess))
	o.sessionID = sess.SessionID

	status, body = e.serve(t, "POST", "/api/v1/users/"+o.userID+"/goals", o.token, authzGoal())
	require.Equal(t, 201, status, string(body))
	var goal struct {
		GoalID string `json:"goal_id"`
	}
	require.NoError(t, json.Unmarshal(body, &goal))
	o.goalID = goal.GoalID
	o.sagaID = goalSaga(t, e.a, o.goalID)

	status, body = e.serve(t, "POST", "/api/v1/users/"+o.userID+"/tokens", o.token,
		map[string]any{"name": "owner token", "scopes": []string{"read", "write"}})
	require.Equal(t, 201, status, string(body))
	var tok struct {
		TokenID string `json:"token_id"`
		Token   string `json:"token"`
	}
	require.NoError(t, json.Unmarshal(body, &tok))
	o.tokenID, o.apiToken = tok.TokenID, tok.Token

	o.workoutID = e.createdID(t, "/api/v1/users/"+o.userID+"/workouts", o.token, authzWorkout())
	o.liveWorkoutID = e.createdID(t, "/api/v1/workouts/start", o.token,
		map[string]any{"user_id": o.userID, "workout_type": "cycling"})
	o.notificationID = e.achieve(t, o)
	o.groupSessionID = e.groupSession(t, o.token, "invite")
	o.meetingID, o.meetingSessionID = e.meeting(t, o.token)
	require.NotEmpty(t, o.goalID)
	require.NotEmpty(t, o.tokenID)
	require.NotEmpty(t, o.sessionID)
	return o
}

// achieve posts the steps that reach the owner's daily goal and returns the
// id of the "goal achieved" notification that follows (made just after).
func (e *authzEnv) achieve(t *testing.T, o *authzOwner) string {
	t.Helper()
	status, body := e.serve(t, "POST", "/api/v1/users/"+o.userID+"/metrics", o.token, map[string]any{"samples": []any{
		map[string]any{"metric": "steps", "value": 10000, "recorded_at": time.Now().UTC().Add(-time.Second).Format(time.RFC3339Nano)}}})
	require.Equal(t, 200, status, string(body))
	var id string
	require.Eventually(t, func() bool {
		_, body := e.serve(t, "GET", "/api/v1/users/"+o.userID+"/notifications", o.token, nil)
		var l struct {
			Items []struct {
				ID string `json:"notification_id"`
			} `json:"items"`
		}
		if json.Unmarshal(body, &l) != nil || len(l.Items) == 0 {
			return false
		}
		id = l.Items[0].ID
		return true
	}, 10*time.Second, 5*time.Millisecond)
	return id
}

// createdID posts body and returns the session_id of the 201 answer.
func (e *authzEnv) createdID(t *testing.T, path, token string, body any) string {
	t.Helper()
	status, resp := e.serve(t, "POST", path, token, body)
	require.Equal(t, 201, status, string(resp))
	var created struct {
		SessionID string `json:"session_id"`
	}
	require.NoError(t, json.Unmarshal(resp, &created))
	require.NotEmpty(t, created.SessionID)
	return created.SessionID
}

// groupSession opens a live group session of the given visibility hosted by
// the token's user and returns its id.
func (e *authzEnv) groupSession(t *testing.T, token, visibility string) string {
	t.Helper()
	return e.createdID(t, "/api/v1/groups/sessions", token,
		map[string]any{"title": "Matrix class", "workout_type": "yoga", "visibility": visibility})
}

// meeting schedules authzMeeting(attendees...) organized by the token's user
// and returns its id and its session's.
func (e *authzEnv) meeting(t *testing.T, token string, attendees ...string) (meetingID, sessionID string) {
	t.Helper()
	status, body := e.serve(t, "POST", "/api/v1/meetings", token, authzMeeting(attendees...))
	require.Equal(t, 201, status, string(body))
	var m struct {
		MeetingID string `json:"meeting_id"`
		SessionID string `json:"session_id"`
	}
	require.NoError(t, json.Unmarshal(body, &m))
	require.NotEmpty(t, m.MeetingID)
	require.NotEmpty(t, m.SessionID)
	return m.MeetingID, m.SessionID
}

// goalSaga is the id of the users.set_goal saga that stored the goal.
func goalSaga(t *testing.T, a *app, goalID string) string {
	t.Helper()
	var ids []string
	require.NoError(t, a.db.Read(context.Background()).
		Raw(`SELECT id FROM saga_instances WHERE name = ? AND data LIKE ?`, users.SagaSetGoal, "%"+goalID+"%").
		Scan(&ids).Error)
	require.Len(t, ids, 1, "one users.set_goal saga stored goal %s", goalID)
	return ids[0]
}

// enqueueDeadJob adds a job that has failed its last attempt, as a worker
// leaves it, so an admin can retry it (nothing handles its kind in tests).
func enqueueDeadJob(t *testing.T, a *app) string {
	t.Helper()
	var id string
	err := a.db.Tx(context.Background(), func(tx *gorm.DB) error {
		var err error
		if id, err = jobs.Enqueue(context.Background(), tx, jobs.Job{Kind: "test.dead", MaxAttempts: 1}); err != nil {
			return err
		}
		return tx.Exec(`UPDATE jobs_queue SET state = 'dead', attempts = 1, last_error = 'boom', finished_at = updated_at
			WHERE id = ?`, id).Error
	})
	require.NoError(t, err)
	return id
}

// fill replaces the path's parameters (":name" and "*name") from params.
func fill(t *testing.T, route string, params map[string]string) string {
	t.Helper()
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if p == "" || (p[0] != ':' && p[0] != '*') {
			continue
		}
		v, ok := params[p[1:]]
		require.True(t, ok, "no value for parameter %s of %s: teach authzOwner.params about it", p, route)
		parts[i] = v
	}
	return strings.Join(parts, "/")
}

func hasParams(path string) bool { return strings.ContainsAny(path, ":*") }

func TestAuthorizationMatrix(t *testing.T) {
	env := newAuthzEnv(t)
	routes := env.a.engine.Routes()
	require.NotEmpty(t, routes)

	t.Run("every_route_with_a_parameter_has_a_row", func(t *testing.T) {
		seen := map[string]bool{}
		for _, r := range routes {
			key := r.Method + " " + r.Path
			seen[key] = true
			if hasParams(r.Path) {
				_, ok := authzRows[key]
				assert.True(t, ok, "route %s has no row in authzRows: decide who may call it", key)
			}
		}
		for key := range authzRows {
			assert.True(t, seen[key], "authzRows has %s, which is not a route (any more)", key)
		}
		for key := range authzNoParamRows {
			assert.True(t, seen[key], "authzNoParamRows has %s, which is not a route (any more)", key)
		}
		for _, key := range authzPublicRoutes {
			assert.True(t, seen[key], "authzPublicRoutes has %s, which is not a route (any more)", key)
		}
	})

	t.Run("anonymous_callers_get_401_except_on_public_routes", func(t *testing.T) {
		for _, r := range routes {
			key := r.Method + " " + r.Path
			path := fill(t, r.Path, env.shared.params(r.Path))
			status, body := env.serve(t, r.Method, path, "", nil)
			if slices.Contains(authzPublicRoutes, key) {
				assert.NotEqual(t, 401, status, "%s is public: %s", key, body)
				continue
			}
			if assert.Equal(t, 401, status, "%s must refuse anonymous callers: %s", key, body) {
				assert.Contains(t, string(body), `"code":"unauthenticated"`, key)
			}
			for _, s := range env.shared.secrets() {
				assert.NotContains(t, string(body), s, key)
			}
		}
	})

	check := func(t *testing.T, key string, row authzRow) {
		method, route, _ := strings.Cut(key, " ")
		for caller := range callerCount {
			t.Run(callerNames[caller], func(t *testing.T) {
				owner := env.shared
				if row.fresh {
					owner = env.newOwner(t)
				}
				token := env.tokens[caller]
				if caller == callerOwner {
					token = owner.token
				}
				var body any
				if row.body != nil {
					body = row.body(owner)
				}
				status, resp := env.serve(t, method, fill(t, route, owner.params(route)), token, body)
				assert.Equal(t, row.want[caller], status, "%s as %s: %s", key, callerNames[caller], resp)
				if status == 404 {
					assert.Contains(t, string(resp), `_not_found"`, "a 404 names what was not found")
				}
				if status == 403 { // only admin routes refuse by role here
					assert.Contains(t, string(resp), `"code":"forbidden"`, "a 403 is the role refusal")
				}
				if caller == callerOther || caller == callerInstructor {
					for _, s := range owner.secrets() {
						assert.NotContains(t, string(resp), s, "%s as %s leaks the owner's data", key, callerNames[caller])
					}
				}
			})
		}
	}
	for key, row := range authzRows {
		t.Run(strings.NewReplacer(" ", "_", "/", "_", ":", "", "*", "").Replace(key), func(t *testing.T) { check(t, key, row) })
	}
	for key, row := range authzNoParamRows {
		t.Run(strings.NewReplacer(" ", "_", "/", "_").Replace(key), func(t *testing.T) { check(t, key, row) })
	}
}

// TestAuthorizationCrossObjects names the caller's own account with the
// owner's object: the object must still be invisible (no IDOR through the
// child id).
func TestAuthorizationCrossObjects(t *testing.T) {
	env := newAuthzEnv(t)
	o := env.shared
	for _, caller := range []int{callerOther, callerInstructor, callerAdmin} {
		own := env.ids[caller]
		tests := []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/users/" + own + "/goals/" + o.goalID, nil},
			{"PUT", "/api/v1/users/" + own + "/goals/" + o.goalID, map[string]any{"status": "cancelled"}},
			{"DELETE", "/api/v1/users/" + own + "/goals/" + o.goalID, nil},
			{"DELETE", "/api/v1/users/" + own + "/tokens/" + o.tokenID, nil},
			{"DELETE", "/api/v1/auth/sessions/" + o.sessionID, nil},
		}
		for _, tt := range tests {
			t.Run(callerNames[caller]+"_"+tt.method+"_"+strings.Split(tt.path, "/")[5], func(t *testing.T) {
				status, body := env.serve(t, tt.method, tt.path, env.tokens[caller], tt.body)
				assert.Equal(t, 404, status, "%s %s: %s", tt.method, tt.path, body)
			})
		}
	}
	// The workout routes name no user in the path: naming the owner in a
	// start, or listing one's own workouts, reaches nothing of the owner's.
	for _, caller := range []int{callerOther, callerInstructor} {
		t.Run(callerNames[caller]+"_starts_a_workout_for_the_owner", func(t *testing.T) {
			status, body := env.serve(t, "POST", "/api/v1/workouts/start", env.tokens[caller],
				map[string]any{"user_id": o.userID, "workout_type": "running"})
			assert.Equal(t, 404, status, string(body))
			assert.Contains(t, string(body), `"code":"user_not_found"`)
		})
	}
	for _, caller := range []int{callerOther, callerInstructor, callerAdmin} {
		t.Run(callerNames[caller]+"_lists_their_own_workouts_only", func(t *testing.T) {
			status, body := env.serve(t, "GET", "/api/v1/users/"+env.ids[caller]+"/workouts", env.tokens[caller], nil)
			assert.Equal(t, 200, status, string(body))
			assert.NotContains(t, string(body), o.workoutID)
			assert.NotContains(t, string(body), o.liveWorkoutID)
		})
	}
	groupsSeeButNotChange(t, env)
	t.Run("the_owner_still_has_everything", func(t *testing.T) {
		status, body := env.serve(t, "GET", "/api/v1/users/"+o.userID+"/goals/"+o.goalID, o.token, nil)
		assert.Equal(t, 200, status, string(body))
		assert.Contains(t, string(body), `"status":"active"`)
		status, body = env.serve(t, "GET", "/api/v1/users/"+o.userID+"/tokens", o.token, nil)
		assert.Equal(t, 200, status)
		assert.Contains(t, string(body), o.tokenID)
		status, body = env.serve(t, "GET", "/api/v1/auth/sessions", o.token, nil)
		assert.Equal(t, 200, status)
		assert.Contains(t, string(body), o.sessionID)
		status, body = env.serve(t, "GET", "/api/v1/users/"+o.userID+"/workouts", o.token, nil)
		assert.Equal(t, 200, status)
		assert.Contains(t, string(body), o.workoutID)
		assert.Contains(t, string(body), o.liveWorkoutID)
	})
}

// groupsSeeButNotChange covers what the matrix cannot: callers who may see
// the owner's group session or meeting but not change it get 403 (not_host,
// not_organizer), and lists show each caller only what they may see. The
// owner hosts a public session, an invite-only one the other customer is
// invited to, and a meeting the instructor attends.
func groupsSeeButNotChange(t *testing.T, env *authzEnv) {
	t.Helper()
	o, other, instructor := env.shared, env.ids[callerOther], env.ids[callerInstructor]
	public := env.groupSession(t, o.token, "public")
	invited := env.groupSession(t, o.token, "invite")
	status, body := env.serve(t, "POST", "/api/v1/groups/sessions/"+invited+"/invites", o.token,
		map[string]any{"user_ids": []string{other}})
	require.Equal(t, 200, status, string(body))
	meetingID, meetingSession := env.meeting(t, o.token, instructor)

	sessions, meetings := "/api/v1/groups/sessions/", "/api/v1/meetings/"
	invite := map[string]any{"user_ids": []string{env.ids[callerAdmin]}}
	rename := map[string]any{"title": "Renamed"}
	tests := []struct {
		name         string
		caller       int
		method, path string
		body         any
		want         int
		code         string
	}{
		{"sees_a_public_session", callerOther, "GET", sessions + public, nil, 200, ""},
		{"may_not_end_it", callerOther, "POST", sessions + public + "/end", nil, 403, "not_host"},
		{"may_not_invite_to_it", callerInstructor, "POST", sessions + public + "/invites", invite, 403, "not_host"},
		{"an_invitee_sees_the_session", callerOther, "GET", sessions + invited, nil, 200, ""},
		{"an_invitee_may_not_end_it", callerOther, "POST", sessions + invited + "/end", nil, 403, "not_host"},
		{"an_invitee_may_not_invite", callerOther, "POST", sessions + invited + "/invites", invite, 403, "not_host"},
		{"others_do_not_see_it", callerInstructor, "GET", sessions + invited, nil, 404, "session_not_found"},
		{"nor_end_it", callerInstructor, "POST", sessions + invited + "/end", nil, 404, "session_not_found"},
		{"an_attendee_sees_the_meeting", callerInstructor, "GET", meetings + meetingID, nil, 200, ""},
		{"and_its_session", callerInstructor, "GET", sessions + meetingSession, nil, 200, ""},
		{"an_attendee_may_not_change_it", callerInstructor, "PUT", meetings + meetingID, rename, 403, "not_organizer"},
		{"nor_cancel_it", callerInstructor, "DELETE", meetings + meetingID, nil, 403, "not_organizer"},
		{"nor_end_its_session", callerInstructor, "POST", sessions + meetingSession + "/end", nil, 403, "not_host"},
		{"others_do_not_see_the_meeting", callerOther, "GET", meetings + meetingID, nil, 404, "meeting_not_found"},
		{"nor_its_session", callerOther, "GET", sessions + meetingSession, nil, 404, "session_not_found"},
		{"nor_change_it", callerOther, "PUT", meetings + meetingID, rename, 404, "meeting_not_found"},
		{"an_admin_ends_a_public_session", callerAdmin, "POST", sessions + public + "/end", nil, 200, `"end_reason":"admin"`},
	}
	for _, tt := range tests {
		t.Run(callerNames[tt.caller]+"_"+tt.name, func(t *testing.T) {
			status, body := env.serve(t, tt.method, tt.path, env.tokens[tt.caller], tt.body)
			assert.Equal(t, tt.want, status, "%s %s: %s", tt.method, tt.path, body)
			if tt.want >= 400 {
				assert.Contains(t, string(body), `"code":"`+tt.code+`"`)
			} else if tt.code != "" {
				assert.Contains(t, string(body), tt.code)
			}
		})
	}

	list := func(caller int, state string) string {
		status, body := env.serve(t, "GET", "/api/v1/groups/sessions?state="+state, env.tokens[caller], nil)
		require.Equal(t, 200, status, string(body))
		return string(body)
	}
	t.Run("lists_show_what_each_caller_may_see", func(t *testing.T) {
		live := list(callerOther, "live")
		assert.Contains(t, live, invited)
		assert.NotContains(t, live, o.groupSessionID)
		assert.NotContains(t, list(callerInstructor, "live"), invited)
		assert.Contains(t, list(callerInstructor, "scheduled"), meetingSession)
		assert.NotContains(t, list(callerOther, "scheduled"), meetingSession)
		assert.Contains(t, list(callerAdmin, "live"), o.groupSessionID)
	})
}

// TestAuthorizationAPITokens checks what a personal API token may do on the
// owner's routes: read and write data, but not manage tokens or the account.
func TestAuthorizationAPITokens(t *testing.T) {
	env := newAuthzEnv(t)
	o := env.shared
	u := "/api/v1/users/" + o.userID
	tests := []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", u, nil, http.StatusOK},
		{"GET", u + "/goals", nil, http.StatusOK},
		{"GET", u + "/goals/" + o.goalID, nil, http.StatusOK},
		{"POST", u + "/goals", authzGoal(), http.StatusCreated},
		{"PUT", u + "/biometrics", map[string]any{"weight_kg": 70}, http.StatusOK},
		{"GET", u + "/tokens", nil, http.StatusForbidden},
		{"POST", u + "/tokens", map[string]any{"name": "x", "scopes": []string{"read"}}, http.StatusForbidden},
		{"DELETE", u + "/tokens/" + o.tokenID, nil, http.StatusForbidden},
		{"DELETE", u, map[string]any{"password": o.password}, http.StatusForbidden},
		{"PUT", u + "/password", map[string]any{"current_password": o.password, "new_password": "Another-Passphrase-1"}, http.StatusForbidden},
		{"GET", "/api/v1/auth/sessions", nil, http.StatusForbidden},
		{"GET", "/api/v1/users/" + env.ids[callerOther] + "/goals", nil, http.StatusNotFound},
		{"GET", u + "/workouts", nil, http.StatusOK},
		{"GET", "/api/v1/workouts/" + o.workoutID, nil, http.StatusOK},
		{"POST", u + "/metrics", authzSamples(), http.StatusOK},
		{"GET", u + "/metrics/steps", nil, http.StatusOK},
		{"GET", u + "/statistics", nil, http.StatusOK},
		{"GET", u + "/trends", nil, http.StatusOK},
		{"GET", "/api/v1/analytics/leaderboard?metric=steps", nil, http.StatusOK},
		{"GET", u + "/reports/weekly", nil, http.StatusOK},
		{"POST", u + "/notifications/read-all", nil, http.StatusOK},
		{"GET", "/api/v1/users/" + env.ids[callerOther] + "/workouts", nil, http.StatusNotFound},
		{"GET", "/api/v1/groups/sessions", nil, http.StatusOK},
		{"GET", "/api/v1/groups/sessions/" + o.groupSessionID, nil, http.StatusOK},
		{"POST", "/api/v1/meetings", authzMeeting(), http.StatusCreated},
		{"PUT", "/api/v1/meetings/" + o.meetingID, map[string]any{"title": "Renamed by a token"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.method+"_"+strings.TrimPrefix(tt.path, "/api/v1/"), func(t *testing.T) {
			status, body := env.serve(t, tt.method, tt.path, o.apiToken, tt.body)
			assert.Equal(t, tt.want, status, string(body))
		})
	}
}
