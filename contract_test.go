package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/testkit"
	"github.com/fitloop/fitloop/web"
)

// docsAssetRoute serves the files of the docs page; the document describes
// the page's entry, /api/docs, not every file behind it.
const docsAssetRoute = "/api/docs/*file"

// contractApp is the whole application on a fresh SQLite database in a temp dir.
func contractApp(tb testing.TB) *app {
	tb.Helper()
	cfg := config.Default()
	cfg.DataDir = tb.TempDir()
	a, err := newApp(tb.Context(), cfg, slog.New(slog.DiscardHandler))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = a.close() })
	return a
}

// loadOpenAPI parses the embedded document; it does not validate it.
func loadOpenAPI(tb testing.TB, raw []byte) *openapi3.T {
	tb.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	require.NoError(tb, err, "web/openapi.json does not load")
	return doc
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// servedRoutes lists "METHOD /path/{param}" for every route the engine serves.
func servedRoutes(a *app) map[string]bool {
	out := map[string]bool{}
	for _, r := range a.engine.Routes() {
		if r.Path == docsAssetRoute {
			continue
		}
		out[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	return out
}

// documentedOperations lists "METHOD /path/{param}" for every operation of the document.
func documentedOperations(doc *openapi3.T) map[string]bool {
	out := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out[method+" "+path] = true
		}
	}
	return out
}

func TestContractRoutesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	routes, ops := servedRoutes(contractApp(t)), documentedOperations(loadOpenAPI(t, web.OpenAPI))
	require.NotEmpty(t, routes)
	for _, r := range slices.Sorted(maps.Keys(routes)) {
		if !ops[r] {
			t.Errorf("route %s is served but not described in web/openapi.json", r)
		}
	}
	for _, op := range slices.Sorted(maps.Keys(ops)) {
		if !routes[op] {
			t.Errorf("web/openapi.json describes %s, which no route serves", op)
		}
	}
}

func TestOpenAPIDocumentIsServedAndValid(t *testing.T) {
	t.Parallel()
	a := contractApp(t)
	rec := contractGet(a, "/api/openapi.json")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.Equal(t, web.OpenAPI, rec.Body.Bytes())

	doc := loadOpenAPI(t, rec.Body.Bytes())
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	require.NoError(t, doc.Validate(t.Context()), "web/openapi.json is not a valid OpenAPI 3.1 document")
	assert.True(t, json.Valid(web.OpenAPI))

	t.Run("answers_not_modified_to_a_matching_etag", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil)
		req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
		again := httptest.NewRecorder()
		a.engine.ServeHTTP(again, req)
		assert.Equal(t, http.StatusNotModified, again.Code)
	})
	t.Run("every_operation_is_named_tagged_and_lists_its_errors", func(t *testing.T) {
		checkOperations(t, doc)
	})
}

// checkOperations holds the document to its own conventions, so a new
// operation cannot quietly skip them.
func checkOperations(t *testing.T, doc *openapi3.T) {
	t.Helper()
	tags := map[string]bool{}
	for _, tag := range doc.Tags {
		tags[tag.Name] = true
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			assert.NotEmpty(t, op.Summary, "%s has no summary", name)
			if prev, dup := ids[op.OperationID]; dup || op.OperationID == "" {
				t.Errorf("%s: operationId %q is empty or also used by %s", name, op.OperationID, prev)
			}
			ids[op.OperationID] = name
			assert.NotEmpty(t, op.Tags, "%s has no tag", name)
			for _, tag := range op.Tags {
				assert.True(t, tags[tag], "%s: tag %q is not declared in the top-level tags", name, tag)
			}
			if !strings.HasPrefix(path, "/api/v1/") {
				continue
			}
			assert.NotNil(t, op.Responses.Status(http.StatusInternalServerError), "%s does not document 500", name)
			public := op.Security != nil && len(*op.Security) == 0
			if !public {
				assert.NotNil(t, op.Responses.Status(http.StatusUnauthorized), "%s does not document 401", name)
			}
			if op.RequestBody != nil {
				for _, status := range []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType} {
					assert.NotNil(t, op.Responses.Status(status), "%s takes a body but does not document %d", name, status)
				}
			}
		}
	}
}

