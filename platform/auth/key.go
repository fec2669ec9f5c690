package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SigningKeyFile is the file under the data directory that holds a generated key.
const SigningKeyFile = "signing.key"

// LoadOrCreateKey returns the key stored in dataDir, creating it (0600) the
// first time. created is true when a new key was written, so the caller can
// warn that the key should be configured explicitly for multi-replica setups.
func LoadOrCreateKey(dataDir string) (key []byte, created bool, err error) {
	path := filepath.Join(dataDir, SigningKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		k := strings.TrimSpace(string(b))
		if len(k) < 32 {
			return nil, false, fmt.Errorf("auth: %s is shorter than 32 characters", path)
		}
		return []byte(k), false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("auth: read %s: %w", path, err)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, false, fmt.Errorf("auth: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, false, fmt.Errorf("auth: %w", err)
	}
	k := hex.EncodeToString(raw)
	// O_EXCL: two processes starting at once must not overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(dataDir)
	}
	if err != nil {
		return nil, false, fmt.Errorf("auth: create %s: %w", path, err)
	}
	if _, err := f.WriteString(k + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("auth: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("auth: sync %s: %w", path, err)
	}
	return []byte(k), true, f.Close()
}
