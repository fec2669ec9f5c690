package idempotency_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/httpx"
	"github.com/fitloop/fitloop/platform/idempotency"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const ttl = 24 * time.Hour

// app is a router with one idempotent route, POST /things/:id, whose
// handler counts its calls and answers with what it was sent.
type app struct {
	router *gin.Engine
	calls  atomic.Int64
	now    atomic.Pointer[time.Time]
	// behave, when set, decides the answer of a call (1-based).
	behave func(c *gin.Context, call int64) bool
	mu     sync.Mutex
}

func newApp(tb testing.TB, db *database.DB) *app {
	tb.Helper()
	gin.SetMode(gin.TestMode)
	a := &app{router: gin.New()}
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	a.now.Store(&start)
	// Test stand-in for auth: X-User names the principal.
	who := func(c *gin.Context) {
		if u := c.GetHeader("X-User"); u != "" {
			c.Request = c.Request.WithContext(auth.WithPrincipal(c.Request.Context(), &auth.Principal{UserID: u}))
		}
	}
	recovery := gin.CustomRecovery(func(c *gin.Context, _ any) { c.AbortWithStatus(http.StatusInternalServerError) })
	mw := idempotency.Middleware(db, ttl, func() time.Time { return *a.now.Load() })
	a.router.POST("/things/:id", recovery, who, mw, func(c *gin.Context) {
		n := a.calls.Add(1)
		a.mu.Lock()
		behave := a.behave
		a.mu.Unlock()
		if behave != nil && behave(c, n) {
			return
		}
		body, _ := io.ReadAll(c.Request.Body)
		c.JSON(http.StatusCreated, gin.H{"call": n, "id": c.Param("id"), "body": string(body)})
	})
	return a
}

func (a *app) setBehaviour(fn func(c *gin.Context, call int64) bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.behave = fn
}

func (a *app) advance(d time.Duration) {
	next := a.now.Load().Add(d)
	a.now.Store(&next)
}

