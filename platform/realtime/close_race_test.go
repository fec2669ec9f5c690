package realtime_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/fitloop/fitloop/platform/realtime"
)

// Dials while the hub closes; goleak at exit (testkit.Main) reports a stuck
// handshake or unregister.
func TestCloseWhileConnecting(t *testing.T) {
	for range 30 {
		h, url := server(t, realtime.Options{})
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				hdr := http.Header{}
				hdr.Set("Authorization", "Bearer tok-alice")
				ws, resp, err := websocket.DefaultDialer.Dial(url, hdr)
				if err == nil {
					_ = resp.Body.Close()
					time.Sleep(time.Millisecond)
					_ = ws.Close()
				}
			})
		}
		time.Sleep(2 * time.Millisecond)
		_ = h.Close()
		wg.Wait()
	}
}

func TestCloseSends1001(t *testing.T) {
	h, url := server(t, realtime.Options{})
	ws := dial(t, url, "tok-alice")
	ws2 := dial(t, url, "tok-bob")
	join(t, ws, "r1", 0)
	start := time.Now()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	t.Log("close took", time.Since(start))
	if got := closeCode(t, ws, 2*time.Second); got != 1001 {
		t.Fatalf("code %d", got)
	}
	if got := closeCode(t, ws2, 2*time.Second); got != 1001 {
		t.Fatalf("code %d", got)
	}
	if h.Len() != 0 {
		t.Fatalf("len %d", h.Len())
	}
	if err := h.Close(); err == nil {
		t.Fatal("second close")
	}
}

func TestCloseWithAClientThatDoesNotRead(t *testing.T) {
	h, url := server(t, realtime.Options{WriteWait: 300 * time.Millisecond})
	ws := dial(t, url, "tok-alice")
	_ = ws
	start := time.Now()
	_ = h.Close()
	t.Log("close took", time.Since(start))
}
