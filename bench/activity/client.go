package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/fitloop/fitloop/bench/internal/apiclient"
)

// The API client and its accounts are shared by the load tools.
type (
	client  = apiclient.Client
	account = apiclient.Account
)

func newClient(api string, conns int) *client { return apiclient.New(api, conns, time.Minute) }

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
	if err := c.Do("POST", "/users/register", "", reg, nil); err != nil {
		return account{}, fmt.Errorf("register %s: %w", name, err)
	}
	login, _ := json.Marshal(map[string]string{"email": email, "password": pw})
	var a account
	if err := c.Do("POST", "/users/login", "", login, &a); err != nil {
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
