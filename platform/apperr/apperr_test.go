package apperr_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/apperr"
)

func TestAsKindOfIs(t *testing.T) {
	t.Parallel()
	base := apperr.NotFoundf("goal_not_found", "Goal")
	wrapped := fmt.Errorf("users: find goal: %w", fmt.Errorf("store: %w", base))

	t.Run("finds_the_error_through_two_wraps", func(t *testing.T) {
		e, ok := apperr.As(wrapped)
		require.True(t, ok)
		assert.Same(t, base, e)
		assert.Equal(t, "Goal not found.", e.Message)
	})
	t.Run("kind_of_a_wrapped_error_is_its_kind", func(t *testing.T) {
		assert.Equal(t, apperr.NotFound, apperr.KindOf(wrapped))
	})
	t.Run("is_matches_the_code_through_wraps", func(t *testing.T) {
		assert.True(t, apperr.Is(wrapped, "goal_not_found"))
		assert.False(t, apperr.Is(wrapped, "user_not_found"))
	})
	t.Run("plain_errors_are_internal", func(t *testing.T) {
		plain := fmt.Errorf("db: %w", io.ErrUnexpectedEOF)
		_, ok := apperr.As(plain)
		assert.False(t, ok)
		assert.Equal(t, apperr.Internal, apperr.KindOf(plain))
		assert.False(t, apperr.Is(plain, "internal"))
		assert.Equal(t, apperr.Internal, apperr.KindOf(nil))
	})
	t.Run("joined_errors_are_searched", func(t *testing.T) {
		joined := errors.Join(io.EOF, wrapped)
		assert.Equal(t, apperr.NotFound, apperr.KindOf(joined))
	})
	t.Run("cause_is_unwrapped_but_not_in_the_code", func(t *testing.T) {
		e := &apperr.Error{Kind: apperr.Unavailable, Code: "db_down", Message: "Try later.", Err: io.ErrClosedPipe}
		assert.ErrorIs(t, fmt.Errorf("x: %w", e), io.ErrClosedPipe)
		assert.Contains(t, e.Error(), "db_down")
		assert.Contains(t, e.Error(), io.ErrClosedPipe.Error())
		assert.Equal(t, "db_down: Try later.", apperr.E(apperr.Unavailable, "db_down", "Try later.").Error())
	})
}

func TestValidation(t *testing.T) {
	t.Parallel()
	t.Run("err_is_nil_when_empty", func(t *testing.T) {
		v := apperr.Validation{}
		v.Check(true, "name", "is required")
		assert.NoError(t, v.Err())
		var nilV apperr.Validation
		assert.NoError(t, nilV.Err())
	})
	t.Run("err_carries_fields_and_keeps_the_first_message", func(t *testing.T) {
		v := apperr.Validation{}
		v.Check(false, "name", "is required")
		v.Add("name", "is too long")
		v.Add("email", "is invalid")
		err := v.Err()
		require.Error(t, err)
		e, ok := apperr.As(fmt.Errorf("wrap: %w", err))
		require.True(t, ok)
		assert.Equal(t, apperr.Invalid, e.Kind)
		assert.Equal(t, "validation_failed", e.Code)
		assert.Equal(t, map[string]string{"name": "is required", "email": "is invalid"}, e.Fields)
	})
	t.Run("field_error_names_one_field", func(t *testing.T) {
		e := apperr.FieldError("limit", "must be an integer")
		assert.Equal(t, apperr.Invalid, e.Kind)
		assert.Equal(t, map[string]string{"limit": "must be an integer"}, e.Fields)
	})
}

func TestKindString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "internal", apperr.Internal.String())
	assert.Equal(t, "not_found", apperr.NotFound.String())
	assert.Equal(t, "unavailable", apperr.Unavailable.String())
	assert.Equal(t, "internal", apperr.Kind(200).String())
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	v := apperr.Validation{}
	v.Add("username", "is taken")
	v.Add("email", "must be an email address")
	msg, ok := apperr.Describe(fmt.Errorf("register: %w", v.Err()))
	require.True(t, ok)
	assert.Equal(t, "Some fields are invalid.\n  email: must be an email address\n  username: is taken", msg)

	msg, ok = apperr.Describe(apperr.NotFoundf("user_not_found", "User"))
	assert.True(t, ok)
	assert.Equal(t, "User not found.", msg)

	for _, err := range []error{nil, io.EOF, apperr.E(apperr.Internal, "db", "password=hunter2")} {
		msg, ok := apperr.Describe(err)
		assert.False(t, ok, "%v is not for users", err)
		assert.Empty(t, msg)
	}
}
