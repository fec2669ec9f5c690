package main

import (
	"fmt"
	"strconv"
	"time"
)

// window is two years of per-minute timestamps (1,051,200 per connection,
// room for 800,000 samples/s over 10 s on 8 connections); each ingest run
// writes into a window of its own, so every posted sample is new data (no
// duplicates). Samples may be 10 years old, so windows 0–4 are usable.
const (
	windowSpan = 2 * 365 * 24 * time.Hour
	step       = time.Minute
	perWindow  = int(windowSpan / step)
)

// ingest posts batches of per-minute heart-rate samples, one account per
// connection, and reports acknowledged samples per second.
func ingest(cl *client, accts []account, c config) error {
	end := time.Now().UTC().Truncate(step).Add(-time.Duration(c.window) * windowSpan)
	base := end.Add(-windowSpan)
	next := make([]int, len(accts)) // next sample of each connection
	bufs := make([][]byte, len(accts))
	op := func(w int, r *recorder) error {
		if next[w]+c.batch > perWindow {
			return fmt.Errorf("window %d used up after %d samples: pass a larger -window or a shorter -d", c.window, next[w])
		}
		bufs[w] = appendBatch(bufs[w][:0], base, next[w], c.batch, c.window, c.ids)
		next[w] += c.batch
		var res struct{ Accepted, Duplicates int64 }
		if r.request(func() error {
			return cl.Do("POST", "/users/"+accts[w].UserID+"/metrics", accts[w].Token, bufs[w], &res)
		}) {
			r.samples += res.Accepted
			r.dups += res.Duplicates
			r.ops++
		}
		return nil
	}
	r, elapsed := drive(len(accts), c.d, op)
	report(c.label, r, elapsed, "samples/s", fmt.Sprintf("%.0f", float64(r.samples)/elapsed.Seconds()),
		"duplicates", r.dups)
	return nil
}

// appendBatch appends {"samples":[…]} holding n samples from sample first
// of the window on (heart rate 60–149, source "watch"), with sample ids
// when ids is set: 36-character, time-ordered like a UUIDv7 from a device
// ("0000000w-0000-7000-8000-<i in hex>"). Built by hand: 200,000 samples a second
// through encoding/json would take a good part of a core from the server.
func appendBatch(b []byte, base time.Time, first, n, window int, ids bool) []byte {
	b = append(b, `{"samples":[`...)
	for i := first; i < first+n; i++ {
		if i > first {
			b = append(b, ',')
		}
		b = append(b, `{"metric":"heart_rate","value":`...)
		b = strconv.AppendInt(b, int64(60+i%90), 10)
		b = append(b, `,"recorded_at":"`...)
		b = base.Add(time.Duration(i)*step).AppendFormat(b, time.RFC3339)
		b = append(b, `","source":"watch"`...)
		if ids {
			b = append(b, `,"sample_id":"`...)
			b = appendHex(b, uint64(window), 8)
			b = append(b, "-0000-7000-8000-"...)
			b = appendHex(b, uint64(i), 12)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendHex appends v as width lower-case hex digits, zero-padded.
func appendHex(b []byte, v uint64, width int) []byte {
	const digits = "0123456789abcdef"
	for shift := 4 * (width - 1); shift >= 0; shift -= 4 {
		b = append(b, digits[v>>uint(shift)&0xf])
	}
	return b
}
