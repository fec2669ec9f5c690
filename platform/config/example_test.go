package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/fitloop/fitloop/platform/config"
)

// repoConfig is the config.yaml shipped at the top of the repository.
var repoConfig = filepath.Join("..", "..", "config.yaml")

// TestRepoConfigDocumentsEveryKey keeps the shipped config.yaml complete: each
// key of config.Keys() appears in it, and it loads as it is.
func TestRepoConfigDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(repoConfig)
	require.NoError(t, err, "the repository must ship a config.yaml")

	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	for _, key := range config.Keys() {
		assert.True(t, hasKey(doc, strings.Split(key, ".")), "config.yaml does not document %s", key)
	}

	cfg, err := config.Load(repoConfig, false, nil)
	require.NoError(t, err)
	t.Run("shows_the_defaults", func(t *testing.T) {
		want := config.Default()
		// An empty list in YAML decodes to an empty slice, the default is nil.
		for _, l := range []*[]string{&cfg.HTTP.CORSOrigins, &cfg.HTTP.TrustedProxies, &cfg.Database.Postgres.Replicas,
			&cfg.Redis.Addrs, &cfg.Cron.Disabled, &cfg.Cron.Schedules, &cfg.Jobs.Concurrency} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		assert.Equal(t, want, cfg, "config.yaml says every key is shown with its default")
	})
}

func hasKey(m map[string]any, path []string) bool {
	v, ok := m[path[0]]
	if !ok {
		return false
	}
	if len(path) == 1 {
		return true
	}
	sub, ok := v.(map[string]any)
	return ok && hasKey(sub, path[1:])
}
