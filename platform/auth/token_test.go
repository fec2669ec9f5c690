package auth_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/auth"
)

var (
	testKey = []byte("0123456789abcdef0123456789abcdef-test-key")
	t0      = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func newSigner(tb testing.TB) *auth.Signer {
	tb.Helper()
	s, err := auth.NewSigner(testKey, "fitloop", "fitloop-api")
	require.NoError(tb, err)
	return s
}

// validClaims are claims Verify accepts at t0.
func validClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss":  "fitloop",
		"aud":  []string{"fitloop-api"},
		"sub":  "user-1",
		"sid":  "sess-1",
		"role": "customer",
		"iat":  t0.Add(-time.Minute).Unix(),
		"exp":  t0.Add(time.Hour).Unix(),
	}
}

func sign(tb testing.TB, method jwt.SigningMethod, claims jwt.MapClaims, key any) string {
	tb.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(tb, err)
	return tok
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestNewSigner(t *testing.T) {
	t.Parallel()
	_, err := auth.NewSigner([]byte("short"), "fitloop", "fitloop-api")
	assert.Error(t, err)
	_, err = auth.NewSigner(make([]byte, 31), "fitloop", "fitloop-api")
	assert.Error(t, err)
	_, err = auth.NewSigner(make([]byte, 32), "fitloop", "fitloop-api")
	assert.NoError(t, err)
}

func TestSignerRoundTrip(t *testing.T) {
	t.Parallel()
	s := newSigner(t)
	tok, err := s.Issue("user-1", "sess-1", "admin", t0, t0.Add(time.Hour))
	require.NoError(t, err)

	c, err := s.Verify(tok, t0.Add(30*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, "user-1", c.Subject)
	assert.Equal(t, "sess-1", c.SessionID)
	assert.Equal(t, "admin", c.Role)
	assert.Equal(t, "fitloop", c.Issuer)
	assert.Equal(t, jwt.ClaimStrings{"fitloop-api"}, c.Audience)
	assert.True(t, c.ExpiresAt.Time.Equal(t0.Add(time.Hour)))

	t.Run("header_says_hs256", func(t *testing.T) {
		raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
		require.NoError(t, err)
		var h map[string]any
		require.NoError(t, json.Unmarshal(raw, &h))
		assert.Equal(t, "HS256", h["alg"])
	})
	t.Run("accepts_hand_built_valid_claims", func(t *testing.T) {
		_, err := s.Verify(sign(t, jwt.SigningMethodHS256, validClaims(), testKey), t0)
		require.NoError(t, err)
	})
}

func TestSignerRejects(t *testing.T) {
	t.Parallel()
	s := newSigner(t)
	good, err := s.Issue("user-1", "sess-1", "customer", t0, t0.Add(time.Hour))
	require.NoError(t, err)
	without := func(k string) jwt.MapClaims {
		c := validClaims()
		delete(c, k)
		return c
	}
	withClaim := func(k string, v any) jwt.MapClaims {
		c := validClaims()
		c[k] = v
		return c
	}
	parts := strings.Split(good, ".")

	// An RS256 header over an HMAC signature made with the (public) key is
	// the classic algorithm-confusion attack.
	rsHead := b64(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + b64(validClaims())
	mac := hmac.New(sha256.New, testKey)
	mac.Write([]byte(rsHead))
	rsConfused := rsHead + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	tampered := []byte(parts[2])
	if tampered[5] == 'A' {
		tampered[5] = 'B'
	} else {
		tampered[5] = 'A'
	}
	claims := validClaims()
	claims["role"] = "admin"

	cases := map[string]struct {
		token string
		at    time.Time
	}{
		"alg_none":           {token: sign(t, jwt.SigningMethodNone, validClaims(), jwt.UnsafeAllowNoneSignatureType), at: t0},
		"alg_none_unsigned":  {token: b64(map[string]string{"alg": "none"}) + "." + b64(validClaims()) + ".", at: t0},
		"alg_hs512":          {token: sign(t, jwt.SigningMethodHS512, validClaims(), testKey), at: t0},
		"alg_hs384":          {token: sign(t, jwt.SigningMethodHS384, validClaims(), testKey), at: t0},
		"alg_rs256_confused": {token: rsConfused, at: t0},
		"other_key":          {token: sign(t, jwt.SigningMethodHS256, validClaims(), []byte(strings.Repeat("z", 40))), at: t0},
		"wrong_issuer":       {token: sign(t, jwt.SigningMethodHS256, withClaim("iss", "evil"), testKey), at: t0},
		"missing_issuer":     {token: sign(t, jwt.SigningMethodHS256, without("iss"), testKey), at: t0},
		"wrong_audience":     {token: sign(t, jwt.SigningMethodHS256, withClaim("aud", []string{"other-api"}), testKey), at: t0},
		"missing_audience":   {token: sign(t, jwt.SigningMethodHS256, without("aud"), testKey), at: t0},
		"expired":            {token: good, at: t0.Add(time.Hour + time.Minute)},
		"missing_exp":        {token: sign(t, jwt.SigningMethodHS256, without("exp"), testKey), at: t0},
		"issued_in_future":   {token: sign(t, jwt.SigningMethodHS256, withClaim("iat", t0.Add(time.Hour).Unix()), testKey), at: t0},
		"missing_sid":        {token: sign(t, jwt.SigningMethodHS256, without("sid"), testKey), at: t0},
		"empty_sid":          {token: sign(t, jwt.SigningMethodHS256, withClaim("sid", ""), testKey), at: t0},
		"missing_sub":        {token: sign(t, jwt.SigningMethodHS256, without("sub"), testKey), at: t0},
		"tampered_signature": {token: parts[0] + "." + parts[1] + "." + string(tampered), at: t0},
		"tampered_payload":   {token: parts[0] + "." + b64(claims) + "." + parts[2], at: t0},
		"no_signature":       {token: parts[0] + "." + parts[1], at: t0},
		"garbage":            {token: "not.a.jwt", at: t0},
		"empty":              {token: "", at: t0},
		"api_token":          {token: "flp_" + strings.Repeat("a", 64), at: t0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := s.Verify(tc.token, tc.at)
			assert.Error(t, err)
			assert.Nil(t, c)
		})
	}
}

func TestSignerLeeway(t *testing.T) {
	t.Parallel()
	s := newSigner(t)
	tok, err := s.Issue("user-1", "sess-1", "customer", t0, t0.Add(time.Hour))
	require.NoError(t, err)
	_, err = s.Verify(tok, t0.Add(time.Hour+3*time.Second))
	assert.NoError(t, err, "a few seconds of clock skew are tolerated")
	_, err = s.Verify(tok, t0.Add(time.Hour+10*time.Second))
	assert.Error(t, err)
}

func TestAPIToken(t *testing.T) {
	t.Parallel()
	tok, hash, err := auth.NewAPIToken()
	require.NoError(t, err)
	assert.Regexp(t, `^flp_[0-9a-f]{64}$`, tok)
	assert.True(t, auth.IsAPIToken(tok))
	sum := sha256.Sum256([]byte(tok))
	assert.Equal(t, hex.EncodeToString(sum[:]), hash)
	assert.Equal(t, hash, auth.HashAPIToken(tok))
	assert.NotContains(t, hash, tok[4:])

	other, otherHash, err := auth.NewAPIToken()
	require.NoError(t, err)
	assert.NotEqual(t, tok, other)
	assert.NotEqual(t, hash, otherHash)

	jwtTok, err := newSigner(t).Issue("u", "s", "customer", t0, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.False(t, auth.IsAPIToken(jwtTok), "a JWT is never taken for an API token")
	assert.False(t, auth.IsAPIToken(""))
}
