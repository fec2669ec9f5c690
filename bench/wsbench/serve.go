package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/bus"
	fitconfig "github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/realtime"
	"github.com/fitloop/fitloop/platform/redisx"
)

// tokenAuth accepts one token, as a distinct user per call would cost the
// bench nothing extra.
type tokenAuth string

func (t tokenAuth) Authenticate(_ context.Context, cred string) (*auth.Principal, error) {
	if cred != string(t) {
		return nil, auth.Unauthenticated
	}
	return &auth.Principal{UserID: "bench", SessionID: "bench", Role: auth.RoleCustomer}, nil
}

// serve starts an in-process hub with the bench message types on a loopback
// port and returns its URL.
func serve(token, addr, redisAddr string) (string, func(), error) {
	var b bus.Bus = bus.NewMemoryBuffer(4096)
	opt := realtime.Options{Auth: tokenAuth(token), RatePerSecond: 1000, Burst: 1000}
	if redisAddr != "" {
		// Several -listen processes on one Redis are replicas of one hub (S6).
		r, err := redisx.Open(fitconfig.Redis{Mode: "single", Addrs: []string{redisAddr}, DialTimeout: 2 * time.Second,
			ReadTimeout: time.Second, WriteTimeout: time.Second, BreakerFailures: 5, BreakerCooldown: 5 * time.Second}, nil)
		if err != nil {
			return "", nil, err
		}
		b, opt.Redis = bus.New(r), r.Client
	}
	opt.Bus = b
	h, err := realtime.New(opt)
	if err != nil {
		return "", nil, err
	}
	type req struct {
		Room string `json:"room"`
		TS   int64  `json:"ts"`
	}
	h.Handle("bench.join", func(ctx context.Context, c *realtime.Conn, raw json.RawMessage) error {
		var r req
		if err := json.Unmarshal(raw, &r); err != nil {
			return apperr.E(apperr.Invalid, "bad_message", "bad join")
		}
		return h.Join(ctx, c, r.Room, 0)
	})
	h.Handle("bench.publish", func(ctx context.Context, _ *realtime.Conn, raw json.RawMessage) error {
		var r req
		if err := json.Unmarshal(raw, &r); err != nil {
			return apperr.E(apperr.Invalid, "bad_message", "bad publish")
		}
		_, err := h.PublishRoom(ctx, r.Room, "bench", map[string]int64{"ts": r.TS})
		return err
	})
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/api/v1/ws", h.Handler())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(ln) }()
	return "ws://" + ln.Addr().String() + "/api/v1/ws", func() { _ = h.Close(); _ = srv.Close(); _ = b.Close() }, nil
}
