package main

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/testkit"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" { // a server child of TestKill9KeepsAcknowledgedSamples
		os.Exit(run(context.Background(), []string{"serve"}, os.Stdout, os.Stderr))
	}
	testkit.Main(m)
}

// TestServeOnPostgres runs the same binary on PostgreSQL by changing the two
// keys the README promises: database.driver and database.dsn.
func TestServeOnPostgres(t *testing.T) {
	dsn := testkit.Postgres(t) // before mainEnv, which clears FITLOOP_* variables
	mainEnv(t, "")
	t.Setenv("FITLOOP_DATABASE_DRIVER", "postgres")
	t.Setenv("FITLOOP_DATABASE_DSN", dsn)

	code, out, errOut := runCmd(t, "migrate", "up")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "applied")

	s := startServer(t)
	status, body := s.call(t, "GET", "/readyz", "", nil)
	assert.Equal(t, 200, status, string(body))
	userID, token := s.registerAndLogin(t, "pgalice")
	status, body = s.call(t, "POST", "/api/v1/users/"+userID+"/goals", token,
		map[string]any{"goal_type": "workouts", "target_value": 12, "target_date": "2099-12-31", "period": "monthly"})
	assert.Equal(t, 201, status, string(body))
	status, body = s.call(t, "GET", "/api/v1/users/"+userID+"/goals", token, nil)
	assert.Equal(t, 200, status)
	assert.Contains(t, string(body), `"goal_type":"workouts"`)
	assert.Equal(t, 0, s.stop(t), "stderr:\n%s", s.stderr)

	code, out, errOut = runCmd(t, "migrate", "status")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "applied")
	assert.NotContains(t, out, "pending")
}
