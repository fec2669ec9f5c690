package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// participant is one user's socket. Its reader goroutine reads every frame
// as it comes (the server drops a socket whose 32-frame queue fills) and
// hands room events to onEvent; writes go through wmu.
type participant struct {
	idx     int // in the scenario's participant list
	acct    account
	url     string
	ws      *websocket.Conn
	wmu     sync.Mutex
	onEvent func(p *participant, typ string, frame []byte, now int64) // frame is valid during the call only

	joinMu  sync.Mutex
	joinCh  chan error // set while a join waits for its session_state
	closing atomic.Bool
	lost    atomic.Bool // the socket ended before the client closed it
	done    chan struct{}
	readErr error // set before done closes

	frames atomic.Int64 // frames received
	// errors the server sent, by code; owned by the reader until done.
	errs map[string]int
}

var dialer = &websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 1024}

func dial(url string, idx int, a account, onEvent func(*participant, string, []byte, int64)) (*participant, error) {
	ws, resp, err := dialer.Dial(url, http.Header{"Authorization": {"Bearer " + a.Token}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s as user %d: %w", url, idx, err)
	}
	p := &participant{idx: idx, acct: a, url: url, ws: ws, onEvent: onEvent, done: make(chan struct{}),
		errs: map[string]int{}}
	go p.read()
	return p, nil
}

// send writes one JSON message.
func (p *participant) send(msg []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return p.ws.WriteMessage(websocket.TextMessage, msg)
}

// join sends join_session and waits for the session_state.
func (p *participant) join(sessionID string) error {
	ch := make(chan error, 1)
	p.joinMu.Lock()
	p.joinCh = ch
	p.joinMu.Unlock()
	msg, _ := json.Marshal(map[string]string{"type": "join_session", "session_id": sessionID})
	if err := p.send(msg); err != nil {
		return fmt.Errorf("join as user %d: %w", p.idx, err)
	}
	select {
	case err := <-ch:
		return err
	case <-p.done:
		return fmt.Errorf("join as user %d: socket closed: %v", p.idx, p.readErr)
	case <-time.After(30 * time.Second):
		return fmt.Errorf("join as user %d: no session_state within 30 s", p.idx)
	}
}

func (p *participant) joined(err error) {
	p.joinMu.Lock()
	ch := p.joinCh
	p.joinCh = nil
	p.joinMu.Unlock()
	if ch != nil {
		ch <- err
	}
}

// typePrefix starts every room event and session_state frame.
var typePrefix = []byte(`{"type":"`)

// frameType returns the frame's type: room events start with it; other
// frames (maps encoded with sorted keys) are decoded.
func frameType(b []byte) string {
	if rest, ok := bytes.CutPrefix(b, typePrefix); ok {
		if i := bytes.IndexByte(rest, '"'); i >= 0 {
			return string(rest[:i])
		}
	}
	var m struct{ Type string }
	_ = json.Unmarshal(b, &m)
	return m.Type
}

func (p *participant) read() {
	defer close(p.done)
	var buf bytes.Buffer // reused: onEvent must not keep the frame
	for {
		buf.Reset()
		_, r, err := p.ws.NextReader()
		if err == nil {
			_, err = buf.ReadFrom(r)
		}
		b := buf.Bytes()
		if err != nil {
			p.readErr = err
			p.lost.Store(!p.closing.Load())
			p.joined(fmt.Errorf("socket closed: %w", err))
			return
		}
		now := time.Now().UnixNano()
		p.frames.Add(1)
		switch typ := frameType(b); typ {
		case "session_state":
			p.joined(nil)
		case "error":
			var e struct{ Code, Message string }
			_ = json.Unmarshal(b, &e)
			p.errs[e.Code]++
			p.joined(fmt.Errorf("join refused: %s: %s", e.Code, e.Message))
		case "joined", "participant_joined", "participant_left", "host_changed", "session_ended", "pong":
		default:
			if p.onEvent != nil {
				p.onEvent(p, typ, b, now)
			}
		}
	}
}

// close ends the socket with a normal close and waits for the reader.
func (p *participant) close() {
	p.closing.Store(true)
	p.wmu.Lock()
	_ = p.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(time.Second))
	p.wmu.Unlock()
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
	}
	_ = p.ws.Close()
	<-p.done
}

// dropped reports whether the socket ended before the client closed it.
func (p *participant) dropped() bool {
	select {
	case <-p.done:
		return p.lost.Load()
	default:
		return false
	}
}

// connect dials every account (participant i to urls[route(i)]) and joins
// each to sessionOf(i), conc at a time.
func connect(accts []account, urls []string, conc int, route func(int) int, sessionOf func(int) string,
	onEvent func(*participant, string, []byte, int64)) ([]*participant, time.Duration, error) {
	start := time.Now()
	ps := make([]*participant, len(accts))
	err := parallel(len(accts), conc, func(i int) error {
		p, err := dial(urls[route(i)%len(urls)], i, accts[i], onEvent)
		if err != nil {
			return err
		}
		ps[i] = p
		return p.join(sessionOf(i))
	})
	if err != nil {
		closeAll(ps)
		return nil, 0, err
	}
	return ps, time.Since(start), nil
}

func closeAll(ps []*participant) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, p := range ps {
		if p == nil {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			p.close()
		})
	}
	wg.Wait()
}

// socketReport describes the sockets the server ended before the client
// closed them: lost during the run (droppedLive, counted before the
// sessions ended) and after it, and the error codes the server sent (read
// after closeAll).
func socketReport(ps []*participant, droppedLive []bool) string {
	during, after := 0, 0
	var why []string
	codes := map[string]int{}
	for i, p := range ps {
		switch {
		case droppedLive[i]:
			during++
			if len(why) < 3 {
				why = append(why, fmt.Sprintf("user %d: %v", p.idx, p.readErr))
			}
		case p.dropped():
			after++
		}
		for k, v := range p.errs {
			codes[k] += v
		}
	}
	s := fmt.Sprintf("sockets dropped by the server during the run %d", during)
	if len(why) > 0 {
		s += " (" + strings.Join(why, "; ") + ")"
	}
	s += fmt.Sprintf(", after it (while sessions ended and sockets closed) %d", after)
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	errs := make([]string, 0, len(keys))
	for _, k := range keys {
		errs = append(errs, fmt.Sprintf("%s×%d", k, codes[k]))
	}
	if len(errs) == 0 {
		errs = []string{"none"}
	}
	return s + "; server error frames " + strings.Join(errs, " ")
}

// droppedNow reports, per participant, whether its socket has already
// been ended by the server.
func droppedNow(ps []*participant) []bool {
	out := make([]bool, len(ps))
	for i, p := range ps {
		out[i] = p.dropped()
	}
	return out
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
