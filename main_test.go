package main

// These tests run the whole program through run(), as `fitloop` would run
// from a shell (wtf cmd/wtfd/main_test.go): the server on 127.0.0.1:0 in a
// temporary data directory, and the subcommands. They set the environment
// with t.Setenv, so none of them is parallel.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/auth"
)

// mainWait bounds every wait for the program; it is a failure deadline, never
// a delay the tests depend on.
const mainWait = 60 * time.Second

// lineWriter is an io.Writer that keeps complete lines and lets a test wait
// for one that matches, safely across goroutines.
type lineWriter struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	waiters []*lineWaiter
}

type lineWaiter struct {
	match func(string) bool
	ch    chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		w.lines = append(w.lines, line)
		kept := w.waiters[:0]
		for _, wt := range w.waiters {
			if wt.match(line) {
				wt.ch <- line
				continue
			}
			kept = append(kept, wt)
		}
		w.waiters = kept
	}
}

// String returns everything written so far.
func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for _, l := range w.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.Write(w.partial)
	return b.String()
}

// waitFor returns the first line (past or future) that matches.
func (w *lineWriter) waitFor(tb testing.TB, what string, match func(string) bool) string {
	tb.Helper()
	w.mu.Lock()
	for _, l := range w.lines {
		if match(l) {
			w.mu.Unlock()
			return l
		}
	}
	wt := &lineWaiter{match: match, ch: make(chan string, 1)}
	w.waiters = append(w.waiters, wt)
	w.mu.Unlock()
	select {
	case l := <-wt.ch:
		return l
	case <-time.After(mainWait):
		tb.Fatalf("no %s line within %s; output:\n%s", what, mainWait, w.String())
		return ""
	}
}

// logMsg matches a JSON log line whose msg is msg.
func logMsg(msg string) func(string) bool {
	return func(line string) bool {
		var m struct {
			Msg string `json:"msg"`
		}
		return json.Unmarshal([]byte(line), &m) == nil && m.Msg == msg
	}
}

// mainEnv gives the program a clean FITLOOP_* environment: a fresh data dir
// (or dataDir), a random local port, and nothing inherited from the shell.
func mainEnv(tb testing.TB, dataDir string) string {
	tb.Helper()
	// run installs its logger as the default; give the next test the old one.
	oldLog := slog.Default()
	tb.Cleanup(func() { slog.SetDefault(oldLog) })
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "FITLOOP_") {
			tb.Setenv(k, "") // restores the original value after the test
			os.Unsetenv(k)
		}
	}
	if dataDir == "" {
		dataDir = tb.TempDir()
	}
	tb.Setenv("FITLOOP_DATA_DIR", dataDir)
	tb.Setenv("FITLOOP_HTTP_ADDR", "127.0.0.1:0")
	return dataDir
}

// runCmd runs a subcommand to completion.
func runCmd(tb testing.TB, args ...string) (code int, stdout, stderr string) {
	tb.Helper()
	var out, errOut lineWriter
	ctx, cancel := context.WithTimeout(context.Background(), mainWait)
	defer cancel()
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// runningServer is `fitloop serve` running in a goroutine.
type runningServer struct {
	url    string
	stdout *lineWriter
	stderr *lineWriter
	cancel context.CancelFunc
	done   chan int
	client *http.Client
}

// startServer runs the server and waits for its "listening" line.
func startServer(tb testing.TB, args ...string) *runningServer {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &runningServer{stdout: &lineWriter{}, stderr: &lineWriter{}, cancel: cancel, done: make(chan int, 1),
		client: &http.Client{Timeout: mainWait}}
	go func() { s.done <- run(ctx, args, s.stdout, s.stderr) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(mainWait):
			tb.Errorf("server did not stop")
		}
		s.client.CloseIdleConnections()
	})

	listening := make(chan string, 1)
	go func() {
		var m struct {
			Addr string `json:"addr"`
		}
		line := s.stdout.waitFor(tb, "listening", logMsg("listening"))
		_ = json.Unmarshal([]byte(line), &m)
		listening <- m.Addr
	}()
	select {
	case addr := <-listening:
		require.NotEmpty(tb, addr)
		s.url = "http://" + addr
	case code := <-s.done:
		s.done <- code
		tb.Fatalf("server exited with %d before listening; stderr:\n%s\nstdout:\n%s", code, s.stderr, s.stdout)
	}
	return s
}

