package testkit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Environment variables that choose the kit's MongoDB-compatible server.
const (
	// EnvMongoURI points the kit at an existing MongoDB-compatible server (a
	// real MongoDB, say) instead of starting FerretDB. Its user must be
	// allowed to create and drop databases.
	EnvMongoURI = "FITLOOP_TEST_MONGO_URI"
	// EnvFerretDB is the path of a FerretDB binary built from .ci/ferretdb;
	// without it the kit builds one (see Mongo).
	EnvFerretDB = "FITLOOP_TEST_FERRETDB"
)

// ferretDBSource is the wrapper module that embeds FerretDB v1, relative to
// the repository root.
var ferretDBSource = filepath.Join(".ci", "ferretdb")

// mongoServer is the one MongoDB-compatible server of this test binary.
var mongoServer struct {
	once    sync.Once
	uri     string
	admin   *mongo.Client // drops the tests' databases
	missing string        // why there is no server: tests skip (fail on CI)
	err     error         // why reaching or starting one failed: tests fail
}

// Mongo returns the URI of this binary's MongoDB-compatible server and the
// name of a new database on it, dropped when the test ends. The server is
// the one named by FITLOOP_TEST_MONGO_URI, else FerretDB v1 on its SQLite
// backend in a temporary directory, started on first use on a free loopback
// port and stopped when the test binary exits. The FerretDB binary is
// FITLOOP_TEST_FERRETDB, else .ci/ferretdb built once into the user cache
// directory (keyed by the module's files, so a changed go.sum builds anew;
// the first build takes a minute or two). Without a binary and without the
// go command or the module sources to build one, the test is skipped, or
// fails when CI is "true".
//
// FerretDB is not MongoDB: it has no transactions, and it applies an update
// as read, modify, write back, so concurrent updates of one document may be
// lost. Code under test must not depend on either.
func Mongo(tb testing.TB) (uri, database string) {
	tb.Helper()
	mongoServer.once.Do(setupMongo)
	if mongoServer.missing != "" {
		unavailable(tb, "%s", mongoServer.missing)
		return "", ""
	}
	if mongoServer.err != nil {
		tb.Fatalf("testkit: mongo: %v", mongoServer.err)
		return "", ""
	}
	// Databases come into being with their first write; the random suffix
	// makes this one new.
	name := databaseName(tb.Name())
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := mongoServer.admin.Database(name).Drop(ctx); err != nil {
			tb.Errorf("testkit: mongo: drop database %s: %v", name, err)
		}
	})
	return mongoServer.uri, name
}

func setupMongo() {
	uri := os.Getenv(EnvMongoURI)
	var exited <-chan struct{}
	if uri == "" {
		bin, missing, err := ferretDBBin()
		if missing != "" || err != nil {
			mongoServer.missing, mongoServer.err = missing, err
			return
		}
		if uri, exited, mongoServer.err = startFerretDB(bin); mongoServer.err != nil {
			return
		}
	}
	admin, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(time.Second))
	if err == nil {
		err = waitMongo(admin, exited)
		if err != nil {
			_ = admin.Disconnect(context.Background())
		}
	}
	if err != nil {
		mongoServer.err = fmt.Errorf("connect to %s: %w", uri, err)
		return
	}
	// Before the server stops: atExit runs last in first out.
	atExit(func() { _ = admin.Disconnect(context.Background()) })
	mongoServer.uri, mongoServer.admin = uri, admin
}

// waitMongo pings until the server answers, it exits (exited, when not nil,
// is closed) or 30 seconds pass.
func waitMongo(c *mongo.Client, exited <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx, nil)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("the server exited: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer: %w", err)
		}
	}
}

