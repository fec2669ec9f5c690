// Package apiclient is the load tools' keep-alive client of the fitloop
// REST API.
package apiclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client sends requests to one fitloop API base URL (…/api/v1).
type Client struct {
	api  string
	http *http.Client
}

// New returns a client keeping up to 2×conns idle connections; each
// request may take up to timeout.
func New(api string, conns int, timeout time.Duration) *Client {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2,
		DisableCompression: true, IdleConnTimeout: time.Minute}
	return &Client{api: api, http: &http.Client{Transport: tr, Timeout: timeout}}
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %.300s", e.Status, e.Body) }

// Account is one signed-in bench user.
type Account struct {
	UserID string `json:"user_id"`
	Token  string `json:"token"`
}

// Do sends body (nil: none) and decodes a 2xx answer into out (nil: drop it).
func (c *Client) Do(method, path, token string, body []byte, out any) error {
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
		return &StatusError{Status: resp.StatusCode, Body: string(b)}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// DoJSON is Do with body marshalled to JSON (nil: none).
func (c *Client) DoJSON(method, path, token string, body, out any) error {
	if body == nil {
		return c.Do(method, path, token, nil, out)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.Do(method, path, token, b, out)
}