// stop cancels the server's context and returns its exit code.
func (s *runningServer) stop(tb testing.TB) int {
	tb.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		s.done <- code
		return code
	case <-time.After(mainWait):
		tb.Fatalf("server did not stop within %s", mainWait)
		return -1
	}
}

// call sends a request and returns the status and body.
func (s *runningServer) call(tb testing.TB, method, path, token string, body any) (int, []byte) {
	tb.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(tb, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, r)
	require.NoError(tb, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp.StatusCode, b
}

// registerAndLogin creates a customer over HTTP and returns its id and token.
func (s *runningServer) registerAndLogin(tb testing.TB, username string) (userID, token string) {
	tb.Helper()
	status, body := s.call(tb, "POST", "/api/v1/users/register", "", map[string]string{
		"username": username, "email": username + "@example.com", "password": "Correct-Horse-" + username,
	})
	require.Equal(tb, http.StatusCreated, status, string(body))
	return s.login(tb, username+"@example.com", "Correct-Horse-"+username)
}

func (s *runningServer) login(tb testing.TB, email, password string) (userID, token string) {
	tb.Helper()
	status, body := s.call(tb, "POST", "/api/v1/users/login", "", map[string]string{"email": email, "password": password})
	require.Equal(tb, http.StatusOK, status, string(body))
	var res struct {
		UserID string `json:"user_id"`
		Token  string `json:"token"`
	}
	require.NoError(tb, json.Unmarshal(body, &res))
	require.NotEmpty(tb, res.Token)
	return res.UserID, res.Token
}

func TestServe(t *testing.T) {
	mainEnv(t, "")
	s := startServer(t)

	t.Run("healthz", func(t *testing.T) {
		status, body := s.call(t, "GET", "/healthz", "", nil)
		assert.Equal(t, 200, status)
		assert.JSONEq(t, `{"status":"ok"}`, string(body))
	})
	t.Run("readyz", func(t *testing.T) {
		status, body := s.call(t, "GET", "/readyz", "", nil)
		assert.Equal(t, 200, status, string(body))
		var r struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		require.NoError(t, json.Unmarshal(body, &r))
		assert.Equal(t, "ready", r.Status)
		assert.Equal(t, "ok", r.Checks["database"])
		assert.Equal(t, "ok", r.Checks["migrations"])
	})
	t.Run("register_login_and_read_own_profile", func(t *testing.T) {
		userID, token := s.registerAndLogin(t, "alice")
		status, body := s.call(t, "GET", "/api/v1/users/"+userID, token, nil)
		assert.Equal(t, 200, status, string(body))
		assert.Contains(t, string(body), `"email":"alice@example.com"`)

		status, _ = s.call(t, "GET", "/api/v1/users/"+userID, "", nil)
		assert.Equal(t, 401, status)
	})
	t.Run("metrics", func(t *testing.T) {
		status, body := s.call(t, "GET", "/metrics", "", nil)
		assert.Equal(t, 200, status)
		out := string(body)
		assert.Contains(t, out, `fitloop_http_requests_total{method="GET",route="/healthz",status="200"}`)
		assert.Contains(t, out, `route="/api/v1/users/:user_id"`)
		assert.Contains(t, out, "go_goroutines")
		assert.Contains(t, out, `fitloop_db_open_connections{pool="write"}`)
	})
	t.Run("openapi_and_unknown_routes", func(t *testing.T) {
		status, _ := s.call(t, "GET", "/api/openapi.json", "", nil)
		assert.Equal(t, 200, status)
		status, body := s.call(t, "GET", "/api/v1/nope", "", nil)
		assert.Equal(t, 404, status)
		assert.Contains(t, string(body), "route_not_found")
	})
	t.Run("access_log_has_the_request_id", func(t *testing.T) {
		req, err := http.NewRequest("GET", s.url+"/healthz", nil)
		require.NoError(t, err)
		req.Header.Set("X-Request-ID", "main-test-request")
		resp, err := s.client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		line := s.stdout.waitFor(t, "access log", func(l string) bool {
			return strings.Contains(l, `"request_id":"main-test-request"`)
		})
		assert.Contains(t, line, `"route":"/healthz"`)
	})

	assert.Equal(t, 0, s.stop(t), "a cancelled context is a graceful shutdown; stderr:\n%s", s.stderr)
	assert.NotEmpty(t, s.stdout.waitFor(t, "shutting down", logMsg("shutting down")))
}

// TestServeFinishesInFlightRequests cancels the context while a login request
// is half sent, and checks the request still completes with its answer.
// Without sleeps: "Expect: 100-continue" tells us the handler is reading the
// body; the refused dial tells us the listener is closed, so the shutdown has
// begun before the rest of the body is sent.
func TestServeFinishesInFlightRequests(t *testing.T) {
	mainEnv(t, "")
	s := startServer(t)
	userID, _ := s.registerAndLogin(t, "inflight")
	addr := strings.TrimPrefix(s.url, "http://")

	body := `{"email":"inflight@example.com","password":"Correct-Horse-inflight"}`
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(mainWait)))
	fmt.Fprintf(conn, "POST /api/v1/users/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, len(body))
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1 100 Continue\r\n", status)
	_, err = br.ReadString('\n') // the blank line ending the interim response
	require.NoError(t, err)
	_, err = conn.Write([]byte(body[:10]))
	require.NoError(t, err)

	s.cancel()
	s.stdout.waitFor(t, "shutting down", logMsg("shutting down"))
	deadline := time.Now().Add(mainWait)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		require.True(t, time.Now().Before(deadline), "the listener never closed")
	}
	select {
	case code := <-s.done:
		t.Fatalf("run returned %d with a request in flight", code)
	default:
	}

	_, err = conn.Write([]byte(body[10:]))
	require.NoError(t, err)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode, string(b))
	assert.Contains(t, string(b), userID)

	assert.Equal(t, 0, s.stop(t), "stderr:\n%s", s.stderr)
}