// ferretDBBin returns the FerretDB binary: FITLOOP_TEST_FERRETDB, or the
// cached build of .ci/ferretdb, building it if need be. missing says why
// there is none; err is for a path that was given but is wrong.
func ferretDBBin() (bin, missing string, err error) {
	if bin := os.Getenv(EnvFerretDB); bin != "" {
		if !isFile(bin) {
			return "", "", fmt.Errorf("%s=%s is not a file", EnvFerretDB, bin)
		}
		return bin, "", nil
	}
	how := "build it with `cd .ci/ferretdb && go build -o /some/dir/ferretdb .` and set " + EnvFerretDB +
		"=/some/dir/ferretdb, or set " + EnvMongoURI + " to a MongoDB-compatible server"
	src, err := findUp(ferretDBSource)
	if err != nil {
		return "", fmt.Sprintf("FerretDB: %v; %s", err, how), nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", "FerretDB: no go command on PATH to build " + src + "; " + how, nil
	}
	key, err := hashDir(src)
	if err != nil {
		return "", "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "fitloop", "ferretdb-"+key)
	bin = filepath.Join(dir, "ferretdb")
	if isFile(bin) {
		return bin, "", nil
	}
	if err := buildFerretDB(goBin, src, dir, bin); err != nil {
		return "", fmt.Sprintf("FerretDB: could not build %s: %v\n%s", src, err, how), nil
	}
	return bin, "", nil
}

// findUp looks for rel in the working directory and each of its parents.
func findUp(rel string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if isFile(filepath.Join(dir, rel, "go.mod")) {
			return filepath.Join(dir, rel), nil
		}
		if dir == filepath.Dir(dir) {
			return "", fmt.Errorf("no %s/go.mod in %s or above", rel, wd)
		}
	}
}

// hashDir hashes the names and contents of the files directly in dir
// (main.go, go.mod, go.sum): a change to any of them is a new build.
func hashDir(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, e := range entries { // sorted by name
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", e.Name(), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// buildFerretDB builds src into bin under an exclusive lock on dir, so test
// binaries of several packages starting at once build it once between them.
func buildFerretDB(goBin, src, dir, bin string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close() // releases the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	if isFile(bin) { // built while we waited
		return nil
	}
	tmp := bin + ".tmp-" + rand.Text()[:8]
	defer os.Remove(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", tmp, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return os.Rename(tmp, bin)
}

// startFerretDB starts bin on the SQLite backend in a new temporary
// directory, on a free loopback port, and returns its URI and a channel
// closed when the process exits. A watchdog kills it and removes the
// directory when the tests end.
func startFerretDB(bin string) (uri string, exited <-chan struct{}, err error) {
	root, err := os.MkdirTemp("", "fitloop-ferretdb-")
	if err != nil {
		return "", nil, err
	}
	data := filepath.Join(root, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		_ = os.RemoveAll(root)
		return "", nil, err
	}
	// Another process may take the port between the probe and the bind, so
	// try a few.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return "", nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		exited, err := runFerretDB(bin, root, data, addr)
		if err == nil {
			return "mongodb://" + addr + "/", exited, nil
		}
		if attempt == 3 {
			return "", nil, err
		}
	}
}

// runFerretDB starts one FerretDB process on addr and waits until it
// listens, or exits.
func runFerretDB(bin, root, data, addr string) (<-chan struct{}, error) {
	logFile, err := os.CreateTemp(root, "server-*.log")
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	// No fsync, as for the kit's PostgreSQL: the data dies with the tests.
	cmd := exec.Command(bin, "-handler=sqlite", "-sqlite-url=file:"+data+"/?_pragma=synchronous(off)", "-listen-addr="+addr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	// The watchdog kills the server when the test binary ends in any way.
	stop, err := watchdog(fmt.Sprintf("kill -9 %d 2>/dev/null; sleep 0.1; rm -rf %s",
		cmd.Process.Pid, shellQuote(root)))
	if err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return nil, err
	}
	atExit(func() {
		stop()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
	})
	if err := waitListening(addr, exited); err != nil {
		log, _ := readTail(logFile.Name(), 4<<10)
		return nil, fmt.Errorf("ferretdb on %s: %w\nlog %s:\n%s", addr, err, logFile.Name(), log)
	}
	return exited, nil
}

// waitListening waits until addr accepts TCP connections, or exited closes.
func waitListening(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		select {
		case <-exited:
			return errors.New("exited")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening after 30 s: %w", err)
		}
	}
}

// readTail returns at most the last n bytes of the file at path.
func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		_, _ = f.Seek(-n, io.SeekEnd)
	}
	return io.ReadAll(f)
}
