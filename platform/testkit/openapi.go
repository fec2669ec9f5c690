package testkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// OpenAPIValidator checks HTTP exchanges against an OpenAPI 3.1 document, so
// API tests catch a handler and the document drifting apart: an undocumented
// route or status, or a body that does not match its schema.
//
// It is safe for concurrent use by parallel tests.
type OpenAPIValidator struct {
	doc    *openapi3.T
	router routers.Router

	// CheckRequests also validates the request (path and query parameters,
	// body) of every exchange that succeeded (2xx): a request the server
	// accepted should be one the document allows. Requests that failed are
	// not checked, since tests send invalid requests on purpose.
	CheckRequests bool
}

// NewOpenAPIValidator loads and validates doc (stopping the test when it is
// not a valid OpenAPI document) and builds a router over its paths.
func NewOpenAPIValidator(tb testing.TB, doc []byte) *OpenAPIValidator {
	tb.Helper()
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(doc)
	if err != nil {
		tb.Fatalf("openapi: load document: %v", err)
	}
	if err := t.Validate(loader.Context); err != nil {
		tb.Fatalf("openapi: invalid document: %v", err)
	}
	// kin-openapi checks only date and date-time by itself; these two are
	// scoped to this document rather than registered globally.
	t.SetStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	t.SetStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
	r, err := gorillamux.NewRouter(t)
	if err != nil {
		tb.Fatalf("openapi: router: %v", err)
	}
	return &OpenAPIValidator{doc: t, router: r}
}

// options ignores security: tests check authentication themselves, and
// kin-openapi cannot know whether a bearer token is valid anyway.
func (v *OpenAPIValidator) options() *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus:   true,
		MultiError:              true,
		SkipSettingDefaults:     true, // validation must not change the request it looks at
		SchemaValidationOptions: v.doc.GetSchemaValidationOptions(),
	}
}

// Check reports (tb.Errorf) every way one exchange disagrees with the
// document: the route or method is not in it (unless the server refused the
// request with 404 or 405 and the error envelope), the status is not documented
// for the operation, the response's content type is not documented for that
// status, or its body does not match the documented schema (JSON bodies; other
// media types are checked by type only). With CheckRequests, the request of a
// 2xx exchange is validated too. reqBody is the request body as sent (req.Body
// has usually been consumed by then); header and body are the response's.
func (v *OpenAPIValidator) Check(tb testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	tb.Helper()
	name := req.Method + " " + req.URL.RequestURI()
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		v.checkOutside(tb, name, err, status, header, body)
		return
	}
	resp := route.Operation.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		tb.Errorf("openapi: %s answered %d, which %s does not document (it documents %s)\nbody: %s",
			name, status, route.Method+" "+route.Path, documented(route.Operation), excerpt(body))
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: v.options()}
	if v.CheckRequests && status >= 200 && status < 300 {
		v.checkRequest(tb, name, in, reqBody)
	}
	if !v.checkContent(tb, name, status, resp.Value, header, body) {
		return
	}
	opts := v.options()
	opts.ExcludeResponseBody = !decodable(header.Get("Content-Type"))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header, Options: opts,
	}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(tb.Context(), out); err != nil {
		tb.Errorf("openapi: %s answered %d, which does not match the document: %v\nbody: %s",
			name, status, err, excerpt(body))
	}
}

// checkOutside judges an exchange the document has no operation for. It is
// consistent only when the server refused it as such: 404 for a path the
// document lacks, 405 for a method it lacks on a known path, each with the
// document's error envelope (components.schemas.Error) when it has one.
func (v *OpenAPIValidator) checkOutside(tb testing.TB, name string, err error, status int, header http.Header, body []byte) {
	tb.Helper()
	refused := (errors.Is(err, routers.ErrPathNotFound) && status == http.StatusNotFound) ||
		(errors.Is(err, routers.ErrMethodNotAllowed) && status == http.StatusMethodNotAllowed)
	if !refused {
		tb.Errorf("openapi: %s answered %d, but the document has no such operation (%v)\nbody: %s",
			name, status, err, excerpt(body))
		return
	}
	envelope := v.doc.Components.Schemas["Error"]
	if envelope == nil || envelope.Value == nil {
		return
	}
	if !isJSON(header.Get("Content-Type")) {
		tb.Errorf("openapi: %s answered %d with Content-Type %q, not the JSON error envelope",
			name, status, header.Get("Content-Type"))
		return
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		tb.Errorf("openapi: %s answered %d with invalid JSON: %v\nbody: %s", name, status, err, excerpt(body))
		return
	}
	if err := envelope.Value.VisitJSON(value, v.schemaOptions()...); err != nil {
		tb.Errorf("openapi: %s answered %d with a body that is not the error envelope: %v\nbody: %s",
			name, status, err, excerpt(body))
	}
}

// schemaOptions validates as openapi3filter does for the document's version.
func (v *OpenAPIValidator) schemaOptions() []openapi3.SchemaValidationOption {
	opts := append([]openapi3.SchemaValidationOption{openapi3.VisitAsResponse(), openapi3.MultiErrors()},
		v.doc.GetSchemaValidationOptions()...)
	if v.doc.IsOpenAPI31OrLater() {
		opts = append(opts, openapi3.EnableJSONSchema2020())
	}
	return opts
}

// checkRequest validates a copy of the request with its body restored.
func (v *OpenAPIValidator) checkRequest(tb testing.TB, name string, in *openapi3filter.RequestValidationInput, reqBody []byte) {
	tb.Helper()
	r := in.Request.Clone(tb.Context())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.ContentLength = int64(len(reqBody))
	cp := *in
	cp.Request = r
	if err := openapi3filter.ValidateRequest(tb.Context(), &cp); err != nil {
		tb.Errorf("openapi: %s: the server accepted a request the document does not allow: %v\nrequest body: %s",
			name, err, excerpt(reqBody))
	}
}

// checkContent reports a body where the document promises none, and a
// content type the document does not list for the status. It reports whether
// the body is worth validating further.
func (v *OpenAPIValidator) checkContent(tb testing.TB, name string, status int, resp *openapi3.Response, header http.Header, body []byte) bool {
	tb.Helper()
	if len(resp.Content) == 0 {
		if len(body) > 0 {
			tb.Errorf("openapi: %s answered %d with a body, but the document describes none\nbody: %s",
				name, status, excerpt(body))
		}
		return false
	}
	ct := header.Get("Content-Type")
	if resp.Content.Get(ct) == nil {
		tb.Errorf("openapi: %s answered %d with Content-Type %q, which the document does not list (%s)",
			name, status, ct, strings.Join(slices.Sorted(maps.Keys(resp.Content)), ", "))
		return false
	}
	return true
}

// documented lists the statuses an operation documents.
func documented(op *openapi3.Operation) string {
	return strings.Join(slices.Sorted(maps.Keys(op.Responses.Map())), ", ")
}

// isJSON reports whether a Content-Type is application/json or a +json type.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// decodable reports whether kin-openapi has a body decoder for the type, so
// its schema can be checked (JSON and text/plain can; text/html cannot).
func decodable(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (isJSON(ct) || openapi3filter.RegisteredBodyDecoder(mt) != nil)
}

// excerpt is a body short enough for a failure message.
func excerpt(b []byte) string {
	const max = 600
	if len(b) <= max {
		return string(b)
	}
	return string(b[:max]) + "… (" + strconv.Itoa(len(b)) + " bytes)"
}
