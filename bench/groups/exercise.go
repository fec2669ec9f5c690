package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// maxUpdates bounds a sender's updates in one run: weight_kg carries the
// update's number and may be at most 1000.
const maxUpdates = 1000

// sender is one participant's updates, indexed by update number.
type sender struct {
	sentAt   []atomic.Int64
	measured []atomic.Bool
	hostGot  []atomic.Bool
	echoGot  []atomic.Bool
	last     atomic.Int64 // highest number sent
}

func newSender(n int) sender {
	return sender{sentAt: make([]atomic.Int64, n+1), measured: make([]atomic.Bool, n+1),
		hostGot: make([]atomic.Bool, n+1), echoGot: make([]atomic.Bool, n+1)}
}

// exPeer is what one participant's reader keeps.
type exPeer struct {
	hostLat, echoLat lats    // measured updates: sender → host, sender → own socket
	hostSent         []int64 // send times of hostLat's updates (for -dump)
	unexpected       int     // another participant's update at a non-host
	unknown          int     // updates that match no send
	lbCount          int     // leaderboards received in the measured window
	lbGap, lbAge     lats    // interval between two leaderboards; receipt − at
	lastLB           int64   // receipt of the previous leaderboard
}

type exerciseRun struct {
	per          int
	byUser       map[string]int // user id → participant index
	senders      []sender
	peers        []exPeer
	hostOf       []int // participant → its session's host
	mStart, mEnd atomic.Int64
}

type exerciseData struct {
	UserID   string  `json:"user_id"`
	WeightKG float64 `json:"weight_kg"`
}

type exerciseFrame struct {
	Data exerciseData `json:"data"`
}

// onUpdate matches one update received by p to its send.
func (r *exerciseRun) onUpdate(p *participant, me *exPeer, d exerciseData, now int64) {
	from, ok := r.byUser[d.UserID]
	k := int(d.WeightKG)
	if !ok || k < 1 || k >= len(r.senders[from].sentAt) || float64(k) != d.WeightKG {
		me.unknown++
		return
	}
	s := &r.senders[from]
	at := s.sentAt[k].Load()
	if at == 0 {
		me.unknown++
		return
	}
	isHost := r.hostOf[from] == p.idx
	isSelf := from == p.idx
	if !isHost && !isSelf {
		me.unexpected++
		return
	}
	m := s.measured[k].Load()
	if isHost {
		s.hostGot[k].Store(true)
		if m {
			me.hostLat = append(me.hostLat, now-at)
			me.hostSent = append(me.hostSent, at)
		}
	}
	if isSelf {
		s.echoGot[k].Store(true)
		if m {
			me.echoLat = append(me.echoLat, now-at)
		}
	}
}

var atMarker = []byte(`"data":{"at":"`)

func (r *exerciseRun) onEvent(p *participant, typ string, frame []byte, now int64) {
	me := &r.peers[p.idx]
	inWindow := r.mStart.Load() > 0 && now >= r.mStart.Load() && now < r.mEnd.Load()
	switch typ {
	case "exercise_update":
		var f exerciseFrame
		if json.Unmarshal(frame, &f) != nil {
			me.unknown++
			return
		}
		r.onUpdate(p, me, f.Data, now)
	case "exercise_updates": // held together for the host
		var f struct {
			Data struct {
				Updates []exerciseData `json:"updates"`
			} `json:"data"`
		}
		if json.Unmarshal(frame, &f) != nil {
			me.unknown++
			return
		}
		for _, u := range f.Data.Updates {
			r.onUpdate(p, me, u, now)
		}
	case "leaderboard":
		if !inWindow {
			me.lastLB = 0
			return
		}
		me.lbCount++
		if me.lastLB > 0 {
			me.lbGap = append(me.lbGap, now-me.lastLB)
		}
		me.lastLB = now
		if i := bytes.Index(frame, atMarker); i >= 0 {
			rest := frame[i+len(atMarker):]
			if j := bytes.IndexByte(rest, '"'); j > 0 {
				if t, err := time.Parse(time.RFC3339Nano, string(rest[:j])); err == nil {
					me.lbAge = append(me.lbAge, now-t.UnixNano())
				}
			}
		}
	}
}

