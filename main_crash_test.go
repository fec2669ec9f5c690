package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
)

// childEnv makes the test binary run `fitloop serve` instead of the tests.
const childEnv = "FITLOOP_TEST_SERVE_CHILD"

// TestKill9KeepsAcknowledgedSamples posts samples from concurrent clients,
// kills the server with SIGKILL at a random moment, and checks that every
// sample that got a 200 is in the database and that the database is intact.
// FITLOOP_TEST_KILL_ITERATIONS sets the rounds (3 by default; 20 locally).
func TestKill9KeepsAcknowledgedSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	rounds := 3
	if v := os.Getenv("FITLOOP_TEST_KILL_ITERATIONS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		rounds = n
	}
	dataDir := mainEnv(t, "")
	code, _, errOut := runCmd(t, "admin", "create-user", "--email", "kill@example.com", "--username", "killer",
		"--password", "Correct-Horse-Battery-9", "--role", "customer")
	require.Equal(t, 0, code, errOut)

	acked := map[string]bool{}
	for round := range rounds {
		srv := startChild(t, dataDir)
		userID, token := srv.login(t, "kill@example.com", "Correct-Horse-Battery-9")
		got := postUntilKilled(t, srv, userID, token, round)
		for _, id := range got {
			acked[id] = true
		}
		userIDs, integrity := inspect(t, dataDir, userID)
		require.Equal(t, "ok", integrity, "round %d", round)
		missing := 0
		for id := range acked {
			if !userIDs[id] {
				missing++
			}
		}
		require.Zero(t, missing, "round %d: %d acknowledged samples are missing", round, missing)
		t.Logf("round %d: %d samples acknowledged before the kill, %d in total, all present", round, len(got), len(acked))
	}
}

// child is a `fitloop serve` process.
type child struct {
	runningServer
	cmd *exec.Cmd
}

// startChild runs the server in a child process on dataDir and waits until
// it listens.
func startChild(tb testing.TB, dataDir string) *child {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "FITLOOP_DATA_DIR="+dataDir,
		"FITLOOP_HTTP_ADDR=127.0.0.1:0", "FITLOOP_LOG_FLUSH_INTERVAL=0s")
	out, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	cmd.Stderr = os.Stderr
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		require.True(tb, ok, "the server exited before listening")
		return &child{runningServer: runningServer{url: "http://" + a, client: &http.Client{Timeout: mainWait}}, cmd: cmd}
	case <-time.After(mainWait):
		tb.Fatal("the server did not start")
		return nil
	}
}

// postUntilKilled runs 4 clients posting 25 batches of 100 samples each
// and SIGKILLs the server at a random moment: once a random number (1–90)
// of the 100 batches is acknowledged, while the other clients' batches are
// in flight. It returns the sample ids of every batch answered 200.
func postUntilKilled(tb testing.TB, srv *child, userID, token string, round int) []string {
	tb.Helper()
	var (
		mu     sync.Mutex
		acked  []string
		kill   = make(chan struct{})
		once   sync.Once
		wg     sync.WaitGroup
		target = 1 + rand.IntN(90)
	)
	base := time.Now().Add(-time.Hour).UTC()
	for c := range 4 {
		wg.Go(func() {
			for b := range 25 {
				ids, body := batch(round, c, b, base)
				status, err := post(srv, "/api/v1/users/"+userID+"/metrics", token, body)
				if err != nil {
					return // killed
				}
				if status == http.StatusOK {
					mu.Lock()
					acked = append(acked, ids...)
					if len(acked) >= target*len(ids) {
						once.Do(func() { close(kill) })
					}
					mu.Unlock()
				}
			}
		})
	}
	select {
	case <-kill:
	case <-time.After(mainWait):
		tb.Fatal("the batches were not acknowledged")
	}
	require.NoError(tb, srv.cmd.Process.Kill())
	_ = srv.cmd.Wait()
	wg.Wait()
	srv.client.CloseIdleConnections()
	return acked
}

func batch(round, client, b int, base time.Time) ([]string, []byte) {
	type sample struct {
		Metric     string  `json:"metric"`
		Value      float64 `json:"value"`
		RecordedAt string  `json:"recorded_at"`
		SampleID   string  `json:"sample_id"`
	}
	ids := make([]string, 100)
	samples := make([]sample, 100)
	for i := range samples {
		ids[i] = fmt.Sprintf("r%d-c%d-b%d-%d", round, client, b, i)
		at := base.Add(time.Duration(((round*4+client)*25+b)*100+i) * time.Millisecond)
		samples[i] = sample{Metric: "heart_rate", Value: float64(60 + i%100), RecordedAt: at.Format(time.RFC3339Nano), SampleID: ids[i]}
	}
	body, _ := json.Marshal(map[string]any{"samples": samples})
	return ids, body
}

func post(srv *child, path, token string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, srv.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err // cut mid-answer: not acknowledged
	}
	return resp.StatusCode, nil
}

// inspect opens the killed server's database (recovering its WAL) and
// returns the user's sample ids and PRAGMA integrity_check.
func inspect(tb testing.TB, dataDir, userID string) (map[string]bool, string) {
	tb.Helper()
	cfg := config.Default()
	db, err := database.Open(cfg.Database, dataDir, slog.New(slog.DiscardHandler))
	require.NoError(tb, err)
	defer db.Close()
	ctx := context.Background()
	var integrity string
	require.NoError(tb, db.Read(ctx).Raw("PRAGMA integrity_check").Scan(&integrity).Error)
	var ids []string
	require.NoError(tb, db.Read(ctx).Raw("SELECT sample_id FROM activity_samples WHERE user_id = ?", userID).
		Scan(&ids).Error)
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	assert.NotEmpty(tb, set)
	return set, integrity
}
