package httpx_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/httpx"
	"github.com/fitloop/fitloop/platform/metrics"
)

// BenchmarkHealthz compares fitloop's full middleware chain with a bare gin
// engine on the same handler; the ratio is the chain's overhead (issue #2 asks
// for the full chain at ≥ 0.8× the bare throughput).
func BenchmarkHealthz(b *testing.B) {
	health := func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }
	gin.SetMode(gin.ReleaseMode)
	bare := gin.New()
	bare.Use(gin.Recovery())
	bare.GET("/healthz", health)

	reg := metrics.New()
	full := httpx.NewEngine(slog.New(slog.NewJSONHandler(io.Discard, nil)), httpx.Options{
		MaxBodyBytes: 1 << 20, AccessLog: true, Observe: reg.Observe,
	})
	full.GET("/healthz", health)
	quiet := httpx.NewEngine(slog.New(slog.NewJSONHandler(io.Discard, nil)), httpx.Options{
		MaxBodyBytes: 1 << 20, AccessLog: false, Observe: reg.Observe,
	})
	quiet.GET("/healthz", health)

	for _, e := range []struct {
		name string
		h    http.Handler
	}{{"bare_gin", bare}, {"full_chain", full}, {"full_chain_without_access_log", quiet}} {
		b.Run(e.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					e.h.ServeHTTP(w, req)
				}
			})
		})
	}
}

// BenchmarkBindJSON decodes a 1,000-sample metrics batch (the ingestion
// route's body, ~130 KB with sample ids) the way every handler binds.
func BenchmarkBindJSON(b *testing.B) {
	type sample struct {
		Metric     string    `json:"metric"`
		Value      float64   `json:"value"`
		RecordedAt time.Time `json:"recorded_at"`
		Source     string    `json:"source"`
		SampleID   string    `json:"sample_id"`
	}
	var body bytes.Buffer
	body.WriteString(`{"samples":[`)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"metric":"heart_rate","value":%d,"recorded_at":%q,"source":"watch","sample_id":"0199a1b2-c3d4-7e5f-8a9b-%012d"}`,
			60+i%90, start.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), i)
	}
	body.WriteString(`]}`)
	gin.SetMode(gin.ReleaseMode)
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body.Bytes()))
		c.Request.Header.Set("Content-Type", "application/json")
		var dst struct {
			Samples []sample `json:"samples"`
		}
		if err := httpx.BindJSON(c, &dst); err != nil || len(dst.Samples) != 1000 {
			b.Fatalf("bind: %v (%d samples)", err, len(dst.Samples))
		}
	}
}
