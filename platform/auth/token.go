package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of a fitloop access token. sid binds the token to a
// row in the sessions table, which is what makes logout and revocation work.
type Claims struct {
	SessionID string `json:"sid"`
	Role      string `json:"role"`
	jwt.RegisteredClaims
}

// Signer issues and verifies HS256 access tokens.
type Signer struct {
	key      []byte
	issuer   string
	audience string
}

// NewSigner returns a Signer; key must be at least 32 bytes.
func NewSigner(key []byte, issuer, audience string) (*Signer, error) {
	if len(key) < 32 {
		return nil, errors.New("auth: signing key must be at least 32 bytes")
	}
	return &Signer{key: key, issuer: issuer, audience: audience}, nil
}

// Issue signs an access token for a session.
func (s *Signer) Issue(userID, sessionID, role string, issuedAt, expiresAt time.Time) (string, error) {
	c := Claims{
		SessionID: sessionID,
		Role:      role,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{s.audience},
			IssuedAt:  jwt.NewNumericDate(issuedAt),
			ExpiresAt: jwt.NewNumericDate(expiresAt),
		},
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("auth: sign: %w", err)
	}
	return tok, nil
}

// Verify checks signature, algorithm, issuer, audience, expiry and issued-at,
// and returns the claims.
func (s *Signer) Verify(raw string, now time.Time) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(s.issuer),
		jwt.WithAudience(s.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("auth: verify: %w", err)
	}
	if c.Subject == "" || c.SessionID == "" {
		return nil, errors.New("auth: verify: token lacks sub or sid")
	}
	return &c, nil
}

// APITokenPrefix starts every personal API token, so they are easy to spot in
// logs and secret scanners and never mistaken for a JWT.
const APITokenPrefix = "flp_"

// NewAPIToken returns a fresh personal API token and the hash to store.
func NewAPIToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("auth: token: %w", err)
	}
	token = APITokenPrefix + hex.EncodeToString(b)
	return token, HashAPIToken(token), nil
}

// HashAPIToken returns the stored form of a token: tokens carry 256 random
// bits, so a plain SHA-256 is enough (no salt or slow hash needed).
func HashAPIToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// IsAPIToken reports whether a bearer credential looks like a personal API token.
func IsAPIToken(raw string) bool { return strings.HasPrefix(raw, APITokenPrefix) }
