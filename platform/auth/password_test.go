package auth_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"github.com/fitloop/fitloop/platform/auth"
)

func TestHashPassword(t *testing.T) {
	t.Parallel()
	h1, err := auth.HashPassword("correct horse battery")
	require.NoError(t, err)
	h2, err := auth.HashPassword("correct horse battery")
	require.NoError(t, err)

	t.Run("is_phc_argon2id_with_owasp_parameters", func(t *testing.T) {
		assert.Regexp(t, `^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`, h1)
	})
	t.Run("salts_each_hash", func(t *testing.T) {
		assert.NotEqual(t, h1, h2)
		salt1, salt2 := strings.Split(h1, "$")[4], strings.Split(h2, "$")[4]
		assert.NotEqual(t, salt1, salt2)
	})
	t.Run("does_not_contain_the_password", func(t *testing.T) {
		assert.NotContains(t, h1, "correct horse")
	})
}

func TestVerifyPassword(t *testing.T) {
	t.Parallel()
	hash, err := auth.HashPassword("s3cret-passphrase")
	require.NoError(t, err)

	t.Run("right_password", func(t *testing.T) {
		ok, err := auth.VerifyPassword(hash, "s3cret-passphrase")
		require.NoError(t, err)
		assert.True(t, ok)
	})
	t.Run("wrong_password", func(t *testing.T) {
		for _, pw := range []string{"s3cret-passphrasE", "", "s3cret-passphrase ", "s3cret"} {
			ok, err := auth.VerifyPassword(hash, pw)
			require.NoError(t, err)
			assert.False(t, ok, "%q", pw)
		}
	})
	t.Run("uses_the_parameters_stored_in_the_hash", func(t *testing.T) {
		// A hash made with older, cheaper parameters still verifies.
		salt := []byte("0123456789abcdef")
		key := argon2.IDKey([]byte("old-password"), salt, 1, 64, 2, 16)
		b64 := base64.RawStdEncoding
		old := fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=2$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
		ok, err := auth.VerifyPassword(old, "old-password")
		require.NoError(t, err)
		assert.True(t, ok)
		ok, err = auth.VerifyPassword(old, "other")
		require.NoError(t, err)
		assert.False(t, ok)
	})

	parts := strings.Split(hash, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	malformed := map[string]string{
		"empty":            "",
		"plain_text":       "s3cret-passphrase",
		"bcrypt":           "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":          with(1, "argon2i"),
		"wrong_version":    with(2, "v=16"),
		"no_version":       with(2, "x"),
		"bad_params":       with(3, "m=19456,t=2"),
		"garbage_params":   with(3, "mem=1"),
		"zero_time":        with(3, "m=19456,t=0,p=1"),
		"zero_threads":     with(3, "m=19456,t=2,p=0"),
		"threads_overflow": with(3, "m=19456,t=2,p=300"),
		"bad_salt":         with(4, "!!!"),
		"bad_key":          with(5, "***"),
		"empty_key":        with(5, ""),
		"extra_part":       hash + "$x",
		"missing_part":     strings.Join(parts[:5], "$"),
	}
	for name, enc := range malformed {
		t.Run("malformed_"+name, func(t *testing.T) {
			var (
				ok  bool
				err error
			)
			require.NotPanics(t, func() { ok, err = auth.VerifyPassword(enc, "s3cret-passphrase") })
			assert.ErrorIs(t, err, auth.ErrMalformedHash)
			assert.False(t, ok)
		})
	}
}

func TestBurnPasswordCheck(t *testing.T) {
	t.Parallel()
	assert.NotPanics(t, func() { auth.BurnPasswordCheck("anything") })
}
