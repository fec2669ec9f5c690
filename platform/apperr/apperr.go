// Package apperr defines fitloop's one error type. Every error that should reach
// a client as something other than "Internal error." is an *Error with a Kind;
// the HTTP layer maps kinds to statuses in one table (httpx.StatusOf).
package apperr

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Kind classifies an error; it decides the HTTP status.
type Kind uint8

// The kinds an error can have. The zero value is Internal.
const (
	Internal Kind = iota
	Invalid
	Unauthenticated
	Forbidden
	NotFound
	Conflict
	TooLarge
	UnsupportedMedia
	RateLimited
	Unavailable
	// Unprocessable is a well-formed request the server will not act on, such
	// as an Idempotency-Key reused with a different request.
	Unprocessable
)

var kindNames = [...]string{
	Internal:         "internal",
	Invalid:          "invalid",
	Unauthenticated:  "unauthenticated",
	Forbidden:        "forbidden",
	NotFound:         "not_found",
	Conflict:         "conflict",
	TooLarge:         "too_large",
	UnsupportedMedia: "unsupported_media_type",
	RateLimited:      "rate_limited",
	Unavailable:      "unavailable",
	Unprocessable:    "unprocessable",
}

// String returns the kind's snake_case name, used as the default error code.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "internal"
}

// Error is an error a client may see: a kind, a stable machine-readable code, a
// human message, and optional per-field messages for validation failures.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  map[string]string
	// Details are facts a client can act on, e.g. the id of the resource
	// that conflicts: {"session_id": "..."}.
	Details map[string]string
	// RetryAfter, when positive, is sent as a Retry-After header (seconds).
	RetryAfter int
	// Err is an underlying cause; it is logged, never shown.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// E builds an error of a kind with a code and a message.
func E(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// NotFoundf is a NotFound error whose message names the missing thing.
func NotFoundf(code, what string) *Error {
	return &Error{Kind: NotFound, Code: code, Message: what + " not found."}
}

// Validation collects field errors; its Err() is nil when no field failed.
type Validation map[string]string

// Add records a message for a field unless one is already there.
func (v Validation) Add(field, message string) {
	if _, ok := v[field]; !ok {
		v[field] = message
	}
}

// Check records message for field when ok is false.
func (v Validation) Check(ok bool, field, message string) {
	if !ok {
		v.Add(field, message)
	}
}

// Err returns an Invalid error carrying the fields, or nil.
func (v Validation) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Code: "validation_failed", Message: "Some fields are invalid.", Fields: v}
}

// FieldError is an Invalid error about one field.
func FieldError(field, message string) *Error {
	return &Error{Kind: Invalid, Code: "validation_failed", Message: "Some fields are invalid.",
		Fields: map[string]string{field: message}}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOf returns the kind of err: the kind of the first *Error in its chain, or Internal.
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return Internal
}

// Describe renders a client error (any kind but Internal) as text for a
// command line: its message, then a line per field error in field order.
// ok is false for nil and for internal errors, whose text is not for users.
func Describe(err error) (msg string, ok bool) {
	e, ok := As(err)
	if !ok || e.Kind == Internal {
		return "", false
	}
	var b strings.Builder
	b.WriteString(e.Message)
	for _, f := range slices.Sorted(maps.Keys(e.Fields)) {
		fmt.Fprintf(&b, "\n  %s: %s", f, e.Fields[f])
	}
	return b.String(), true
}

// Is reports whether err carries the given code.
func Is(err error, code string) bool {
	e, ok := As(err)
	return ok && e.Code == code
}
