package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/apperr"
)

// BindJSON decodes the request body into dst. It answers 415 for a body that is
// not application/json, 413 past the body limit, 400 invalid_json for malformed
// JSON, 400 unknown_field naming a field dst does not have, and 400 with a
// field error for a value of the wrong type.
func BindJSON(c *gin.Context, dst any) error {
	ct := c.GetHeader("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return apperr.E(apperr.UnsupportedMedia, "unsupported_media_type",
			"Content-Type must be application/json.")
	}
	// The value is read whole first so that a bare null, which json would
	// quietly decode as "no change", is refused like any other non-object.
	dec := json.NewDecoder(c.Request.Body)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if tooLarge(err) {
			return decodeError(err)
		}
		return apperr.E(apperr.Invalid, "invalid_json", "The body must hold exactly one JSON value.")
	}
	if bytes.Equal(raw, []byte("null")) {
		return apperr.E(apperr.Invalid, "invalid_json", "The body must be a JSON object.")
	}
	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	if err := strict.Decode(dst); err != nil {
		return decodeError(err)
	}
	return nil
}

// BindOptionalJSON is BindJSON for a body that may be absent: an empty or
// blank body (with or without a Content-Length) leaves dst as it is.
func BindOptionalJSON(c *gin.Context, dst any) error {
	if c.Request.Body == nil || c.Request.Body == http.NoBody {
		return nil
	}
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return decodeError(err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(raw))
	return BindJSON(c, dst)
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func decodeError(err error) error {
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case tooLarge(err):
		return apperr.E(apperr.TooLarge, "body_too_large", "The request body is too large.")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return apperr.E(apperr.Invalid, "invalid_json", "The body must be a JSON object.")
		}
		return &apperr.Error{Kind: apperr.Invalid, Code: "invalid_type", Message: "A field has the wrong type.",
			Fields: map[string]string{field: "must be " + jsonKind(typeErr.Type.Kind().String())}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &apperr.Error{Kind: apperr.Invalid, Code: "unknown_field",
			Message: fmt.Sprintf("Unknown field %q.", field), Fields: map[string]string{field: "unknown field"}}
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apperr.E(apperr.Invalid, "invalid_json", "The body is not valid JSON.")
	default:
		var ae *apperr.Error
		if errors.As(err, &ae) {
			return ae
		}
		return apperr.E(apperr.Invalid, "invalid_json", "The body is not valid JSON.")
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return "of another type"
}
