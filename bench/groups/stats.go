package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// lats is a set of latencies in nanoseconds.
type lats []int64

func merge(parts ...lats) lats {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make(lats, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	slices.Sort(out)
	return out
}

// q returns the f quantile of sorted latencies (nearest rank).
func (l lats) q(f float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := int(f*float64(len(l)) + 0.5)
	return time.Duration(l[min(max(i-1, 0), len(l)-1)])
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) }

// summary is "p50 X p95 X p99 X max X ms (n samples)" of sorted latencies.
func (l lats) summary() string {
	if len(l) == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s p95 %s p99 %s max %s ms (%d samples)", ms(l.q(.50)), ms(l.q(.95)), ms(l.q(.99)),
		ms(time.Duration(l[len(l)-1])), len(l))
}

// cpuMeter reports the CPU time of named processes (and of this one, and
// the machine's busy time) between start and stop.
type cpuMeter struct {
	names   []string
	pids    []int
	t0      time.Time
	before  []float64
	busy0   float64
	total0  float64
	elapsed time.Duration
	used    []float64
	busy    float64 // of the machine, in cores
}

func newCPUMeter(spec string) (*cpuMeter, error) {
	m := &cpuMeter{names: []string{"client"}, pids: []int{os.Getpid()}}
	for item := range strings.SplitSeq(spec, ",") {
		if item == "" {
			continue
		}
		name, pid, ok := strings.Cut(item, "=")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil {
			return nil, fmt.Errorf("-pids: %q is not name=pid", item)
		}
		m.names, m.pids = append(m.names, name), append(m.pids, n)
	}
	return m, nil
}

func (m *cpuMeter) start() {
	m.t0 = time.Now()
	m.before = m.read()
	m.busy0, m.total0 = machineCPU()
}

func (m *cpuMeter) stop() {
	m.elapsed = time.Since(m.t0)
	after := m.read()
	m.used = make([]float64, len(after))
	for i := range after {
		m.used[i] = after[i] - m.before[i]
	}
	busy, total := machineCPU()
	if total > m.total0 {
		m.busy = (busy - m.busy0) / (total - m.total0) * float64(nCPU())
	}
}

// String is "cpu client 0.71 fitloop 0.93 … machine 1.90 of 2 cores".
func (m *cpuMeter) String() string {
	var b strings.Builder
	b.WriteString("cpu (cores)")
	for i, n := range m.names {
		fmt.Fprintf(&b, " %s %.2f", n, m.used[i]/m.elapsed.Seconds())
	}
	fmt.Fprintf(&b, " machine %.2f of %d", m.busy, nCPU())
	return b.String()
}

// read returns each process's user+system CPU seconds (-1 when gone).
func (m *cpuMeter) read() []float64 {
	out := make([]float64, len(m.pids))
	for i, pid := range m.pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			out[i] = -1
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
		ut, _ := strconv.ParseFloat(f[11], 64)                   // utime, field 14
		st, _ := strconv.ParseFloat(f[12], 64)                   // stime, field 15
		out[i] = (ut + st) / 100                                 // USER_HZ
	}
	return out
}

func nCPU() int {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 1
	}
	n := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, "cpu") && len(line) > 3 && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	return max(n, 1)
}

// machineCPU returns the busy and total jiffies of all CPUs.
func machineCPU() (busy, total float64) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0
	}
	for i, v := range strings.Fields(sc.Text())[1:] {
		x, _ := strconv.ParseFloat(v, 64)
		total += x
		if i != 3 && i != 4 { // idle, iowait
			busy += x
		}
	}
	return busy, total
}

// serverCounters reads the hub's counters from each replica's /metrics.
type serverCounters struct {
	sent, received, slow float64
}

var counterNames = map[string]func(*serverCounters) *float64{
	"fitloop_ws_messages_sent_total":          func(c *serverCounters) *float64 { return &c.sent },
	"fitloop_ws_messages_received_total":      func(c *serverCounters) *float64 { return &c.received },
	"fitloop_ws_slow_consumers_dropped_total": func(c *serverCounters) *float64 { return &c.slow },
}

func scrape(urls string) (serverCounters, error) {
	var sum serverCounters
	for u := range strings.SplitSeq(urls, ",") {
		if u == "" {
			continue
		}
		resp, err := http.Get(u)
		if err != nil {
			return sum, err
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			name, val, ok := strings.Cut(sc.Text(), " ")
			if f := counterNames[name]; ok && f != nil {
				x, _ := strconv.ParseFloat(val, 64)
				*f(&sum) += x
			}
		}
		_ = resp.Body.Close()
	}
	return sum, nil
}

func (c serverCounters) minus(o serverCounters) serverCounters {
	return serverCounters{c.sent - o.sent, c.received - o.received, c.slow - o.slow}
}
