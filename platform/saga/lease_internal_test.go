package saga

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

func TestLeaseFencing(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := store{db: db}
		now := time.Now().UTC()
		row := &instanceRow{ID: newID(), Name: "x", Version: 1, State: Running, Data: "{}", CreatedAt: now,
			UpdatedAt: now}
		require.NoError(t, s.create(ctx, nil, row))

		_, a, err := s.acquire(ctx, row.ID, "a", now, time.Second)
		require.NoError(t, err)
		_, _, err = s.acquire(ctx, row.ID, "b", now, time.Second)
		assert.ErrorIs(t, err, errLeaseLost, "a live lease keeps other replicas out")

		_, b, err := s.acquire(ctx, row.ID, "b", now.Add(2*time.Second), time.Second)
		require.NoError(t, err, "an expired lease can be taken over")
		assert.Greater(t, b.version, a.version)
		assert.ErrorIs(t, s.fenced(ctx, a, map[string]any{"step": 5}), errLeaseLost, "the stale holder cannot write")
		assert.ErrorIs(t, s.renew(ctx, a, now.Add(time.Hour)), errLeaseLost, "nor renew")
		require.NoError(t, s.fenced(ctx, b, map[string]any{"step": 1}))
		ran := false
		effect := func(*gorm.DB) error { ran = true; return nil }
		change := func() (map[string]any, []stepRow) { return map[string]any{"step": 9}, nil }
		assert.ErrorIs(t, s.fencedEffect(ctx, a, effect, change), errLeaseLost)
		assert.False(t, ran, "a stale holder's effect never runs")

		_, b2, err := s.acquire(ctx, row.ID, "b", now.Add(2*time.Second), time.Second)
		require.NoError(t, err, "the owner may take its own lease again")
		assert.ErrorIs(t, s.fenced(ctx, b, map[string]any{"step": 2}), errLeaseLost, "which fences its old token")
		require.NoError(t, s.fenced(ctx, b2, map[string]any{"state": Completed, "lease_owner": ""}))
		_, _, err = s.acquire(ctx, row.ID, "c", now.Add(time.Hour), time.Second)
		assert.ErrorIs(t, err, errLeaseLost, "a finished saga is never leased")
	})
}

func TestCrashAtEnv(t *testing.T) {
	t.Setenv(EnvCrashAt, "users.set_goal:notify:after")
	assert.Equal(t, "users.set_goal:notify:action:after", crashAt())
	t.Setenv(EnvCrashAt, "users.set_goal:notify:compensate:before")
	assert.Equal(t, "users.set_goal:notify:compensate:before", crashAt())
}