func TestVersion(t *testing.T) {
	code, out, _ := runCmd(t, "version")
	assert.Equal(t, 0, code)
	assert.Equal(t, "fitloop "+version+"\n", out)
}

func TestMigrate(t *testing.T) {
	mainEnv(t, "")

	code, out, errOut := runCmd(t, "migrate", "status")
	require.Equal(t, 0, code, errOut)
	pending := strings.Split(strings.TrimSpace(out), "\n")
	require.NotEmpty(t, pending)
	for _, l := range pending {
		assert.Contains(t, l, "pending")
		assert.NotContains(t, l, "applied")
	}
	assert.Contains(t, out, "00001")

	code, out, errOut = runCmd(t, "migrate", "up")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, fmt.Sprintf("applied %d migration(s)\n", len(pending)), out)

	code, out, errOut = runCmd(t, "migrate", "status")
	require.Equal(t, 0, code, errOut)
	applied := strings.Split(strings.TrimSpace(out), "\n")
	assert.Len(t, applied, len(pending))
	for _, l := range applied {
		assert.Contains(t, l, "applied")
	}

	code, out, _ = runCmd(t, "migrate", "up")
	assert.Equal(t, 0, code)
	assert.Equal(t, "applied 0 migration(s)\n", out, "migrate up is idempotent")

	t.Run("bad_usage_is_exit_2", func(t *testing.T) {
		for _, args := range [][]string{{"migrate"}, {"migrate", "down"}, {"migrate", "up", "extra"}} {
			code, _, errOut := runCmd(t, args...)
			assert.Equal(t, 2, code, "%v", args)
			assert.Contains(t, errOut, "usage")
		}
	})
}