// post sends POST /things/{id} with the body, the key (when not empty) and
// the user (when not empty).
func (a *app) post(id, body, key, user string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/things/"+id, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if key != "" {
		r.Header.Set(idempotency.Header, key)
	}
	if user != "" {
		r.Header.Set("X-User", user)
	}
	w := httptest.NewRecorder()
	a.router.ServeHTTP(w, r)
	return w
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Run("passes_requests_without_a_key_through", func(t *testing.T) {
			a := newApp(t, db)
			assert.Equal(t, http.StatusCreated, a.post("1", `{}`, "", "u1").Code)
			assert.Equal(t, http.StatusCreated, a.post("1", `{}`, "", "u1").Code)
			assert.Equal(t, int64(2), a.calls.Load())
		})

		t.Run("replays_the_first_answer", func(t *testing.T) {
			a := newApp(t, db)
			first := a.post("1", `{"a":1}`, "k-replay", "u1")
			require.Equal(t, http.StatusCreated, first.Code)
			assert.Empty(t, first.Header().Get(idempotency.ReplayedHeader))
			again := a.post("1", `{"a":1}`, "k-replay", "u1")
			assert.Equal(t, http.StatusCreated, again.Code)
			assert.Equal(t, first.Body.String(), again.Body.String())
			assert.Equal(t, first.Header().Get("Content-Type"), again.Header().Get("Content-Type"))
			assert.Equal(t, "true", again.Header().Get(idempotency.ReplayedHeader))
			assert.Equal(t, int64(1), a.calls.Load())
		})

		t.Run("refuses_a_reused_key_with_another_request", func(t *testing.T) {
			a := newApp(t, db)
			require.Equal(t, http.StatusCreated, a.post("1", `{"a":1}`, "k-reuse", "u1").Code)
			w := a.post("1", `{"a":2}`, "k-reuse", "u1")
			assert.Equal(t, http.StatusUnprocessableEntity, w.Code)
			assert.Contains(t, w.Body.String(), `"idempotency_key_reused"`)
			w = a.post("2", `{"a":1}`, "k-reuse", "u1")
			assert.Equal(t, http.StatusUnprocessableEntity, w.Code, "same route, another path")
			assert.Equal(t, int64(1), a.calls.Load())
		})

		t.Run("refuses_a_duplicate_while_the_first_is_in_flight", func(t *testing.T) {
			a := newApp(t, db)
			entered, release := make(chan struct{}), make(chan struct{})
			a.setBehaviour(func(c *gin.Context, call int64) bool {
				if call == 1 {
					close(entered)
					<-release
				}
				return false
			})
			first := make(chan *httptest.ResponseRecorder, 1)
			go func() { first <- a.post("1", `{"a":1}`, "k-flight", "u1") }()
			<-entered
			w := a.post("1", `{"a":1}`, "k-flight", "u1")
			assert.Equal(t, http.StatusConflict, w.Code)
			assert.Contains(t, w.Body.String(), `"idempotency_in_flight"`)
			close(release)
			got := <-first
			require.Equal(t, http.StatusCreated, got.Code)
			w = a.post("1", `{"a":1}`, "k-flight", "u1")
			assert.Equal(t, got.Body.String(), w.Body.String())
			assert.Equal(t, int64(1), a.calls.Load())
		})

		t.Run("lets_many_concurrent_duplicates_run_the_handler_once", func(t *testing.T) {
			a := newApp(t, db)
			const n = 20
			codes := make(chan int, n)
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() { codes <- a.post("1", `{"a":1}`, "k-many", "u1").Code })
			}
			wg.Wait()
			close(codes)
			for code := range codes {
				assert.Contains(t, []int{http.StatusCreated, http.StatusConflict}, code)
			}
			assert.Equal(t, int64(1), a.calls.Load())
		})

		t.Run("does_not_keep_server_errors", func(t *testing.T) {
			a := newApp(t, db)
			a.setBehaviour(func(c *gin.Context, call int64) bool {
				switch call {
				case 1:
					c.JSON(http.StatusServiceUnavailable, gin.H{"error": "later"})
					return true
				case 2:
					panic("boom")
				}
				return false
			})
			assert.Equal(t, http.StatusServiceUnavailable, a.post("1", `{}`, "k-5xx", "u1").Code)
			assert.Equal(t, http.StatusInternalServerError, a.post("1", `{}`, "k-5xx", "u1").Code, "panic")
			assert.Equal(t, http.StatusCreated, a.post("1", `{}`, "k-5xx", "u1").Code)
			w := a.post("1", `{}`, "k-5xx", "u1")
			assert.Equal(t, http.StatusCreated, w.Code)
			assert.Equal(t, "true", w.Header().Get(idempotency.ReplayedHeader))
			assert.Equal(t, int64(3), a.calls.Load())
		})

		t.Run("does_not_keep_the_answer_to_a_client_that_went_away", func(t *testing.T) {
			a := newApp(t, db)
			a.setBehaviour(func(c *gin.Context, call int64) bool {
				if call == 1 { // the client leaves while the handler runs
					ctx, cancel := context.WithCancel(c.Request.Context())
					cancel()
					c.Request = c.Request.WithContext(ctx)
					httpx.WriteError(c, ctx.Err())
					return true
				}
				return false
			})
			assert.Equal(t, httpx.StatusClientClosedRequest, a.post("1", `{}`, "k-499", "u1").Code)
			w := a.post("1", `{}`, "k-499", "u1")
			assert.Equal(t, http.StatusCreated, w.Code, "the retry runs the handler")
			assert.Empty(t, w.Header().Get(idempotency.ReplayedHeader))
		})

		t.Run("keeps_client_errors", func(t *testing.T) {
			a := newApp(t, db)
			a.setBehaviour(func(c *gin.Context, call int64) bool {
				c.JSON(http.StatusBadRequest, gin.H{"call": call})
				return true
			})
			first := a.post("1", `{}`, "k-4xx", "u1")
			again := a.post("1", `{}`, "k-4xx", "u1")
			assert.Equal(t, http.StatusBadRequest, again.Code)
			assert.Equal(t, first.Body.String(), again.Body.String())
			assert.Equal(t, int64(1), a.calls.Load())
		})

		t.Run("scopes_keys_by_user", func(t *testing.T) {
			a := newApp(t, db)
			one := a.post("1", `{}`, "k-user", "u1")
			two := a.post("1", `{}`, "k-user", "u2")
			anon := a.post("1", `{}`, "k-user", "")
			assert.Equal(t, int64(3), a.calls.Load())
			assert.NotEqual(t, one.Body.String(), two.Body.String())
			assert.Equal(t, one.Body.String(), a.post("1", `{}`, "k-user", "u1").Body.String())
			assert.Equal(t, two.Body.String(), a.post("1", `{}`, "k-user", "u2").Body.String())
			assert.Equal(t, anon.Body.String(), a.post("1", `{}`, "k-user", "").Body.String())
			assert.Equal(t, int64(3), a.calls.Load())
		})

		t.Run("treats_an_expired_key_as_new", func(t *testing.T) {
			a := newApp(t, db)
			first := a.post("1", `{}`, "k-expire", "u1")
			a.advance(ttl - time.Minute)
			assert.Equal(t, first.Body.String(), a.post("1", `{}`, "k-expire", "u1").Body.String(), "before the TTL")
			a.advance(time.Minute)
			w := a.post("1", `{"other":true}`, "k-expire", "u1")
			assert.Equal(t, http.StatusCreated, w.Code, "another body is fine once expired")
			assert.Equal(t, int64(2), a.calls.Load())
		})

		t.Run("refuses_bad_keys", func(t *testing.T) {
			a := newApp(t, db)
			assert.Equal(t, http.StatusBadRequest, a.post("1", `{}`, strings.Repeat("k", 256), "u1").Code)
			assert.Equal(t, http.StatusBadRequest, a.post("1", `{}`, "k\x01", "u1").Code)
			assert.Equal(t, http.StatusCreated, a.post("1", `{}`, strings.Repeat("k", 255), "u1").Code)
		})
	})
}

