package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/apperr"
)

// BindJSON decodes the request body into dst. It answers 415 for a body that is
// not application/json, 413 past the body limit, 400 invalid_json for malformed
// JSON, 400 unknown_field naming a field dst does not have, and 400 with a
// field error for a value of the wrong type.
func BindJSON(c *gin.Context, dst any) error {
	if err := requireJSON(c); err != nil {
		return err
	}
	raw, err := readBody(c.Request)
	if err != nil {
		return err
	}
	return DecodeStrict(raw, dst)
}

// BindOptionalJSON is BindJSON for a body that may be absent: an empty or
// blank body (with or without a Content-Length) leaves dst as it is.
func BindOptionalJSON(c *gin.Context, dst any) error {
	if c.Request.Body == nil || c.Request.Body == http.NoBody {
		return nil
	}
	raw, err := readBody(c.Request)
	if err != nil || len(bytes.TrimSpace(raw)) == 0 {
		return err
	}
	if err := requireJSON(c); err != nil {
		return err
	}
	return DecodeStrict(raw, dst)
}

func requireJSON(c *gin.Context) error {
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "application/json" {
		return apperr.E(apperr.UnsupportedMedia, "unsupported_media_type",
			"Content-Type must be application/json.")
	}
	return nil
}

// maxBodyHint bounds the buffer readBody sizes from a declared
// Content-Length before any byte has arrived.
const maxBodyHint = 16 << 20

// readBody reads the whole body (the body limit applies) into one buffer
// sized from the Content-Length.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= maxBodyHint {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return nil, decodeError(err)
	}
	return buf.Bytes(), nil
}

// decodeStrict decodes exactly one JSON object from raw in one pass: the
// decoder checks the value's syntax whole before it fills dst, so a
// malformed body is invalid_json even when it also has unknown fields. A
// bare null, which json would quietly decode as "no change", is refused
// like any other non-object.
func DecodeStrict(raw []byte, dst any) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return apperr.E(apperr.Invalid, "invalid_json", "The body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var pe *time.ParseError
		if errors.As(err, &pe) || strings.HasPrefix(err.Error(), "Time.UnmarshalJSON") {
			return timeError(raw, dst)
		}
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.E(apperr.Invalid, "invalid_json", "The body must hold exactly one JSON value.")
	}
	return nil
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

var timeType = reflect.TypeFor[time.Time]()

// timeError names the field whose time did not parse: json reports a
// time.Time's own error without the field, so the body is walked again
// beside dst's type to find the first time value that is not RFC 3339.
func timeError(raw []byte, dst any) error {
	var doc any
	field := ""
	if json.Unmarshal(raw, &doc) == nil {
		field = badTime(doc, reflect.TypeOf(dst), "")
	}
	if field == "" {
		return apperr.E(apperr.Invalid, "invalid_json", "A time is not an RFC 3339 time.")
	}
	return &apperr.Error{Kind: apperr.Invalid, Code: "invalid_type", Message: "A field has the wrong type.",
		Fields: map[string]string{field: "must be an RFC 3339 time, like 2026-11-21T09:30:00Z"}}
}

// badTime returns the path of the first value in v, shaped by t, that t
// wants as a time and that does not parse as one ("" when none).
func badTime(v any, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if _, isString := v.(string); t == timeType && v != nil && !isString {
		return path
	}
	switch val := v.(type) {
	case string:
		if t == timeType {
			if _, err := time.Parse(time.RFC3339, val); err != nil {
				return path
			}
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, e := range val {
				if f := badTime(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); f != "" {
					return f
				}
			}
		}
	case map[string]any:
		if t.Kind() != reflect.Struct || t == timeType {
			return ""
		}
		for i := range t.NumField() {
			sf := t.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "" {
				name = sf.Name
			}
			if e, ok := val[name]; ok && sf.IsExported() {
				p := name
				if path != "" {
					p = path + "." + name
				}
				if f := badTime(e, sf.Type, p); f != "" {
					return f
				}
			}
		}
	}
	return ""
}
