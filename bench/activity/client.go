package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
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
	return &client{api: api, http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// statusError is a non-2xx answer.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %.300s", e.status, e.body) }

// do sends body (nil: none) and decodes a 2xx answer into out (nil: drop it).
func (c *client) do(method, path, token string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
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

// createUsers registers and signs in n users (two at a time: each costs an
// argon2 hash) and writes them to out.
func createUsers(c *client, n int, out string) error {
	run := time.Now().UnixNano()
	accts := make([]account, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			accts[i], errs[i] = signUp(c, fmt.Sprintf("b%x-%d", run%0xffffff, i))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(accts, "", " ")
	if err != nil {
		return err
	}
	fmt.Printf("created %d users\n", n)
	return os.WriteFile(out, b, 0o600)
}

func signUp(c *client, name string) (account, error) {
	const pw = "bench password 4 activity"
	email := name + "@bench.example.com"
	reg, _ := json.Marshal(map[string]string{"username": name, "email": email, "password": pw})
	if err := c.do("POST", "/users/register", "", reg, nil); err != nil {
		return account{}, fmt.Errorf("register %s: %w", name, err)
	}
	login, _ := json.Marshal(map[string]string{"email": email, "password": pw})
	var a account
	if err := c.do("POST", "/users/login", "", login, &a); err != nil {
		return account{}, fmt.Errorf("login %s: %w", name, err)
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