func runExercise(cl *client, urls []string, accts []account, c config) error {
	total := len(accts)
	if c.phase != "spread" && c.phase != "burst" {
		return fmt.Errorf("-phase must be spread or burst")
	}
	if c.warm+c.d > (maxUpdates-5)*time.Second {
		return fmt.Errorf("-warm + -d must stay under %d s (weight_kg carries the update number)", maxUpdates-5)
	}
	r := &exerciseRun{per: c.per, byUser: map[string]int{}, senders: make([]sender, total),
		peers: make([]exPeer, total), hostOf: make([]int, total)}
	updates := int((c.warm+c.d)/time.Second) + 2
	for i, a := range accts {
		r.senders[i] = newSender(updates)
		r.byUser[a.UserID] = i
		r.hostOf[i] = i / c.per * c.per
	}
	ids := make([]string, c.sessions)
	if err := parallel(c.sessions, c.joinC, func(s int) (err error) {
		ids[s], err = createSession(cl, accts[s*c.per], "bench class "+strconv.Itoa(s), max(c.per, 2))
		return err
	}); err != nil {
		return err
	}
	ps, took, err := connect(accts, urls, c.joinC, func(i int) int { return i/c.per + i%c.per },
		func(i int) string { return ids[i/c.per] }, r.onEvent)
	if err != nil {
		return err
	}
	defer closeAll(ps)
	fmt.Printf("%sjoined %d participants in %d sessions over %d replica(s) in %s\n", c.label, total, c.sessions,
		len(urls), took.Round(time.Millisecond))
	time.Sleep(2 * time.Second)

	cpu, err := newCPUMeter(c.pids)
	if err != nil {
		return err
	}
	begin := time.Now().Add(100 * time.Millisecond)
	mStart, mEnd := begin.Add(c.warm), begin.Add(c.warm+c.d)
	r.mStart.Store(mStart.UnixNano())
	r.mEnd.Store(mEnd.UnixNano())
	var sendErrs atomic.Int64
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() {
			// Phases spread evenly over the second: with -phase spread a
			// session's participants every second/per, sessions interleaved;
			// with -phase burst a session's participants one after the
			// other (a session's updates arrive within second/sessions).
			slot := (i%c.per)*c.sessions + i/c.per
			if c.phase == "burst" {
				slot = i
			}
			first := begin.Add(time.Duration(int64(time.Second) * int64(slot) / int64(total)))
			time.Sleep(time.Until(first))
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			s := &r.senders[i]
			for k := 1; k <= updates; k++ {
				now := time.Now()
				if !now.Before(mEnd) {
					return
				}
				msg := fmt.Appendf(nil, `{"type":"exercise_update","exercise":%q,"reps":10,"weight_kg":%d,"heart_rate":%d}`,
					c.exercise, k, 100+(i+k)%80)
				s.measured[k].Store(!now.Before(mStart))
				s.sentAt[k].Store(time.Now().UnixNano())
				s.last.Store(int64(k))
				if p.send(msg) != nil {
					sendErrs.Add(1)
					return
				}
				<-tick.C
			}
		})
	}
	time.Sleep(time.Until(mStart))
	frames0, srv0 := sumFrames(ps), scrapeOrZero(c.metrics)
	cpu.start()
	time.Sleep(time.Until(mEnd))
	cpu.stop()
	frames1, srv1 := sumFrames(ps), scrapeOrZero(c.metrics)
	measuredDur := cpu.elapsed
	wg.Wait()
	deadline := time.Now().Add(c.drain)
	for time.Now().Before(deadline) && !r.complete() {
		time.Sleep(20 * time.Millisecond)
	}
	droppedLive := droppedNow(ps)
	if err := parallel(c.sessions, c.joinC, func(s int) error { return endSession(cl, accts[s*c.per], ids[s]) }); err != nil {
		fmt.Println("warning:", err)
	}
	closeAll(ps)

	sent, toHost, toSelf, both := 0, 0, 0, 0
	for i := range r.senders {
		s := &r.senders[i]
		for k := 1; k <= int(s.last.Load()); k++ {
			if !s.measured[k].Load() {
				continue
			}
			sent++
			h, e := s.hostGot[k].Load(), s.echoGot[k].Load()
			if h {
				toHost++
			}
			if e {
				toSelf++
			}
			if h && e {
				both++
			}
		}
	}
	var hostL, echoL, gapL, ageL []lats
	unexpected, unknown, lbCount, noLB := 0, 0, 0, 0
	for i := range r.peers {
		pe := &r.peers[i]
		hostL, echoL = append(hostL, pe.hostLat), append(echoL, pe.echoLat)
		gapL, ageL = append(gapL, pe.lbGap), append(ageL, pe.lbAge)
		unexpected += pe.unexpected
		unknown += pe.unknown
		lbCount += pe.lbCount
		if pe.lbCount == 0 {
			noLB++
		}
	}
	if c.dump != "" {
		if err := dumpHost(c.dump, r.peers); err != nil {
			return err
		}
	}
	host, echo, gap, age := merge(hostL...), merge(echoL...), merge(gapL...), merge(ageL...)
	srv := srv1.minus(srv0)
	secs := measuredDur.Seconds()
	fmt.Printf("%sresult: %d updates (%.0f/s) from %d participants in %d sessions, delivered to host and sender %d/%d (%.3f %%), latency sender→host %s\n",
		c.label, sent, float64(sent)/secs, total, c.sessions, both, sent, pct(both, sent), host.summary())
	fmt.Printf("%s  host receipts %d/%d (%.3f %%), sender's own echo %d/%d (%.3f %%) %s; updates seen by other participants %d (want 0), unmatched %d\n",
		c.label, toHost, sent, pct(toHost, sent), toSelf, sent, pct(toSelf, sent), echo.summary(), unexpected, unknown)
	fmt.Printf("%s  leaderboards %.2f per participant per second (%d participants got none); interval %s; age (receipt − at) %s\n",
		c.label, float64(lbCount)/float64(total)/secs, noLB, gap.summary(), age.summary())
	fmt.Printf("%s  frames/s received by clients %.0f, sent by server(s) %.0f, messages/s received by server(s) %.0f; slow consumers dropped by server %.0f; %s\n",
		c.label, float64(frames1-frames0)/secs, srv.sent/secs, srv.received/secs, srv1.slow, cpu)
	hostsDropped := 0
	for i := range ps {
		if r.hostOf[i] == i && droppedLive[i] {
			hostsDropped++
		}
	}
	fmt.Printf("%s  send errors %d, hosts among the sockets dropped during the run %d of %d; %s\n", c.label, sendErrs.Load(),
		hostsDropped, count(droppedLive), socketReport(ps, droppedLive))
	return nil
}

// dumpHost writes "send unix ns,latency ns" of every measured host receipt.
func dumpHost(path string, peers []exPeer) error {
	var b []byte
	for i := range peers {
		for j, at := range peers[i].hostSent {
			b = fmt.Appendf(b, "%d,%d\n", at, peers[i].hostLat[j])
		}
	}
	return os.WriteFile(path, b, 0o644)
}

// complete reports whether every measured update reached host and sender.
func (r *exerciseRun) complete() bool {
	for i := range r.senders {
		s := &r.senders[i]
		for k := 1; k <= int(s.last.Load()); k++ {
			if s.measured[k].Load() && (!s.hostGot[k].Load() || !s.echoGot[k].Load()) {
				return false
			}
		}
	}
	return true
}

// parallel runs fn(0..n-1), conc at a time; the first error stops the
// rest and is returned.
func parallel(n, conc int, fn func(int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range max(conc, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