func TestOpenAPIDocsPageIsServedWithItsAssets(t *testing.T) {
	t.Parallel()
	a := contractApp(t)

	rec := contractGet(a, "/api/docs")
	assert.Equal(t, http.StatusMovedPermanently, rec.Code)
	assert.Equal(t, "/api/docs/", rec.Header().Get("Location"))

	page := contractGet(a, "/api/docs/")
	require.Equal(t, http.StatusOK, page.Code)
	assert.Equal(t, "text/html; charset=utf-8", page.Header().Get("Content-Type"))
	html := page.Body.String()
	assert.Contains(t, html, "SwaggerUIBundle(")
	assert.Contains(t, html, "url: '/api/openapi.json'")

	// Every asset the page names is served from the binary: no CDN.
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(html, -1)
	require.Len(t, refs, 2, "the page should load exactly the bundle and the stylesheet")
	wantType := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	for _, ref := range refs {
		u := ref[1]
		require.NotRegexp(t, `^(https?:)?//`, u, "the docs page loads %s from elsewhere", u)
		rec := contractGet(a, "/api/docs/"+u)
		require.Equal(t, http.StatusOK, rec.Code, u)
		file := strings.SplitN(u, "?", 2)[0]
		assert.Equal(t, wantType[file[strings.LastIndex(file, "."):]], rec.Header().Get("Content-Type"), u)
		assert.Greater(t, rec.Body.Len(), 100_000, "%s looks truncated", u)
	}
	assert.Contains(t, contractGet(a, "/api/docs/swagger-ui-bundle.js").Body.String(), "SwaggerUIBundle")
	for _, f := range []string{"LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"} {
		assert.Equal(t, http.StatusOK, contractGet(a, "/api/docs/"+f).Code, "the license file %s must ship with the assets", f)
	}
	assert.Equal(t, http.StatusNotFound, contractGet(a, "/api/docs/nope.js").Code)
}

// contractGet sends a GET through the engine.
func contractGet(a *app, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	a.engine.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// contractClient sends requests through the engine and checks every exchange
// against the document. A body is sent as JSON, or as text when it is a string.
type contractClient struct {
	a *app
	v *testkit.OpenAPIValidator
}

func (c contractClient) do(tb testing.TB, method, path, token string, body any) (int, map[string]any) {
	tb.Helper()
	status, _, out := c.doWith(tb, method, path, token, nil, body)
	return status, out
}

// doWith is do with extra request headers; it also returns the response's.
func (c contractClient) doWith(tb testing.TB, method, path, token string, header http.Header, body any) (int, http.Header, map[string]any) {
	tb.Helper()
	var raw []byte
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case string: // sent as is, as text
		raw, contentType = []byte(b), "text/plain"
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			tb.Fatal(err)
		}
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	c.a.engine.ServeHTTP(rec, req)
	c.v.Check(tb, req, raw, rec.Code, rec.Result().Header, rec.Body.Bytes())
	var out map[string]any
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && rec.Body.Len() > 0 {
		require.NoError(tb, json.Unmarshal(rec.Body.Bytes(), &out))
	}
	return rec.Code, rec.Result().Header, out
}

