package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// chatPeer is what one participant's reader keeps in the chat scenario.
type chatPeer struct {
	seen []uint64 // bitset of message numbers received
	lat  lats     // send → receipt of measured messages
	dup  int
	bad  int // chat frames whose text was not ours
}

// chatRun is the chat scenario's shared state.
type chatRun struct {
	n        int
	got      []atomic.Int32 // receipts per message
	last     []atomic.Int64 // latest receipt latency per message (ns)
	first    []atomic.Int64 // earliest receipt latency per message (ns)
	measured []atomic.Bool
	peers    []chatPeer
}

var chatMarker = []byte(`"message":"bench k=`)

// parseChat finds k and t in a chat_message frame's "bench k=<k> t=<ns>".
func parseChat(frame []byte) (k int, t int64, ok bool) {
	i := bytes.Index(frame, chatMarker)
	if i < 0 {
		return 0, 0, false
	}
	rest := frame[i+len(chatMarker):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return 0, 0, false
	}
	ks, ts, ok := strings.Cut(string(rest[:j]), " t=")
	if !ok {
		return 0, 0, false
	}
	kk, err1 := strconv.Atoi(ks)
	tt, err2 := strconv.ParseInt(ts, 10, 64)
	return kk, tt, err1 == nil && err2 == nil
}

func (r *chatRun) onEvent(p *participant, typ string, frame []byte, now int64) {
	if typ != "chat_message" {
		return
	}
	me := &r.peers[p.idx]
	k, t, ok := parseChat(frame)
	if !ok || k < 0 || k >= len(r.got) {
		me.bad++
		return
	}
	if me.seen[k/64]&(1<<(k%64)) != 0 {
		me.dup++
		return
	}
	me.seen[k/64] |= 1 << (k % 64)
	d := now - t
	if r.measured[k].Load() {
		me.lat = append(me.lat, d)
	}
	for {
		cur := r.last[k].Load()
		if d <= cur || r.last[k].CompareAndSwap(cur, d) {
			break
		}
	}
	for {
		cur := r.first[k].Load()
		if (cur != 0 && d >= cur) || r.first[k].CompareAndSwap(cur, d) {
			break
		}
	}
	r.got[k].Add(1)
}

func runChat(cl *client, urls []string, accts []account, c config) error {
	n := len(accts)
	total := int(c.rate*(c.warm+c.d).Seconds()) + 16
	r := &chatRun{n: n, got: make([]atomic.Int32, total), last: make([]atomic.Int64, total),
		first:    make([]atomic.Int64, total),
		measured: make([]atomic.Bool, total), peers: make([]chatPeer, n)}
	for i := range r.peers {
		r.peers[i].seen = make([]uint64, total/64+1)
	}
	sessionID, err := createSession(cl, accts[0], "bench chat", max(n, 2))
	if err != nil {
		return err
	}
	ps, took, err := connect(accts, urls, c.joinC, func(i int) int { return i }, func(int) string { return sessionID }, r.onEvent)
	if err != nil {
		return err
	}
	defer closeAll(ps)
	fmt.Printf("%sjoined %d participants over %d replica(s) in %s\n", c.label, n, len(urls), took.Round(time.Millisecond))
	time.Sleep(2 * time.Second) // the last participant_joined events reach everyone

	cpu, err := newCPUMeter(c.pids)
	if err != nil {
		return err
	}
	interval := time.Duration(float64(time.Second) / c.rate)
	begin := time.Now()
	mStart, mEnd := begin.Add(c.warm), begin.Add(c.warm+c.d)
	var sendErrs atomic.Int64
	var wg sync.WaitGroup
	sent, measuredSent := 0, 0
	var frames0, frames1 int64
	var srv0, srv1 serverCounters
	started := false
	tick := time.NewTicker(interval)
	for now := begin; now.Before(mEnd) && sent < total; now = <-tick.C {
		if !started && !now.Before(mStart) {
			started = true
			frames0, srv0 = sumFrames(ps), scrapeOrZero(c.metrics)
			cpu.start()
		}
		k := sent
		sent++
		if started {
			r.measured[k].Store(true)
			measuredSent++
		}
		p := ps[k%n]
		wg.Go(func() {
			msg, _ := json.Marshal(map[string]string{"type": "chat_message",
				"message": "bench k=" + strconv.Itoa(k) + " t=" + strconv.FormatInt(time.Now().UnixNano(), 10)})
			if p.send(msg) != nil {
				sendErrs.Add(1)
			}
		})
	}
	tick.Stop()
	wg.Wait()
	cpu.stop()
	frames1, srv1 = sumFrames(ps), scrapeOrZero(c.metrics)
	measuredDur := cpu.elapsed
	deadline := time.Now().Add(c.drain)
	for time.Now().Before(deadline) && !r.complete() {
		time.Sleep(20 * time.Millisecond)
	}
	droppedLive := droppedNow(ps)
	if err := endSession(cl, accts[0], sessionID); err != nil {
		fmt.Println("warning:", err)
	}
	closeAll(ps)

	// Only participants whose sockets stayed up are owed every message; a
	// dropped socket's missing messages count as losses all the same.
	var all []lats
	complete, receipts, dups, bad := 0, 0, 0, 0
	var lastLat, firstLat lats
	for k := range sent {
		if !r.measured[k].Load() {
			continue
		}
		g := int(r.got[k].Load())
		receipts += g
		if g > 0 {
			firstLat = append(firstLat, r.first[k].Load())
		}
		if g == n {
			complete++
			lastLat = append(lastLat, r.last[k].Load())
		}
	}
	for i := range r.peers {
		all = append(all, r.peers[i].lat)
		dups += r.peers[i].dup
		bad += r.peers[i].bad
	}
	lat := merge(all...)
	lastLat, firstLat = merge(lastLat), merge(firstLat)
	want := measuredSent * n
	srv := srv1.minus(srv0)
	fmt.Printf("%sresult: %d msgs at %.0f/s to %d participants, delivered to all %d/%d (%.2f %%), receipts %d/%d (%.3f %%), latency send→receipt %s\n",
		c.label, measuredSent, c.rate, n, complete, measuredSent, pct(complete, measuredSent), receipts, want, pct(receipts, want), lat.summary())
	fmt.Printf("%s  per message, send → first participant: %s\n", c.label, firstLat.summary())
	fmt.Printf("%s  per message, send → last participant: %s\n", c.label, lastLat.summary())
	fmt.Printf("%s  frames/s received by clients %.0f, sent by server(s) %.0f; slow consumers dropped by server %.0f; %s\n",
		c.label, float64(frames1-frames0)/measuredDur.Seconds(), srv.sent/measuredDur.Seconds(), srv1.slow, cpu)
	fmt.Printf("%s  send errors %d, duplicates %d, unparsed chat frames %d; %s\n",
		c.label, sendErrs.Load(), dups, bad, socketReport(ps, droppedLive))
	return nil
}

// complete reports whether every measured message reached everyone.
func (r *chatRun) complete() bool {
	for k := range r.got {
		if r.measured[k].Load() && int(r.got[k].Load()) < r.n {
			return false
		}
	}
	return true
}

func sumFrames(ps []*participant) int64 {
	var n int64
	for _, p := range ps {
		n += p.frames.Load()
	}
	return n
}

func scrapeOrZero(urls string) serverCounters {
	c, err := scrape(urls)
	if err != nil {
		fmt.Println("warning: metrics:", err)
	}
	return c
}

func pct(a, b int) float64 { return 100 * float64(a) / float64(max(b, 1)) }
