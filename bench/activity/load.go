package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

// recorder is one connection's tally; drive merges them at the end, so the
// hot loop takes no lock.
type recorder struct {
	lat      []time.Duration
	errors   int64
	samples  int64 // acknowledged (accepted) samples
	dups     int64 // samples the server counted as duplicates
	ops      int64 // completed operations (a start/end pair is one)
	firstErr error
}

// request times one request; a failed one counts as an error, not a latency.
func (r *recorder) request(f func() error) bool {
	began := time.Now()
	if err := f(); err != nil {
		r.errors++
		if r.firstErr == nil {
			r.firstErr = err
		}
		return false
	}
	r.lat = append(r.lat, time.Since(began))
	return true
}

// errStop ends a connection's loop early without counting an error.
var errStop = errors.New("stop")

// drive runs op on conns connections (op's w is the connection's index)
// until d has passed, each connection finishing the operation it is in.
func drive(conns int, d time.Duration, op func(w int, r *recorder) error) (*recorder, time.Duration) {
	recs := make([]*recorder, conns)
	var wg sync.WaitGroup
	began := time.Now()
	deadline := began.Add(d)
	for w := range conns {
		recs[w] = &recorder{lat: make([]time.Duration, 0, 1<<14)}
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := op(w, recs[w]); err != nil {
					if !errors.Is(err, errStop) {
						fmt.Fprintf(os.Stderr, "connection %d stopped: %v\n", w, err)
					}
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	all := &recorder{}
	for _, r := range recs {
		all.lat = append(all.lat, r.lat...)
		all.errors += r.errors
		all.samples += r.samples
		all.dups += r.dups
		all.ops += r.ops
		if all.firstErr == nil {
			all.firstErr = r.firstErr
		}
	}
	return all, elapsed
}

// report prints the result line bench/activity.sh parses, plus extra
// "name value" pairs.
func report(label string, r *recorder, elapsed time.Duration, extra ...any) {
	slices.Sort(r.lat)
	q := func(f float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[min(len(r.lat)-1, int(f*float64(len(r.lat))))]
	}
	reqs := int64(len(r.lat)) + r.errors
	line := fmt.Sprintf("%s%.1f req/s p50 %s p99 %s errors %d requests %d in %.2fs",
		label, float64(reqs)/elapsed.Seconds(), ms(q(.50)), ms(q(.99)), r.errors, reqs, elapsed.Seconds())
	for i := 0; i+1 < len(extra); i += 2 {
		line += fmt.Sprintf(" %v %v", extra[i], extra[i+1])
	}
	fmt.Println(line)
	if r.firstErr != nil {
		fmt.Fprintln(os.Stderr, "first error:", r.firstErr)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