func TestOpenAPIValidatorAcceptsRealResponses(t *testing.T) {
	t.Parallel()
	v := testkit.NewOpenAPIValidator(t, web.OpenAPI)
	v.CheckRequests = true
	c := contractClient{a: contractApp(t), v: v}
	const pw = "a long enough password"

	register := func(name string) string {
		status, acct := c.do(t, http.MethodPost, "/api/v1/users/register", "",
			map[string]any{"username": name, "email": name + "@example.com", "password": pw})
		require.Equal(t, http.StatusCreated, status)
		return acct["user_id"].(string)
	}
	login := func(name string) string {
		status, res := c.do(t, http.MethodPost, "/api/v1/users/login", "",
			map[string]any{"email": name + "@example.com", "password": pw})
		require.Equal(t, http.StatusOK, status)
		return res["token"].(string)
	}
	ada, bob := register("ada"), register("bob")
	adaToken, bobToken := login("ada"), login("bob")

	status, profile := c.do(t, http.MethodGet, "/api/v1/users/"+ada, adaToken, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "ada@example.com", profile["email"], "self sees the private fields")
	status, profile = c.do(t, http.MethodGet, "/api/v1/users/"+ada, bobToken, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.NotContains(t, profile, "email", "others see the public profile")

	status, body := c.do(t, http.MethodPost, "/api/v1/users/register", "",
		map[string]any{"username": "x", "email": "not-an-email", "password": "short"})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "validation_failed", errorCode(body))

	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"unknown_field", http.MethodPost, "/api/v1/users/register", "", map[string]any{"nick": "x"}, 400, "unknown_field"},
		{"invalid_type", http.MethodPost, "/api/v1/users/login", "", map[string]any{"email": 1}, 400, "invalid_type"},
		{"email_taken", http.MethodPost, "/api/v1/users/register", "",
			map[string]any{"username": "ada2", "email": "ada@example.com", "password": pw}, 409, "email_taken"},
		{"wrong_password", http.MethodPost, "/api/v1/users/login", "",
			map[string]any{"email": "ada@example.com", "password": "wrong password"}, 401, "invalid_credentials"},
		{"no_credential", http.MethodGet, "/api/v1/users/" + ada, "", nil, 401, "unauthenticated"},
		{"unknown_user", http.MethodGet, "/api/v1/users/" + bob + "x", adaToken, nil, 404, "user_not_found"},
		{"others_goals", http.MethodGet, "/api/v1/users/" + bob + "/goals", adaToken, nil, 404, "user_not_found"},
		{"past_goal", http.MethodPost, "/api/v1/users/" + ada + "/goals", adaToken,
			map[string]any{"goal_type": "steps", "target_value": 10000, "target_date": "2001-01-01"}, 400, "validation_failed"},
		{"not_admin", http.MethodGet, "/api/v1/admin/users", adaToken, nil, 403, "forbidden"},
		{"not_admin_jobs", http.MethodPost, "/api/v1/admin/jobs/cron.cleanup/run", adaToken, nil, 403, "forbidden"},
		{"bad_limit", http.MethodGet, "/api/v1/users/" + ada + "/goals?limit=many", adaToken, nil, 400, "validation_failed"},
	} {
		status, body := c.do(t, tc.method, tc.path, tc.token, tc.body)
		assert.Equal(t, tc.status, status, tc.name)
		assert.Equal(t, tc.code, errorCode(body), tc.name)
	}

	status, _ = c.do(t, http.MethodPost, "/api/v1/users/"+ada+"/goals", adaToken,
		map[string]any{"goal_type": "steps", "target_value": 10000, "target_date": "2201-01-01"})
	assert.Equal(t, http.StatusBadRequest, status)
	status, goal := c.do(t, http.MethodPost, "/api/v1/users/"+ada+"/goals", adaToken,
		map[string]any{"goal_type": "steps", "target_value": 10000, "target_date": "2199-12-31", "period": "daily"})
	require.Equal(t, http.StatusCreated, status)
	status, _ = c.do(t, http.MethodGet, "/api/v1/users/"+ada+"/goals?status=active&limit=1", adaToken, nil)
	assert.Equal(t, http.StatusOK, status)
	status, _ = c.do(t, http.MethodDelete, "/api/v1/users/"+ada+"/goals/"+goal["goal_id"].(string), adaToken, nil)
	assert.Equal(t, http.StatusNoContent, status)

	// Idempotency-Key on goal creation: stored, replayed, refused when reused or malformed.
	idem := func(key string) http.Header { return http.Header{"Idempotency-Key": {key}} }
	newGoal := map[string]any{"goal_type": "workouts", "target_value": 3, "target_date": "2199-12-31", "period": "weekly"}
	status, hdr, first := c.doWith(t, http.MethodPost, "/api/v1/users/"+ada+"/goals", adaToken, idem("goal-1"), newGoal)
	require.Equal(t, http.StatusCreated, status)
	assert.Empty(t, hdr.Get("Idempotent-Replayed"))
	status, hdr, again := c.doWith(t, http.MethodPost, "/api/v1/users/"+ada+"/goals", adaToken, idem("goal-1"), newGoal)
	assert.Equal(t, http.StatusCreated, status)
	assert.Equal(t, "true", hdr.Get("Idempotent-Replayed"))
	assert.Equal(t, first["goal_id"], again["goal_id"], "a replay creates nothing")
	newGoal["target_value"] = 4
	status, _, body = c.doWith(t, http.MethodPost, "/api/v1/users/"+ada+"/goals", adaToken, idem("goal-1"), newGoal)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Equal(t, "idempotency_key_reused", errorCode(body))
	status, _, body = c.doWith(t, http.MethodPost, "/api/v1/users/"+ada+"/goals", adaToken, idem(strings.Repeat("k", 256)), newGoal)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "idempotency_key_invalid", errorCode(body))

	status, tok := c.do(t, http.MethodPost, "/api/v1/users/"+ada+"/tokens", adaToken,
		map[string]any{"name": "script", "scopes": []string{"read"}})
	require.Equal(t, http.StatusCreated, status)
	apiToken := tok["token"].(string)
	status, _ = c.do(t, http.MethodGet, "/api/v1/users/"+ada+"/biometrics", apiToken, nil)
	assert.Equal(t, http.StatusOK, status)
	status, body = c.do(t, http.MethodGet, "/api/v1/users/"+ada+"/tokens", apiToken, nil)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, "session_required", errorCode(body))
	status, body = c.do(t, http.MethodPut, "/api/v1/users/"+ada+"/biometrics", apiToken, map[string]any{"height_cm": 170})
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, "insufficient_scope", errorCode(body))
	status, body = c.do(t, http.MethodPost, "/api/v1/admin/queue/"+ada+"/retry", apiToken, nil)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, "insufficient_scope", errorCode(body), "scopes are checked before the role")

	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/api/openapi.json", "/api/docs"} {
		c.do(t, http.MethodGet, path, "", nil)
	}
	status, _ = c.do(t, http.MethodDelete, "/api/v1/auth/session", adaToken, nil)
	assert.Equal(t, http.StatusNoContent, status)
}

