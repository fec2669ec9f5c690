package auth_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/auth"
)

func TestLoadOrCreateKey(t *testing.T) {
	t.Parallel()
	t.Run("creates_a_0600_file_once_and_reuses_it", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data", "nested")
		key, created, err := auth.LoadOrCreateKey(dir)
		require.NoError(t, err)
		assert.True(t, created)
		assert.Regexp(t, `^[0-9a-f]{64}$`, string(key))

		path := filepath.Join(dir, auth.SigningKeyFile)
		st, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

		again, created, err := auth.LoadOrCreateKey(dir)
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, key, again)

		_, err = auth.NewSigner(key, "fitloop", "fitloop-api")
		assert.NoError(t, err, "the generated key is long enough to sign with")
	})
	t.Run("keys_differ_per_data_dir", func(t *testing.T) {
		a, _, err := auth.LoadOrCreateKey(t.TempDir())
		require.NoError(t, err)
		b, _, err := auth.LoadOrCreateKey(t.TempDir())
		require.NoError(t, err)
		assert.NotEqual(t, a, b)
	})
	t.Run("reads_a_provided_key_trimming_whitespace", func(t *testing.T) {
		dir := t.TempDir()
		want := "an-operator-provided-key-of-40-characters"
		require.NoError(t, os.WriteFile(filepath.Join(dir, auth.SigningKeyFile), []byte("  "+want+"\n"), 0o600))
		key, created, err := auth.LoadOrCreateKey(dir)
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, want, string(key))
	})
	t.Run("rejects_a_short_key", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, auth.SigningKeyFile), []byte("short\n"), 0o600))
		_, _, err := auth.LoadOrCreateKey(dir)
		require.Error(t, err)
		assert.Contains(t, err.Error(), auth.SigningKeyFile)
	})
	t.Run("rejects_an_empty_file", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, auth.SigningKeyFile), nil, 0o600))
		_, _, err := auth.LoadOrCreateKey(dir)
		require.Error(t, err)
	})
	t.Run("concurrent_starts_agree_on_one_key", func(t *testing.T) {
		// Two processes starting at once on a fresh data dir must end up with
		// the same key, and neither may see a half-written file.
		for range 20 {
			dir := t.TempDir()
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				keys    = map[string]int{}
				creates int
				errs    []error
			)
			for range 8 {
				wg.Go(func() {
					key, created, err := auth.LoadOrCreateKey(dir)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
						return
					}
					keys[string(key)]++
					if created {
						creates++
					}
				})
			}
			wg.Wait()
			require.Empty(t, errs)
			assert.Len(t, keys, 1)
			assert.Equal(t, 1, creates)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, entries, 1, "no temporary files are left behind")
			assert.Equal(t, auth.SigningKeyFile, entries[0].Name())
		}
	})
	t.Run("fails_when_the_data_dir_cannot_be_created", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
		_, _, err := auth.LoadOrCreateKey(filepath.Join(file, "sub"))
		assert.Error(t, err)
	})
}
