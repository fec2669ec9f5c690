// Command etl is bench/etl.sh's client of a running fitloop for the
// reporting warehouse benchmark (issue #6): sign-ins, admin loads, and the
// existing accounts' share of the "1 % changed" data.
//
//	etl -api $API -mode login -email E -password P   # prints "USER_ID TOKEN"
//	etl -api $API -mode start -token T [-full]        # POST /admin/etl/run, prints the run id
//	etl -api $API -mode status -token T -run ID       # prints "STATUS READ STARTED FINISHED"
//	etl -api $API -mode change -token T -every 10 -samples 37 [-c 8]
//
// change (an admin's token): lists the seeded accounts (GET /admin/users,
// username seed-user-…) in username order, takes every -every'th one (the
// -every'th, 2×-every'th, …) and posts to each, as the admin, one batch of
// -samples steps samples, one an hour at minute 5 (UTC) over the last
// -samples hours: each lands in a 15-minute rollup of its own, which the
// sample creates or changes, so the metrics feed reports -samples rows per
// account. Prints one line: accounts, samples accepted, seconds.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fitloop/fitloop/bench/internal/apiclient"
)

type config struct {
	api, mode, email, password, token, run string
	full                                   bool
	every, samples, c                      int
}

func main() {
	var c config
	flag.StringVar(&c.api, "api", "http://127.0.0.1:18381/api/v1", "fitloop API base URL")
	flag.StringVar(&c.mode, "mode", "", "login, start, status or change")
	flag.StringVar(&c.email, "email", "", "login: the account's email")
	flag.StringVar(&c.password, "password", "", "login: its password")
	flag.StringVar(&c.token, "token", "", "start, status, change: an admin's bearer token")
	flag.StringVar(&c.run, "run", "", "status: the run id")
	flag.BoolVar(&c.full, "full", false, "start: a full load")
	flag.IntVar(&c.every, "every", 10, "change: every how many seeded accounts one is changed")
	flag.IntVar(&c.samples, "samples", 24, "change: steps samples (hours) per changed account")
	flag.IntVar(&c.c, "c", 8, "change: concurrent requests")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "etl:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	cl := apiclient.New(c.api, max(c.c, 2), 5*time.Minute)
	switch c.mode {
	case "login":
		var res struct {
			UserID string `json:"user_id"`
			Token  string `json:"token"`
		}
		if err := cl.DoJSON("POST", "/users/login", "", map[string]string{"email": c.email, "password": c.password}, &res); err != nil {
			return fmt.Errorf("sign in as %s: %w", c.email, err)
		}
		fmt.Println(res.UserID, res.Token)
		return nil
	case "start":
		var res runInfo
		if err := cl.DoJSON("POST", "/admin/etl/run", c.token, map[string]bool{"full": c.full}, &res); err != nil {
			return fmt.Errorf("start a load: %w", err)
		}
		fmt.Println(res.ID)
		return nil
	case "status":
		return status(cl, c)
	case "change":
		return change(cl, c)
	}
	return fmt.Errorf("unknown -mode %q (want login, start, status or change)", c.mode)
}

// runInfo is the part of an etl run (GET /admin/etl/runs) the script needs.
type runInfo struct {
	ID         string     `json:"run_id"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Error      string     `json:"error"`
	Stats      struct {
		Tables map[string]struct{ Read, Written int } `json:"tables"`
	} `json:"stats"`
}

// status prints the run's status, source rows read so far (when the run
// records them), and its start and end (RFC 3339, "-" while it runs).
func status(cl *apiclient.Client, c config) error {
	cursor := ""
	for {
		var page struct {
			Items      []runInfo `json:"items"`
			NextCursor string    `json:"next_cursor"`
		}
		if err := cl.Do("GET", "/admin/etl/runs?limit=100&cursor="+url.QueryEscape(cursor), c.token, nil, &page); err != nil {
			return fmt.Errorf("list runs: %w", err)
		}
		for _, r := range page.Items {
			if r.ID != c.run {
				continue
			}
			read := 0
			for _, t := range r.Stats.Tables {
				read += t.Read
			}
			end := "-"
			if r.FinishedAt != nil {
				end = r.FinishedAt.Format(time.RFC3339Nano)
			}
			fmt.Println(r.Status, read, r.StartedAt.Format(time.RFC3339Nano), end)
			if r.Error != "" {
				fmt.Fprintln(os.Stderr, "etl: run", r.ID, "error:", r.Error)
			}
			return nil
		}
		if page.NextCursor == "" {
			return fmt.Errorf("run %s not listed", c.run)
		}
		cursor = page.NextCursor
	}
}

// change posts the steps samples described in the package comment.
func change(cl *apiclient.Client, c config) error {
	if c.every < 1 || c.samples < 1 {
		return errors.New("-every and -samples must be at least 1")
	}
	type account struct{ id, name string }
	var accts []account
	for cursor := ""; ; {
		var page struct {
			Items []struct {
				UserID   string `json:"user_id"`
				Username string `json:"username"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if err := cl.Do("GET", "/admin/users?q=seed-user-&limit=100&cursor="+url.QueryEscape(cursor), c.token, nil, &page); err != nil {
			return fmt.Errorf("list accounts: %w", err)
		}
		for _, u := range page.Items {
			if strings.HasPrefix(u.Username, "seed-user-") {
				accts = append(accts, account{u.UserID, u.Username})
			}
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	slices.SortFunc(accts, func(a, b account) int { return strings.Compare(a.name, b.name) })
	var picked []account
	for i := c.every - 1; i < len(accts); i += c.every {
		picked = append(picked, accts[i])
	}
	if len(picked) == 0 {
		return fmt.Errorf("%d seeded accounts, none picked with -every %d", len(accts), c.every)
	}
	hour := time.Now().UTC().Truncate(time.Hour)
	body := []byte(`{"samples":[`)
	for i := range c.samples {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"metric":"steps","value":`...)
		body = strconv.AppendInt(body, int64(100+(i*37)%900), 10)
		body = append(body, `,"recorded_at":"`...)
		body = hour.Add(-time.Duration(i+1)*time.Hour+5*time.Minute).AppendFormat(body, time.RFC3339)
		body = append(body, `","source":"etl-bench"}`...)
	}
	body = append(body, "]}"...)

	start := time.Now()
	var (
		mu       sync.Mutex
		accepted int
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan account)
	for range max(c.c, 1) {
		wg.Go(func() {
			for a := range next {
				var res struct{ Accepted int }
				err := cl.Do("POST", "/users/"+a.id+"/metrics", c.token, body, &res)
				mu.Lock()
				accepted += res.Accepted
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("samples for %s: %w", a.name, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, a := range picked {
		next <- a
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	fmt.Printf("changed %d of %d seeded accounts (every %d.), %d steps samples accepted (%d each, hourly over the last %d h), %.1f s\n",
		len(picked), len(accts), c.every, accepted, c.samples, c.samples, time.Since(start).Seconds())
	return nil
}