func TestOpenAPIValidatorAcceptsAdminAndSessionResponses(t *testing.T) {
	t.Parallel()
	v := testkit.NewOpenAPIValidator(t, web.OpenAPI)
	v.CheckRequests = true
	c := contractClient{a: contractApp(t), v: v}
	const pw = "a long enough password"
	system := auth.WithPrincipal(t.Context(), &auth.Principal{UserID: "system", Role: auth.RoleAdmin, SessionID: "test"})
	root, err := c.a.users.Service().Register(system, users.RegisterInput{
		Username: "root", Email: "root@example.com", Password: pw, Role: auth.RoleAdmin})
	require.NoError(t, err)
	status, res := c.do(t, http.MethodPost, "/api/v1/users/login", "", map[string]any{"email": "root@example.com", "password": pw})
	require.Equal(t, http.StatusOK, status)
	admin := res["token"].(string)
	status, acct := c.do(t, http.MethodPost, "/api/v1/users/register", admin,
		map[string]any{"username": "Eve", "email": "eve@example.com", "password": pw, "role": "instructor"})
	require.Equal(t, http.StatusCreated, status)
	eve := acct["user_id"].(string)

	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"biometrics", http.MethodPut, "/api/v1/users/" + eve + "/biometrics",
			map[string]any{"height_cm": 170.5, "weight_kg": 61, "birth_date": "1990-04-23", "sex": "female"}, 200},
		{"full_profile_with_biometrics", http.MethodGet, "/api/v1/users/" + eve, nil, 200},
		{"profile_update", http.MethodPut, "/api/v1/users/" + eve, map[string]any{"display_name": "Eve", "units": "imperial", "bio": nil}, 200},
		{"user_list", http.MethodGet, "/api/v1/admin/users?q=e&limit=1", nil, 200},
		{"disable", http.MethodPut, "/api/v1/admin/users/" + eve, map[string]any{"disabled": true}, 200},
		{"cannot_demote_self", http.MethodPut, "/api/v1/admin/users/" + root.UserID, map[string]any{"role": "customer"}, 409},
		{"bad_role", http.MethodPut, "/api/v1/admin/users/" + eve, map[string]any{"role": "owner"}, 400},
		{"not_json", http.MethodPut, "/api/v1/admin/users/" + eve, "role=admin", 415},
		{"too_large", http.MethodPut, "/api/v1/users/" + eve, map[string]any{"bio": strings.Repeat("x", 2<<20)}, 413},
		{"sessions", http.MethodGet, "/api/v1/auth/sessions", nil, 200},
		{"current_session", http.MethodGet, "/api/v1/auth/session", nil, 200},
		{"extend_session", http.MethodPut, "/api/v1/auth/session", nil, 200},
		{"tokens", http.MethodGet, "/api/v1/users/" + eve + "/tokens", nil, 200},
		{"unknown_session", http.MethodDelete, "/api/v1/auth/sessions/" + eve, nil, 404},
		{"delete_account", http.MethodDelete, "/api/v1/users/" + eve, nil, 202},
	} {
		status, _ := c.do(t, tc.method, tc.path, admin, tc.body)
		assert.Equal(t, tc.status, status, tc.name)
	}

	// The operations routes: scheduled jobs, the queue, sagas.
	t.Cleanup(func() { _ = c.a.cron.Stop(context.Background()) }) // before the database closes
	dead := enqueueDeadJob(t, c.a)
	const unknownID = "0190a0a0-0000-7000-8000-000000000009"
	status, run := c.do(t, http.MethodPost, "/api/v1/admin/jobs/cron.cleanup/run", admin, nil)
	require.Equal(t, http.StatusAccepted, status)
	status, list := c.do(t, http.MethodGet, "/api/v1/admin/jobs", admin, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, fmt.Sprint(list["items"]), run["run_id"], "the run is the job's last run")
	status, _ = c.do(t, http.MethodPost, "/api/v1/users/"+root.UserID+"/goals", admin,
		map[string]any{"goal_type": "steps", "target_value": 10000, "target_date": "2199-12-31"})
	require.Equal(t, http.StatusCreated, status)
	status, sagas := c.do(t, http.MethodGet, "/api/v1/admin/sagas?limit=1", admin, nil)
	require.Equal(t, http.StatusOK, status)
	require.NotEmpty(t, sagas["next_cursor"], "account deletion and goal creation both ran sagas")
	first := sagas["items"].([]any)[0].(map[string]any)
	for _, tc := range []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"unknown_cron_job", http.MethodPost, "/api/v1/admin/jobs/nope/run", 404, "job_not_found"},
		{"queue", http.MethodGet, "/api/v1/admin/queue", 200, ""},
		{"retry", http.MethodPost, "/api/v1/admin/queue/" + dead + "/retry", 204, ""},
		{"retry_a_queued_job", http.MethodPost, "/api/v1/admin/queue/" + dead + "/retry", 409, "job_not_retryable"},
		{"retry_unknown_job", http.MethodPost, "/api/v1/admin/queue/" + unknownID + "/retry", 404, "job_not_found"},
		{"saga_next_page", http.MethodGet, "/api/v1/admin/sagas?cursor=" + sagas["next_cursor"].(string), 200, ""},
		{"saga", http.MethodGet, "/api/v1/admin/sagas/" + first["id"].(string), 200, ""},
		{"unknown_saga", http.MethodGet, "/api/v1/admin/sagas/" + unknownID, 404, "saga_not_found"},
		{"completed_sagas", http.MethodGet, "/api/v1/admin/sagas?state=completed", 200, ""},
		{"bad_saga_state", http.MethodGet, "/api/v1/admin/sagas?state=lost", 400, "validation_failed"},
	} {
		status, body := c.do(t, tc.method, tc.path, admin, nil)
		assert.Equal(t, tc.status, status, tc.name)
		assert.Equal(t, tc.code, errorCode(body), tc.name)
	}
}