func TestCleanup(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		a := newApp(t, db)
		for i := range 3 {
			require.Equal(t, http.StatusCreated, a.post("1", `{}`, fmt.Sprintf("k-%d", i), "u1").Code)
		}
		now := *a.now.Load()
		n, err := idempotency.Cleanup(context.Background(), db, now.Add(ttl-time.Second))
		require.NoError(t, err)
		assert.Zero(t, n)
		n, err = idempotency.Cleanup(context.Background(), db, now.Add(ttl))
		require.NoError(t, err)
		assert.Equal(t, int64(3), n)

		job := idempotency.CleanupJob(db)
		assert.Equal(t, idempotency.CleanupJobName, job.Name)
		require.NoError(t, job.Run(context.Background()))
	})
}

// TestTakeOverFencesTheOldOwner covers a key whose first request (A) is so
// slow that its claim looks abandoned and a retry (B) takes it over: when A
// finally finishes, its answer must neither overwrite nor delete B's claim.
func TestTakeOverFencesTheOldOwner(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Run("the_old_owner_cannot_store_its_answer", func(t *testing.T) {
			testTakeOver(t, db, "k-fence-complete", http.StatusCreated)
		})
		t.Run("the_old_owner_cannot_release_the_key", func(t *testing.T) {
			testTakeOver(t, db, "k-fence-release", http.StatusServiceUnavailable)
		})
	})
}

// testTakeOver runs A (answering aStatus, which it would store or release)
// and B on one key, with B taking over while A still runs.
func testTakeOver(t *testing.T, db *database.DB, key string, aStatus int) {
	a := newApp(t, db)
	// Nanoseconds and an offset other than UTC: the claim's created_at, the
	// fencing token, must still match exactly on both backends.
	start := time.Date(2030, 1, 1, 12, 0, 0, 123456789, time.FixedZone("UTC+1", 3600))
	a.now.Store(&start)
	entered := make(chan int64)
	finish := map[int64]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})}
	a.setBehaviour(func(c *gin.Context, call int64) bool {
		if gate := finish[call]; gate != nil {
			entered <- call
			<-gate
		}
		if call == 1 && aStatus != http.StatusCreated {
			c.JSON(aStatus, gin.H{"call": call})
			return true
		}
		return false
	})
	post := func() <-chan *httptest.ResponseRecorder {
		out := make(chan *httptest.ResponseRecorder, 1)
		go func() { out <- a.post("1", `{"a":1}`, key, "u1") }()
		return out
	}

	answerA := post()
	require.Equal(t, int64(1), <-entered)
	a.advance(idempotency.AbandonAfter)
	answerB := post()
	require.Equal(t, int64(2), <-entered, "B takes over A's claim")
	assert.Equal(t, start.Add(idempotency.AbandonAfter).UTC().Truncate(time.Microsecond), claimedAt(t, db, key),
		"the claim is B's, and its time reads back exactly as written")

	close(finish[1])
	assert.Equal(t, aStatus, (<-answerA).Code, "A still answers its own client")
	w := a.post("1", `{"a":1}`, key, "u1")
	assert.Equal(t, http.StatusConflict, w.Code, "B still holds the key: A neither stored nor released it")
	assert.Contains(t, w.Body.String(), `"idempotency_in_flight"`)

	close(finish[2])
	b := <-answerB
	require.Equal(t, http.StatusCreated, b.Code)
	assert.Contains(t, b.Body.String(), `"call":2`)
	w = a.post("1", `{"a":1}`, key, "u1")
	assert.Equal(t, "true", w.Header().Get(idempotency.ReplayedHeader), "B stored its answer")
	assert.Equal(t, b.Body.String(), w.Body.String())
	assert.Equal(t, int64(2), a.calls.Load())
}

// claimedAt reads the created_at of key's row.
func claimedAt(tb testing.TB, db *database.DB, key string) time.Time {
	tb.Helper()
	var at time.Time
	require.NoError(tb, db.Read(context.Background()).
		Raw(`SELECT created_at FROM idempotency_keys WHERE idem_key = ?`, key).Row().Scan(&at))
	return at.UTC()
}
