package auth

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/fitloop/fitloop/platform/config"
)

// SignerFromConfig uses the configured signing key, or one generated once
// into dataDir (with a warning: several replicas must share one key).
func SignerFromConfig(cfg config.Auth, dataDir string, log *slog.Logger) (*Signer, error) {
	key := []byte(cfg.SigningKey)
	if len(key) == 0 {
		var created bool
		var err error
		if key, created, err = LoadOrCreateKey(dataDir); err != nil {
			return nil, err
		}
		if created {
			log.Warn("generated a token signing key; set auth.signing_key when running several replicas",
				slog.String("file", filepath.Join(dataDir, SigningKeyFile)))
		}
	}
	return NewSigner(key, cfg.Issuer, cfg.Audience)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, credential string) (*Principal, error)

// Authenticate implements Authenticator.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, credential string) (*Principal, error) {
	return f(ctx, credential)
}