// errorCode is the error.code of an error envelope, or "".
func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// recordingTB captures the failures a check reports instead of failing.
type recordingTB struct {
	testing.TB
	errs []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestOpenAPIValidatorReportsMismatches(t *testing.T) {
	t.Parallel()
	v := testkit.NewOpenAPIValidator(t, web.OpenAPI)
	v.CheckRequests = true
	jsonHeader := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	htmlHeader := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	registerBody := []byte(`{"username":"ada","email":"ada@example.com","password":"a long enough password","nick":"x"}`)
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		reqBody []byte
		status  int
		header  http.Header
		body    string
		want    string
	}{
		{"an_undocumented_route", "GET", "/api/v1/nope", nil, 200, jsonHeader, `{}`, "no such operation"},
		{"an_undocumented_method", "PATCH", "/healthz", nil, 200, jsonHeader, `{}`, "no such operation"},
		{"a_refusal_without_the_envelope", "GET", "/api/v1/nope", nil, 404, jsonHeader, `{"message":"no"}`,
			"not the error envelope"},
		{"an_undocumented_status", "GET", "/healthz", nil, 418, jsonHeader, `{}`, "does not document"},
		{"a_body_off_schema", "GET", "/healthz", nil, 200, jsonHeader, `{"status":"fine"}`, "does not match"},
		{"an_undocumented_field", "GET", "/healthz", nil, 200, jsonHeader, `{"status":"ok","extra":1}`, "does not match"},
		{"an_undocumented_content_type", "GET", "/healthz", nil, 200, htmlHeader, `<p>ok</p>`, "does not list"},
		{"a_body_on_no_content", "DELETE", "/api/v1/auth/session", nil, 204, jsonHeader, `{}`, "describes none"},
		{"an_error_code_off_the_list", "GET", "/api/v1/users/u1", nil, 404, jsonHeader,
			`{"error":{"code":"goal_not_found","message":"Goal not found."}}`, "does not match"},
		{"a_nested_field_off_schema", "GET", "/api/v1/users/u1", nil, 200, jsonHeader,
			`{"user_id":"0190a0a0-0000-7000-8000-000000000001","username":"ada","display_name":"","bio":"","role":"customer","created_at":"2030-01-01T00:00:00Z",` +
				`"email":"ada@example.com","timezone":"UTC","units":"metric","disabled":false,"updated_at":"2030-01-01T00:00:00Z",` +
				`"biometrics":{"height_cm":null,"weight_kg":null,"age":null,"sex":"robot"}}`, "does not match"},
		{"a_malformed_id", "GET", "/api/v1/users/u1", nil, 200, jsonHeader,
			`{"user_id":"u1","username":"ada","display_name":"","bio":"","role":"customer","created_at":"2030-01-01T00:00:00Z"}`,
			"does not match"},
		{"private_fields_in_part", "GET", "/api/v1/users/u1", nil, 200, jsonHeader,
			`{"user_id":"0190a0a0-0000-7000-8000-000000000001","username":"ada","display_name":"","bio":"","role":"customer","created_at":"2030-01-01T00:00:00Z",` +
				`"email":"ada@example.com"}`, "does not match"},
		{"an_accepted_request_off_schema", "POST", "/api/v1/users/register", registerBody, 201, jsonHeader,
			`{"user_id":"0190a0a0-0000-7000-8000-000000000000","username":"ada","email":"ada@example.com",` +
				`"role":"customer","created_at":"2030-01-01T00:00:00Z"}`, "does not allow"},
	} {
		t.Run("reports_"+tc.name, func(t *testing.T) {
			t.Parallel() // one validator serves parallel tests
			req := httptest.NewRequest(tc.method, tc.path, bytes.NewReader(tc.reqBody))
			req.Header.Set("Content-Type", "application/json")
			rec := &recordingTB{TB: t}
			v.Check(rec, req, tc.reqBody, tc.status, tc.header, []byte(tc.body))
			require.NotEmpty(t, rec.errs, "the validator let it pass")
			assert.Contains(t, strings.Join(rec.errs, "\n"), tc.want)
		})
	}
	for _, tc := range []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"a_matching_exchange", "GET", "/healthz", 200, `{"status":"ok"}`},
		{"a_refused_unknown_route", "GET", "/api/v1/nope", 404, `{"error":{"code":"route_not_found","message":"No such route."}}`},
		{"a_refused_unknown_method", "PATCH", "/healthz", 405, `{"error":{"code":"method_not_allowed","message":"Method not allowed."}}`},
	} {
		t.Run("passes_"+tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recordingTB{TB: t}
			v.Check(rec, httptest.NewRequest(tc.method, tc.path, nil), nil, tc.status, jsonHeader, []byte(tc.body))
			assert.Empty(t, rec.errs)
		})
	}
}