func TestAdminCreateUser(t *testing.T) {
	dataDir := mainEnv(t, "")
	setStdin := func(s string) {
		old := stdin
		stdin = strings.NewReader(s)
		t.Cleanup(func() { stdin = old })
	}

	setStdin("Admin-Password-123\n")
	code, out, errOut := runCmd(t, "admin", "create-user", "--email", "root@example.com", "--username", "root", "--role", "admin")
	require.Equal(t, 0, code, "stderr:\n%s\nstdout:\n%s", errOut, out)
	assert.Contains(t, out, "created admin root (root@example.com) id=")
	assert.NotContains(t, out+errOut, "Admin-Password-123", "the password is never echoed")

	t.Run("the_admin_can_log_in_and_use_admin_routes", func(t *testing.T) {
		s := startServer(t)
		_, token := s.login(t, "root@example.com", "Admin-Password-123")
		status, body := s.call(t, "GET", "/api/v1/admin/users", token, nil)
		assert.Equal(t, 200, status, string(body))
		assert.Contains(t, string(body), `"username":"root"`)
		assert.Equal(t, 0, s.stop(t))
	})
	t.Run("invalid_password_is_exit_2_with_a_message", func(t *testing.T) {
		setStdin("short\n")
		code, _, errOut := runCmd(t, "admin", "create-user", "--email", "x@example.com", "--username", "xavier")
		assert.Equal(t, 2, code)
		assert.Contains(t, errOut, "password")
		assert.Contains(t, errOut, "at least 10 characters")
	})
	t.Run("password_flag_works_too", func(t *testing.T) {
		setStdin("")
		code, out, errOut := runCmd(t, "admin", "create-user", "--email", "coach@example.com", "--username", "coach",
			"--role", "instructor", "--password", "Coach-Password-123")
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, "created instructor coach")
	})
	t.Run("duplicate_email_is_exit_2", func(t *testing.T) {
		setStdin("Admin-Password-456\n")
		code, _, errOut := runCmd(t, "admin", "create-user", "--email", "root@example.com", "--username", "root2")
		assert.Equal(t, 2, code)
		assert.Contains(t, errOut, "email")
	})
	t.Run("bad_usage_is_exit_2", func(t *testing.T) {
		for _, args := range [][]string{{"admin"}, {"admin", "delete-user"}, {"admin", "create-user", "--bogus"}} {
			code, _, _ := runCmd(t, args...)
			assert.Equal(t, 2, code, "%v", args)
		}
	})
	_ = dataDir
}

func TestBadConfig(t *testing.T) {
	t.Run("an_unusable_data_dir_is_exit_1_not_a_panic", func(t *testing.T) {
		mainEnv(t, "/proc/nonexistent/fitloop")
		code, _, errOut := runCmd(t)
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "fitloop:")
	})
	t.Run("bad_value_is_exit_1_naming_the_key", func(t *testing.T) {
		mainEnv(t, "")
		t.Setenv("FITLOOP_LOG_LEVEL", "loud")
		code, _, errOut := runCmd(t)
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "log.level")
		assert.Contains(t, errOut, "FITLOOP_LOG_LEVEL")
	})
	t.Run("missing_explicit_config_is_exit_1", func(t *testing.T) {
		mainEnv(t, "")
		missing := filepath.Join(t.TempDir(), "missing.yaml")
		code, _, errOut := runCmd(t, "--config", missing, "version-is-not-reached")
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, missing)
	})
	t.Run("explicit_config_is_read", func(t *testing.T) {
		mainEnv(t, "")
		path := filepath.Join(t.TempDir(), "fitloop.yaml")
		require.NoError(t, os.WriteFile(path, []byte("log:\n  level: shout\n"), 0o600))
		code, _, errOut := runCmd(t, "--config", path, "migrate", "status")
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "log.level")
	})
	t.Run("unknown_flag_is_exit_2", func(t *testing.T) {
		code, _, _ := runCmd(t, "--nope")
		assert.Equal(t, 2, code)
	})
}

func TestUnknownCommand(t *testing.T) {
	mainEnv(t, "")
	code, _, errOut := runCmd(t, "frobnicate")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "frobnicate")
}

func TestSigningKeyIsGeneratedOnceAndReused(t *testing.T) {
	dataDir := mainEnv(t, "")

	first := startServer(t)
	userID, token := first.registerAndLogin(t, "keeper")
	first.stdout.waitFor(t, "key warning", logMsg("generated a token signing key; set auth.signing_key when running several replicas"))
	require.Equal(t, 0, first.stop(t))

	path := filepath.Join(dataDir, auth.SigningKeyFile)
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	key, err := os.ReadFile(path)
	require.NoError(t, err)

	second := startServer(t)
	status, body := second.call(t, "GET", "/api/v1/users/"+userID, token, nil)
	assert.Equal(t, 200, status, "a token from the first run is valid in the second: %s", body)
	require.Equal(t, 0, second.stop(t))
	assert.NotContains(t, second.stdout.String(), "generated a token signing key")

	again, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, key, again, "the key file is not rewritten")

	t.Run("a_configured_key_is_used_instead", func(t *testing.T) {
		t.Setenv("FITLOOP_AUTH_SIGNING_KEY", strings.Repeat("c", 40))
		third := startServer(t)
		status, _ := third.call(t, "GET", "/api/v1/users/"+userID, token, nil)
		assert.Equal(t, 401, status, "a token signed with the generated key is not valid under another key")
		require.Equal(t, 0, third.stop(t))
	})
}
