package testkit

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// redisServer is one redis-server process the kit started.
type redisServer struct {
	addr   string
	args   []string // without the port: RestartRedis reuses them
	cmd    *exec.Cmd
	exited chan struct{}
	stop   func() // the watchdog: kills the process, now or when the tests end
}

var redisServers struct {
	mu sync.Mutex
	m  map[string]*redisServer
}

// Redis returns the address of a new, empty redis-server on a free loopback
// port, killed when the test ends. Without redis-server on PATH the test is
// skipped, or fails when CI is "true".
func Redis(tb testing.TB) string {
	tb.Helper()
	return startRedis(tb, dataArgs(tb.TempDir())...)
}

// RedisRing returns the addresses of n independent redis-servers, the shards
// of a client-side ring.
func RedisRing(tb testing.TB, n int) []string {
	tb.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = Redis(tb)
	}
	return addrs
}

// KillRedis stops the kit's server at addr with SIGKILL and waits until it is
// gone, as a crash would.
func KillRedis(tb testing.TB, addr string) {
	tb.Helper()
	s := lookupRedis(tb, addr)
	s.stop()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		tb.Fatalf("testkit: redis %s did not exit after SIGKILL", addr)
	}
}

// RestartRedis starts a server again on the port of the killed server addr,
// with the same options and an empty data set.
func RestartRedis(tb testing.TB, addr string) {
	tb.Helper()
	old := lookupRedis(tb, addr)
	select {
	case <-old.exited:
	default:
		tb.Fatalf("testkit: redis %s is still running; KillRedis it first", addr)
	}
	if err := runRedis(tb, addr, old.args); err != nil {
		tb.Fatalf("testkit: restart redis %s: %v", addr, err)
	}
}

// dataArgs are the options of a throwaway data server: no persistence.
func dataArgs(dir string) []string {
	return []string{"--dir", dir, "--save", "", "--appendonly", "no"}
}

func redisBin(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(tb, "redis-server not found on PATH: install it (Debian: apt-get install redis-server)")
		return ""
	}
	return bin
}

// startRedis starts redis-server with args on a free port and returns its
// address. Another process may take the port between the probe and the
// bind, so it tries a few.
func startRedis(tb testing.TB, args ...string) string {
	tb.Helper()
	redisBin(tb)
	var err error
	for range 3 {
		var port int
		if port, err = freePort(); err != nil {
			break
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err = runRedis(tb, addr, args); err == nil {
			return addr
		}
	}
	tb.Fatalf("testkit: start redis-server: %v", err)
	return ""
}

// runRedis starts redis-server on addr's port, waits until it answers PING
// and registers it for Cleanup, KillRedis and RestartRedis.
func runRedis(tb testing.TB, addr string, args []string) error {
	tb.Helper()
	_, port, _ := net.SplitHostPort(addr)
	full := append(append([]string{}, args...), "--port", port, "--bind", "127.0.0.1", "--daemonize", "no")
	cmd := exec.Command(redisBin(tb), full...)
	logFile, err := os.CreateTemp(tb.TempDir(), "redis-*.log")
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	s := &redisServer{addr: addr, args: args, cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	// The watchdog kills the server when the test binary ends in any way.
	if s.stop, err = watchdog(fmt.Sprintf("kill -9 %d 2>/dev/null", cmd.Process.Pid)); err != nil {
		_ = cmd.Process.Kill()
		return err
	}
	atExit(s.stop)
	if err := waitRedis(addr, s.exited); err != nil {
		s.stop()
		<-s.exited
		out, _ := os.ReadFile(logFile.Name())
		return fmt.Errorf("%w\nlog %s:\n%s", err, filepath.Base(logFile.Name()), out)
	}
	redisServers.mu.Lock()
	if redisServers.m == nil {
		redisServers.m = map[string]*redisServer{}
	}
	redisServers.m[addr] = s
	redisServers.mu.Unlock()
	tb.Cleanup(func() {
		s.stop()
		<-s.exited
		redisServers.mu.Lock()
		if redisServers.m[addr] == s {
			delete(redisServers.m, addr)
		}
		redisServers.mu.Unlock()
	})
	return nil
}

// waitRedis waits until the server at addr answers PING, or exits.
func waitRedis(addr string, exited <-chan struct{}) error {
	c := goredis.NewClient(&goredis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited: %v", addr, err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s did not answer: %w", addr, err)
		}
	}
}

func lookupRedis(tb testing.TB, addr string) *redisServer {
	tb.Helper()
	redisServers.mu.Lock()
	defer redisServers.mu.Unlock()
	s, ok := redisServers.m[addr]
	if !ok {
		tb.Fatalf("testkit: no redis-server of the kit at %s", addr)
	}
	return s
}
