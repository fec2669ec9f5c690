package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fitloop/fitloop/bench/internal/apiclient"
)

// The API client and its accounts are shared by the load tools.
type (
	client  = apiclient.Client
	account = apiclient.Account
)

func newClient(api string, conns int) *client { return apiclient.New(api, conns, 2*time.Minute) }

// createUsers makes out hold n accounts: it keeps those already there and
// registers and signs in the rest, conc at a time (each costs the server
// two argon2id hashes: registration and sign-in). Every participant is a
// distinct user because presence is per user.
func createUsers(c *client, n, conc int, out string) error {
	have, err := loadUsers(out)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(have) >= n {
		fmt.Printf("%s already holds %d users\n", out, len(have))
		return nil
	}
	start := time.Now()
	run := start.UnixNano()
	todo := n - len(have)
	accts := make([]account, todo)
	var next, done atomic.Int64
	var firstErr error
	var emu sync.Mutex
	var wg sync.WaitGroup
	for range max(conc, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= todo {
					return
				}
				a, err := signUp(c, fmt.Sprintf("g%x-%d", run%0xffffff, i))
				if err != nil {
					emu.Lock()
					firstErr = cmpErr(firstErr, err)
					emu.Unlock()
					return
				}
				accts[i] = a
				if d := done.Add(1); d%500 == 0 {
					fmt.Fprintf(os.Stderr, "  %d/%d users in %s\n", d, todo, time.Since(start).Round(time.Second))
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	all := append(have, accts...)
	b, err := json.Marshal(all)
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Printf("created %d users in %s (%.1f users/s, %d at a time); %s holds %d\n",
		todo, el.Round(time.Millisecond), float64(todo)/el.Seconds(), conc, out, len(all))
	return os.WriteFile(out, b, 0o600)
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func signUp(c *client, name string) (account, error) {
	const pw = "bench password 5 groups live"
	email := name + "@bench.example.com"
	if err := c.DoJSON("POST", "/users/register", "", map[string]string{"username": name, "email": email, "password": pw}, nil); err != nil {
		return account{}, fmt.Errorf("register %s: %w", name, err)
	}
	var a account
	if err := c.DoJSON("POST", "/users/login", "", map[string]string{"email": email, "password": pw}, &a); err != nil {
		return account{}, fmt.Errorf("login %s: %w", name, err)
	}
	if a.UserID == "" || a.Token == "" {
		return account{}, fmt.Errorf("login %s: no user_id or token in the answer", name)
	}
	return a, nil
}

func loadUsers(path string) ([]account, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var accts []account
	return accts, json.Unmarshal(b, &accts)
}

// createSession creates a public live session hosted by a.
func createSession(c *client, a account, title string, capacity int) (string, error) {
	var out struct {
		SessionID string `json:"session_id"`
		State     string `json:"state"`
	}
	err := c.DoJSON("POST", "/groups/sessions", a.Token, map[string]any{"title": title, "workout_type": "hiit",
		"capacity": capacity, "visibility": "public"}, &out)
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	if out.SessionID == "" {
		return "", errors.New("create session: no session_id in the answer")
	}
	return out.SessionID, nil
}

// endSession ends a session as its host.
func endSession(c *client, a account, id string) error {
	if err := c.DoJSON("POST", "/groups/sessions/"+id+"/end", a.Token, nil, nil); err != nil {
		return fmt.Errorf("end session %s: %w", id, err)
	}
	return nil
}
