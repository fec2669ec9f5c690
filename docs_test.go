package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/config"
)

// TestReadmeDocumentsEveryConfigKey keeps the README's configuration table
// in step with the config struct.
func TestReadmeDocumentsEveryConfigKey(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, key := range config.Keys() {
		assert.Contains(t, string(readme), "| `"+key+"` | `"+config.EnvName(key)+"` |", "README lacks %s", key)
	}
}
