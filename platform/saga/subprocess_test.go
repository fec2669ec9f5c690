package saga_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/migrations"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/httpx"
	"github.com/fitloop/fitloop/platform/saga"
)

// envChildDir makes the test binary the crashing child: it opens the SQLite
// database in that directory and starts the saga named by envChildSaga.
const (
	envChildDir  = "FITLOOP_TEST_SAGA_CHILD_DIR"
	envChildSaga = "FITLOOP_TEST_SAGA_CHILD_SAGA"
)

// openAt opens (and migrates) the SQLite database kept in dir.
func openAt(tb testing.TB, dir string) *database.DB {
	tb.Helper()
	cfg := config.Default().Database
	cfg.Driver = database.SQLite
	db, err := database.Open(cfg, dir, slog.New(slog.DiscardHandler))
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, db.Close()) })
	fsys, err := migrations.FS(database.SQLite)
	require.NoError(tb, err)
	_, err = db.Migrate(context.Background(), fsys)
	require.NoError(tb, err)
	return db
}

func TestSubprocessCrash(t *testing.T) {
	if dir := os.Getenv(envChildDir); dir != "" {
		runChild(t, dir)
		return
	}
	t.Parallel()
	cases := []struct {
		name, saga, crashAt string
		final               saga.State
		effects             map[string]int
	}{
		{"resumes_after_an_exit_between_an_effect_and_its_record", "crash.ok", "crash.ok:b:after",
			saga.Completed, map[string]int{"a:do": 1, "b:do": 1, "c:do": 1}},
		{"resumes_after_an_exit_inside_a_compensation", "crash.fail", "crash.fail:b:compensate:after",
			saga.Compensated, map[string]int{"a:do": 1, "b:do": 1, "a:undo": 1, "b:undo": 1}},
		{"resumes_after_an_exit_inside_a_step_transaction_before_its_commit", "crash.tx", "crash.tx:c:after",
			saga.Completed, map[string]int{"a:do": 1, "b:do": 1, "c:do": 1}},
		{"resumes_after_an_exit_inside_a_compensation_transaction", "crash.txfail", "crash.txfail:b:compensate:after",
			saga.Compensated, map[string]int{"a:do": 1, "b:do": 1, "a:undo": 1, "b:undo": 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestSubprocessCrash$", "-test.count=1")
			cmd.Env = append(os.Environ(), envChildDir+"="+dir, envChildSaga+"="+c.saga, saga.EnvCrashAt+"="+c.crashAt)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "the child must die, got %v: %s", err, out)
			require.Equal(t, saga.CrashExitCode, exit.ExitCode(), "%s", out)

			db := openAt(t, dir)
			l := newLedger(t, db)
			survivor := newOrchestrator(t, db, registry(t, crashDefinitions(l)...), "parent",
				func(opt *saga.Options) { opt.Now = later })
			list, err := survivor.Find(context.Background(), "", httpx.Page{Limit: 10})
			require.NoError(t, err)
			require.Len(t, list.Items, 1)
			require.False(t, list.Items[0].State.Final())
			n, err := survivor.Resume(context.Background())
			require.NoError(t, err)
			require.Equal(t, 1, n)
			in := waitFinal(t, survivor, list.Items[0].ID)
			assert.Equal(t, c.final, in.State)
			assert.Equal(t, c.effects, l.effects(t, in.ID), "each side effect happened exactly once")
		})
	}
}

// runChild starts a saga that the crash failpoint ends with os.Exit.
func runChild(t *testing.T, dir string) {
	db := openAt(t, dir)
	l := newLedger(t, db)
	o := newOrchestrator(t, db, registry(t, crashDefinitions(l)...), "child")
	_, err := o.Start(context.Background(), os.Getenv(envChildSaga), nil)
	t.Fatalf("the crash failpoint did not fire; Start returned %v", err)
}
