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
	return LoadOrCreateKeyFile(dataDir, SigningKeyFile)
}

// LoadOrCreateKeyFile is LoadOrCreateKey for the key file name in dataDir
// (another secret that must survive restarts, such as the warehouse's
// pseudonym key).
func LoadOrCreateKeyFile(dataDir, name string) (key []byte, created bool, err error) {
	path := filepath.Join(dataDir, name)
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
	// The key is written whole to a temporary file and then hard-linked into
	// place: the link appears atomically and fails if the file exists, so two
	// processes starting at once agree on one key and neither reads a
	// half-written file (an O_EXCL create alone would expose an empty one).
	f, err := os.CreateTemp(dataDir, name+".tmp-*")
	if err != nil {
		return nil, false, fmt.Errorf("auth: %w", err)
	}
	tmp := f.Name() // CreateTemp makes it 0600
	defer os.Remove(tmp)
	if _, err := f.WriteString(k + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("auth: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("auth: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("auth: close %s: %w", tmp, err)
	}
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(dataDir)
	} else if err != nil {
		return nil, false, fmt.Errorf("auth: create %s: %w", path, err)
	}
	return []byte(k), true, nil
}
