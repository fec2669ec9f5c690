// Command wsbench measures WebSocket room fan-out (S5/S6 in
// docs/peer-performance): it dials N authenticated clients, joins them to one
// room, publishes M messages per second carrying a send timestamp, and
// reports delivered %, p50/p99 latency and the server's RSS.
//
// Against a running fitloop (its groups module providing the join and publish
// message types):
//
//	wsbench -url ws://127.0.0.1:8080/api/v1/ws -token $TOKEN -n 1000 -rate 10 -d 10s -pid $(pgrep -n fitloop)
//
// Self-contained, with an in-process hub that registers "bench.join" and
// "bench.publish" (RSS then includes the clients):
//
//	wsbench -serve -n 1000 -rate 10 -d 10s
//
// Idle capacity: -idle holds the N sockets for -d and only reports RSS.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

type config struct {
	url, token, room, joinType, pubType, listen, redis string
	n, rate, pid                                       int
	d                                                  time.Duration
	idle, serve                                        bool
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "", "WebSocket URL(s), comma-separated: clients are spread over them (S6)")
	flag.StringVar(&c.token, "token", "bench", "bearer token for every client")
	flag.StringVar(&c.room, "room", "bench", "room to join")
	flag.StringVar(&c.joinType, "join-type", "bench.join", `message type that joins {"room":..}`)
	flag.StringVar(&c.pubType, "publish-type", "bench.publish", `message type that publishes {"room":..,"ts":unix ns} to the room`)
	flag.IntVar(&c.n, "n", 1000, "clients")
	flag.IntVar(&c.rate, "rate", 10, "messages per second")
	flag.DurationVar(&c.d, "d", 10*time.Second, "publishing (or idle) duration")
	flag.IntVar(&c.pid, "pid", 0, "server pid whose RSS to report (0: this process with -serve)")
	flag.BoolVar(&c.idle, "idle", false, "only hold the sockets and report RSS")
	flag.BoolVar(&c.serve, "serve", false, "run an in-process hub on 127.0.0.1:0")
	flag.StringVar(&c.redis, "redis", "", "with -listen: share rooms through this Redis (host:port), so several -listen processes act as replicas")
	flag.StringVar(&c.listen, "listen", "", "only serve the bench hub on this address until killed (run the clients in another process with -url)")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "wsbench:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if c.listen != "" {
		url, _, err := serve(c.token, c.listen, c.redis)
		if err != nil {
			return err
		}
		fmt.Println("serving", url, "pid", os.Getpid())
		select {}
	}
	if c.serve {
		url, stop, err := serve(c.token, "127.0.0.1:0", "")
		if err != nil {
			return err
		}
		defer stop()
		c.url = url
		if c.pid == 0 {
			c.pid = os.Getpid()
		}
	}
	if c.url == "" {
		return fmt.Errorf("-url or -serve is required")
	}
	urls := strings.Split(c.url, ",")
	lat := newRecorder(c.n * c.rate * int(c.d.Seconds()+1))
	clients := make([]*websocket.Conn, 0, c.n)
	defer func() {
		for _, ws := range clients {
			_ = ws.Close()
		}
	}()
	start := time.Now()
	for i := range c.n {
		ws, err := dial(urls[i%len(urls)], c.token)
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		clients = append(clients, ws)
		if !c.idle {
			if err := joinRoom(ws, c.joinType, c.room); err != nil {
				return fmt.Errorf("client %d: %w", i, err)
			}
		}
	}
	fmt.Printf("dialed %d clients in %s\n", c.n, time.Since(start).Round(time.Millisecond))
	if c.idle {
		time.Sleep(c.d) // holding the sockets is the measurement
		reportRSS(c.pid, c.n)
		return nil
	}
	var wg sync.WaitGroup
	for _, ws := range clients {
		wg.Go(func() { receive(ws, lat) })
	}
	pub, err := dial(urls[0], c.token)
	if err != nil {
		return fmt.Errorf("publisher: %w", err)
	}
	sent := publish(pub, c)
	deadline := time.Now().Add(5 * time.Second)
	for lat.count() < sent*int64(c.n) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, ws := range clients {
		_ = ws.SetReadDeadline(time.Now())
	}
	wg.Wait()
	_ = pub.Close()
	want := sent * int64(c.n)
	p50, p99, worst := lat.quantiles()
	fmt.Printf("sent %d msgs to %d clients: delivered %d/%d (%.2f %%), p50 %s, p99 %s, max %s\n",
		sent, c.n, lat.count(), want, 100*float64(lat.count())/float64(max(want, 1)), p50, p99, worst)
	reportRSS(c.pid, c.n)
	return nil
}

func dial(url, token string) (*websocket.Conn, error) {
	ws, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + token}})
	if resp != nil {
		_ = resp.Body.Close()
	}
	return ws, err
}

func joinRoom(ws *websocket.Conn, typ, room string) error {
	if err := ws.WriteJSON(map[string]any{"type": typ, "room": room}); err != nil {
		return err
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m struct{ Type, Code string }
		if err := ws.ReadJSON(&m); err != nil {
			return err
		}
		switch m.Type {
		case "joined":
			return nil
		case "error":
			return fmt.Errorf("join refused: %s", m.Code)
		}
	}
}

// publish sends c.rate messages per second for c.d and returns how many.
func publish(ws *websocket.Conn, c config) int64 {
	t := time.NewTicker(time.Second / time.Duration(c.rate))
	defer t.Stop()
	end := time.Now().Add(c.d)
	var sent int64
	for now := range t.C {
		if now.After(end) {
			break
		}
		if err := ws.WriteJSON(map[string]any{"type": c.pubType, "room": c.room, "ts": time.Now().UnixNano()}); err != nil {
			break
		}
		sent++
	}
	// Drain the publisher's own replies so its queue never fills.
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	return sent
}

type roomEvent struct {
	Type string `json:"type"`
	Seq  uint64 `json:"seq"`
	Data struct {
		TS int64 `json:"ts"`
	} `json:"data"`
}

func receive(ws *websocket.Conn, lat *recorder) {
	_ = ws.SetReadDeadline(time.Time{})
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var ev roomEvent
		if json.Unmarshal(b, &ev) == nil && ev.Seq > 0 && ev.Data.TS > 0 {
			lat.add(time.Duration(time.Now().UnixNano() - ev.Data.TS))
		}
	}
}

type recorder struct {
	mu sync.Mutex
	d  []time.Duration
	n  atomic.Int64
}

func newRecorder(capacity int) *recorder { return &recorder{d: make([]time.Duration, 0, capacity)} }

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.d = append(r.d, d)
	r.mu.Unlock()
	r.n.Add(1)
}

func (r *recorder) count() int64 { return r.n.Load() }

func (r *recorder) quantiles() (p50, p99, worst time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(r.d)
	q := func(f float64) time.Duration { return r.d[min(len(r.d)-1, int(f*float64(len(r.d))))] }
	return q(.50), q(.99), r.d[len(r.d)-1]
}

func reportRSS(pid, n int) {
	if pid == 0 {
		return
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		fmt.Println("rss: ", err)
		return
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kb int
			_, _ = fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:")), "%d", &kb)
			fmt.Printf("rss of pid %d: %d MB (%d KB per client)\n", pid, kb/1024, kb/max(n, 1))
		}
	}
}
