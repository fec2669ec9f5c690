package testkit

import (
	"database/sql"
	"fmt"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

func connect(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = db.Close() })
	require.NoError(tb, db.Ping())
	return db
}

func TestPostgres(t *testing.T) {
	t.Run("gives_each_call_a_new_empty_database", func(t *testing.T) {
		a, b := connect(t, Postgres(t)), connect(t, Postgres(t))
		var nameA, nameB string
		require.NoError(t, a.QueryRow(`SELECT current_database()`).Scan(&nameA))
		require.NoError(t, b.QueryRow(`SELECT current_database()`).Scan(&nameB))
		assert.NotEqual(t, nameA, nameB)

		var tables int
		require.NoError(t, a.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&tables))
		assert.Zero(t, tables, "a new database has no tables")
		_, err := a.Exec(`CREATE TABLE only_in_a (id int)`)
		require.NoError(t, err)
		_, err = b.Exec(`SELECT * FROM only_in_a`)
		assert.Error(t, err, "databases are separate")
	})

	t.Run("drops_the_database_when_the_test_ends", func(t *testing.T) {
		var name string
		t.Run("inner", func(t *testing.T) {
			db := connect(t, Postgres(t)) // left open on purpose: the drop must end it
			require.NoError(t, db.QueryRow(`SELECT current_database()`).Scan(&name))
		})
		var n int
		require.NoError(t, pg.admin.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n))
		assert.Zero(t, n, "database %s still exists", name)
	})
}

// recorder is a testing.TB that records Skipf and Fatalf instead of stopping.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestUnavailable(t *testing.T) {
	t.Run("skips_outside_ci", func(t *testing.T) {
		t.Setenv("CI", "")
		r := &recorder{TB: t}
		unavailable(r, "no %s", "server")
		assert.Equal(t, "testkit: no server", r.skipped)
		assert.Empty(t, r.failed)
	})
	t.Run("fails_on_ci", func(t *testing.T) {
		t.Setenv("CI", "true")
		r := &recorder{TB: t}
		unavailable(r, "no %s", "server")
		assert.Contains(t, r.failed, "testkit: no server")
		assert.Empty(t, r.skipped)
	})
}

func TestWithDatabase(t *testing.T) {
	cases := []struct{ name, dsn, want string }{
		{"replaces_the_path_of_a_url", "postgres://u:p@h:5/app?sslmode=disable", "postgres://u:p@h:5/t_x?sslmode=disable"},
		{"adds_a_path_to_a_url_without_one", "postgresql://u@h", "postgresql://u@h/t_x"},
		{"overrides_dbname_in_keyword_form", "host=h dbname=app", "host=h dbname=app dbname=t_x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := withDatabase(c.dsn, "t_x")
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
			cfg, err := pgconn.ParseConfig(got)
			require.NoError(t, err)
			assert.Equal(t, "t_x", cfg.Database, "the driver reads the new name")
		})
	}
}

func TestDatabaseName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	long := "TestSomething/with_a_very_long_subtest_name_that_goes_on_and_on_and_on"
	a, b := databaseName(long), databaseName(long)
	assert.Regexp(t, valid, a)
	assert.NotEqual(t, a, b, "names are unique")
	assert.Regexp(t, `^t_testsomething_with_`, a)
}
