package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// client is a keep-alive HTTP client of the fitloop API.
type client struct {
	api  string
	http *http.Client
}

func newClient(api string, conns int) *client {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2,
		DisableCompression: true, IdleConnTimeout: time.Minute}
	return &client{api: api, http: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

// statusError is a non-2xx answer.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %.300s", e.status, e.body) }

// do sends body (nil: none) and decodes a 2xx answer into out (nil: drop it).
func (c *client) do(method, path, token string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.api+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &statusError{status: resp.StatusCode, body: string(b)}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// account is one signed-in bench user.
type account struct {
	UserID string `json:"user_id"`
	Token  string `json:"token"`
}

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
	if err := c.do("POST", "/users/register", "", map[string]string{"username": name, "email": email, "password": pw}, nil); err != nil {
		return account{}, fmt.Errorf("register %s: %w", name, err)
	}
	var a account
	if err := c.do("POST", "/users/login", "", map[string]string{"email": email, "password": pw}, &a); err != nil {
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
	err := c.do("POST", "/groups/sessions", a.Token, map[string]any{"title": title, "workout_type": "hiit",
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
	if err := c.do("POST", "/groups/sessions/"+id+"/end", a.Token, nil, nil); err != nil {
		return fmt.Errorf("end session %s: %w", id, err)
	}
	return nil
}
