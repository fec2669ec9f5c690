// Command activity drives the activity module's HTTP routes for the issue #4
// targets ("Activity HTTP (issue #4)" in docs/BENCHMARKS.md) against a
// running fitloop. bench/activity.sh runs it, with wrk for the GET routes
// where a cheaper load generator leaves more of the two cores to the server.
//
//	activity -api $API -mode users -n 60 -out users.json     # register and sign in
//	activity -users users.json -mode show -user 0            # "USER_ID TOKEN" for wrk
//	activity -users users.json -mode seed-workouts -user 0 -n 50000
//	activity -users users.json -mode seed-heart -user 1 -days 365
//	activity -users users.json -mode ingest -user 2 -c 8 -batch 1000 -window 1 -d 10s [-ids]
//	activity -users users.json -mode startend -user 10 -c 50 -d 10s
//
// A load mode prints one line: requests per second, p50 and p99 of request
// latency, errors (non-2xx answers and transport failures), and for ingest
// the acknowledged samples per second, for startend the pairs per second.
// Load modes give each connection its own user (users -user .. -user+c-1).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

type config struct {
	api, usersFile, out, mode, label string
	user, n, c, batch, window, days  int
	d                                time.Duration
	ids                              bool
}

func main() {
	var c config
	flag.StringVar(&c.api, "api", "http://127.0.0.1:18281/api/v1", "fitloop API base URL")
	flag.StringVar(&c.mode, "mode", "", "users, show, seed-workouts, seed-heart, ingest or startend")
	flag.StringVar(&c.usersFile, "users", "users.json", "accounts file written by -mode users")
	flag.StringVar(&c.out, "out", "users.json", "with -mode users: where to write the accounts")
	flag.StringVar(&c.label, "label", "", "prefix of the result line")
	flag.IntVar(&c.user, "user", 0, "index of the (first) account in -users")
	flag.IntVar(&c.n, "n", 1, "users: accounts to create; seed-workouts: workouts to log")
	flag.IntVar(&c.c, "c", 8, "concurrent connections (one account each in load modes)")
	flag.IntVar(&c.batch, "batch", 1000, "ingest: samples per POST")
	flag.IntVar(&c.window, "window", 0, "ingest: which two-year time window (0 = the last two years) the samples fall in; use a new one per run (0–4)")
	flag.IntVar(&c.days, "days", 365, "seed-heart: days of per-minute heart rate, ending now")
	flag.DurationVar(&c.d, "d", 10*time.Second, "load duration")
	flag.BoolVar(&c.ids, "ids", false, "ingest: give every sample a sample_id")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "activity:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	cl := newClient(c.api, max(c.c, 2))
	if c.mode == "users" {
		return createUsers(cl, c.n, c.out)
	}
	accts, err := loadUsers(c.usersFile)
	if err != nil {
		return err
	}
	need := c.user + 1
	if c.mode == "ingest" || c.mode == "startend" {
		need = c.user + c.c
	}
	if need > len(accts) {
		return fmt.Errorf("mode %s needs accounts %d..%d, %s holds %d", c.mode, c.user, need-1, c.usersFile, len(accts))
	}
	switch c.mode {
	case "show":
		fmt.Println(accts[c.user].UserID, accts[c.user].Token)
		return nil
	case "seed-workouts":
		return seedWorkouts(cl, accts[c.user], c.n, c.c)
	case "seed-heart":
		return seedHeart(cl, accts[c.user], c.days, c.c)
	case "ingest":
		return ingest(cl, accts[c.user:need], c)
	case "startend":
		return startEnd(cl, accts[c.user:need], c)
	}
	return fmt.Errorf("unknown -mode %q", c.mode)
}
