// Command groups is the load client of the live group sessions (issue #5,
// "Groups live sessions (issue #5)" in docs/BENCHMARKS.md). It drives a
// running fitloop (one replica, or several sharing Redis) through the REST
// API and the WebSocket live protocol, with one signed-in user per
// participant, and measures delivery and latency on the client side.
// bench/groups.sh builds the server, starts it and runs the scenarios.
//
//	groups -api $API -mode users -n 5000 -out users.json   # register and sign in (reuses the file's accounts)
//	groups -api $API -users users.json -mode chat -n 1000 -rate 10 -d 20s
//	groups -api $API -users users.json -mode exercise -sessions 100 -per 50 -d 20s
//
// chat: one session of -n participants (the first account creates it and
// is its host); -rate chat messages a second, each from the next
// participant in turn, carrying "k=<number> t=<unix ns at send>". A message
// is delivered when every participant received it; latency is send → each
// participant's receipt.
//
// exercise: -sessions sessions of -per participants, each participant
// sending an exercise_update every second (-phase spread: a session's
// participants evenly over the second; -phase burst: all of a session's
// updates within 1/sessions of a second). The server sends an update to
// the session's host and to the sender only; an update is delivered when
// both received it. weight_kg
// carries the sender's update number, which the events echo, so the host's
// receipt is matched to its send time. Leaderboards (everyone, at most one
// a second per session) are reported as cadence (interval between two at a
// participant) and age (receipt − the event's at).
//
// -ws lists the replicas' WebSocket URLs (comma-separated): chat
// participant i connects to replica i mod len, exercise participant j of
// session s to replica (s + j) mod len. -pids names processes whose
// CPU time over the measured window is reported (name=pid,...), -metrics
// the replicas' /metrics URLs for the server's frame counters.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"
)

type config struct {
	api, ws, usersFile, out, mode, label, pids, metrics, exercise, phase, dump string
	n, c, first, sessions, per, joinC                                          int
	rate                                                                       float64
	d, warm, drain                                                             time.Duration
}

func main() {
	// The client shares the machine's cores with the server(s) it
	// measures, and its garbage collections delay the receipt of whatever
	// frames arrive meanwhile, which would count as server latency: it
	// collects less often (it holds well under 1 GB) unless GOGC says
	// otherwise.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	var c config
	flag.StringVar(&c.api, "api", "http://127.0.0.1:18291/api/v1", "fitloop API base URL (sessions are created and ended there)")
	flag.StringVar(&c.ws, "ws", "", "WebSocket URL(s), comma-separated (default: -api's /ws)")
	flag.StringVar(&c.mode, "mode", "", "users, chat or exercise")
	flag.StringVar(&c.usersFile, "users", "users.json", "accounts file written by -mode users")
	flag.StringVar(&c.out, "out", "users.json", "with -mode users: where to write the accounts")
	flag.StringVar(&c.label, "label", "", "prefix of the result line")
	flag.StringVar(&c.pids, "pids", "", "name=pid,... whose CPU time over the measured window to report")
	flag.StringVar(&c.metrics, "metrics", "", "the replicas' /metrics URLs, comma-separated")
	flag.StringVar(&c.exercise, "exercise", "squat", "exercise: the exercise name sent")
	flag.StringVar(&c.dump, "dump", "", "exercise: write every measured host receipt as \"send unix ns,latency ns\" lines to this file")
	flag.StringVar(&c.phase, "phase", "spread", "exercise: spread (each session's participants evenly over the second) or burst (a session's participants one after the other)")
	flag.IntVar(&c.n, "n", 1000, "users: accounts wanted in -out; chat: participants")
	flag.IntVar(&c.c, "c", 4, "users: concurrent registrations (each costs two argon2id hashes)")
	flag.IntVar(&c.joinC, "join-c", 8, "concurrent dials and joins")
	flag.IntVar(&c.first, "first", 0, "index of the first account used")
	flag.IntVar(&c.sessions, "sessions", 100, "exercise: sessions")
	flag.IntVar(&c.per, "per", 50, "exercise: participants per session (the host included)")
	flag.Float64Var(&c.rate, "rate", 10, "chat: messages per second in the session")
	flag.DurationVar(&c.d, "d", 20*time.Second, "measured duration")
	flag.DurationVar(&c.warm, "warm", 5*time.Second, "load before the measured window (not counted)")
	flag.DurationVar(&c.drain, "drain", 5*time.Second, "longest wait for late receipts after the last send")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "groups:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	cl := newClient(c.api, max(c.c, c.joinC, 4))
	if c.mode == "users" {
		return createUsers(cl, c.n, c.c, c.out)
	}
	accts, err := loadUsers(c.usersFile)
	if err != nil {
		return err
	}
	if c.ws == "" {
		c.ws = strings.Replace(strings.Replace(c.api, "https://", "wss://", 1), "http://", "ws://", 1) + "/ws"
	}
	urls := strings.Split(c.ws, ",")
	switch c.mode {
	case "chat":
		if c.first+c.n > len(accts) {
			return fmt.Errorf("chat needs accounts %d..%d, %s holds %d", c.first, c.first+c.n-1, c.usersFile, len(accts))
		}
		return runChat(cl, urls, accts[c.first:c.first+c.n], c)
	case "exercise":
		need := c.sessions * c.per
		if c.first+need > len(accts) {
			return fmt.Errorf("exercise needs accounts %d..%d, %s holds %d", c.first, c.first+need-1, c.usersFile, len(accts))
		}
		return runExercise(cl, urls, accts[c.first:c.first+need], c)
	}
	return fmt.Errorf("unknown -mode %q", c.mode)
}
