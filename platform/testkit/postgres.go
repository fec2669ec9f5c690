package testkit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// EnvPostgresDSN names the environment variable that points the kit at an
// existing PostgreSQL server instead of starting one. Its user must be allowed
// to create and drop databases.
const EnvPostgresDSN = "FITLOOP_TEST_POSTGRES_DSN"

// pg is the one PostgreSQL server of this test binary.
var pg struct {
	once    sync.Once
	dsn     string  // the server's maintenance database
	admin   *sql.DB // creates and drops the tests' databases
	missing string  // why there is no server: tests skip (fail on CI)
	err     error   // why reaching or starting one failed: tests fail
}

// Postgres returns the DSN of a new, empty database on this binary's
// PostgreSQL server, dropped when the test ends. The server is the one named
// by FITLOOP_TEST_POSTGRES_DSN, else a throwaway cluster started on first use
// from the local PostgreSQL binaries (fsync off, loopback only). Without
// either the test is skipped, or fails when CI is "true".
func Postgres(tb testing.TB) string {
	tb.Helper()
	pg.once.Do(setupPostgres)
	if pg.missing != "" {
		unavailable(tb, "%s", pg.missing)
		return ""
	}
	if pg.err != nil {
		tb.Fatalf("testkit: postgres: %v", pg.err)
		return ""
	}
	name := databaseName(tb.Name())
	dsn, err := withDatabase(pg.dsn, name)
	if err != nil {
		tb.Fatalf("testkit: postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pg.admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		tb.Fatalf("testkit: postgres: create database %s: %v", name, err)
	}
	tb.Cleanup(func() { dropDatabase(tb, name) })
	return dsn
}

func setupPostgres() {
	dsn := os.Getenv(EnvPostgresDSN)
	if dsn == "" {
		bin := postgresBin()
		if bin == "" {
			pg.missing = "PostgreSQL not found: install it (Debian: apt-get install postgresql) so that initdb and pg_ctl " +
				"are in /usr/lib/postgresql/*/bin or on PATH, or set " + EnvPostgresDSN + " to a server whose user may create databases"
			return
		}
		if dsn, pg.err = startCluster(bin); pg.err != nil {
			return
		}
	}
	admin, err := sql.Open("pgx", dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		pg.err = fmt.Errorf("connect to the server: %w", err)
		return
	}
	admin.SetMaxOpenConns(4)
	atExit(func() { _ = admin.Close() }) // before the cluster stops: atExit runs last in first out
	pg.dsn, pg.admin = dsn, admin
}

// postgresBin returns the directory holding initdb and pg_ctl, preferring the
// highest Debian version, or "" when there is none.
func postgresBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	if initdb, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(initdb))
	}
	for _, dir := range dirs {
		if isFile(filepath.Join(dir, "initdb")) && isFile(filepath.Join(dir, "pg_ctl")) {
			return dir
		}
	}
	return ""
}

// startCluster creates a cluster in a new temporary directory, starts it on a
// free loopback port and returns the DSN of its maintenance database. A
// watchdog stops the cluster and removes the directory when the tests end.
func startCluster(bin string) (string, error) {
	var asPostgres []string
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("running as root needs a postgres user to run the server as: %w", err)
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			return "", fmt.Errorf("running as root needs runuser to switch to the postgres user: %w", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		asPostgres = []string{runuser, "-u", "postgres", "--"}
	}
	root, err := os.MkdirTemp(tempBase(), "fitloop-pg-")
	if err != nil {
		return "", err
	}
	if err := os.Chown(root, uid, gid); err != nil {
		_ = os.RemoveAll(root)
		return "", err
	}
	data, logFile := filepath.Join(root, "data"), filepath.Join(root, "server.log")
	pgCtl := append(append([]string{}, asPostgres...), filepath.Join(bin, "pg_ctl"), "-D", data)
	quoted := make([]string, len(pgCtl))
	for i, a := range pgCtl {
		quoted[i] = shellQuote(a)
	}
	// Retried because a killed test binary may leave initdb or pg_ctl running
	// for a moment, still writing into root.
	stop, err := watchdog(fmt.Sprintf(`i=0; while [ -e %[2]s ] && [ $i -lt 50 ]; do
		%[1]s -m immediate -w stop >/dev/null 2>&1; rm -rf %[2]s 2>/dev/null || sleep 0.2; i=$((i+1)); done`,
		strings.Join(quoted, " "), shellQuote(root)))
	if err != nil {
		_ = os.RemoveAll(root)
		return "", err
	}
	atExit(stop)

	initdb := append(append([]string{}, asPostgres...), filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if err := runCmd(initdb); err != nil {
		return "", err
	}
	// Another process may take the port between our probe and the server's
	// bind, so try a few.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "+
			"-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB", port, shellQuote(root))
		err = runCmd(append(append([]string{}, pgCtl...), "-l", logFile, "-w", "-t", "60", "-o", opts, "start"))
		if err == nil {
			return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable", port), nil
		}
		if attempt == 3 {
			log, _ := os.ReadFile(logFile)
			return "", fmt.Errorf("%w\nserver log %s:\n%s", err, logFile, log)
		}
	}
}

func dropDatabase(tb testing.TB, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// WITH (FORCE) (PostgreSQL 13+) ends connections a test left open.
	_, err := pg.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
	if err != nil {
		_, _ = pg.admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name)
		_, err = pg.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`"`)
	}
	if err != nil {
		tb.Errorf("testkit: postgres: drop database %s: %v", name, err)
	}
}

// databaseName is a unique database name that shows which test made it.
func databaseName(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		if b.Len() == 40 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return "t_" + b.String() + "_" + strings.ToLower(rand.Text()[:10])
}

// withDatabase returns dsn, in URL or keyword/value form, naming database name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("%s: %w", EnvPostgresDSN, err)
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil // a later keyword overrides an earlier one
}

// tempBase is where clusters live. As root, it must be a directory the
// postgres user can reach, which a TMPDIR under a private home may not be.
func tempBase() string {
	base := os.TempDir()
	if os.Geteuid() != 0 {
		return base
	}
	for dir := base; ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if dir == filepath.Dir(dir) {
			return base
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func runCmd(args []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}
