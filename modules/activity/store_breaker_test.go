package activity_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/fitloop/fitloop/modules/activity"
	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/breaker"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/httpx"
	fitmongo "github.com/fitloop/fitloop/platform/mongo"
	"github.com/fitloop/fitloop/platform/testkit"
)

// breakerFake answers Workout, EachWorkout and EachSample with its error
// and counts the calls that reach it. The rest of Store is the nil embedded
// interface: reaching any other method panics, which fails the test.
type breakerFake struct {
	activity.Store
	mu    sync.Mutex
	err   error
	calls int
}

func (f *breakerFake) answer(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *breakerFake) called() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *breakerFake) call() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.err
}

func (f *breakerFake) Workout(_ context.Context, id string) (*activity.Workout, error) {
	if err := f.call(); err != nil {
		return nil, err
	}
	return &activity.Workout{ID: id}, nil
}

func (f *breakerFake) EachWorkout(_ context.Context, _ string, _, _ time.Time, fn func(*activity.Workout) error) error {
	if err := f.call(); err != nil {
		return err
	}
	return fn(&activity.Workout{ID: "w1"})
}

func (f *breakerFake) EachSample(_ context.Context, _ string, _, _ time.Time, fn func(*activity.Sample) error) error {
	if err := f.call(); err != nil {
		return err
	}
	return fn(&activity.Sample{Metric: "steps"})
}

// errMongoDown is what the driver says when no server answers in time.
var errMongoDown = fmt.Errorf("activity: workout: %w", context.DeadlineExceeded)

// newBreakerStore returns the fake behind the MongoDB breaker.
func newBreakerStore(failures int, cooldown time.Duration) (activity.Store, *breakerFake, *breaker.Breaker) {
	fake := &breakerFake{}
	b := fitmongo.NewBreaker(failures, cooldown)
	return activity.NewBreakerStore(fake, b), fake, b
}

// requireUnavailable checks err is the 503 an open breaker answers.
func requireUnavailable(tb testing.TB, err error) {
	tb.Helper()
	require.ErrorIs(tb, err, breaker.ErrOpen)
	e, ok := apperr.As(err)
	require.True(tb, ok, "an apperr error: %v", err)
	assert.Equal(tb, apperr.Unavailable, e.Kind)
	assert.Equal(tb, "store_unavailable", e.Code)
	assert.Equal(tb, http.StatusServiceUnavailable, httpx.StatusOf(e.Kind))
}

func TestBreakerStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

	t.Run("trips_after_n_unhealthy_failures_and_then_fails_fast", func(t *testing.T) {
		t.Parallel()
		s, fake, b := newBreakerStore(3, 90*time.Second)
		fake.answer(errMongoDown)
		for range 3 {
			_, err := s.Workout(ctx, "w1")
			require.ErrorIs(t, err, errMongoDown, "the store's own error while the breaker is closed")
		}
		require.Equal(t, breaker.StateOpen, b.State())
		_, err := s.Workout(ctx, "w1")
		requireUnavailable(t, err)
		e, _ := apperr.As(err)
		assert.Equal(t, 90, e.RetryAfter, "seconds until the trial call")
		assert.Equal(t, 3, fake.called(), "an open breaker does not call the store")
	})

	t.Run("every_method_fails_fast_while_open", func(t *testing.T) {
		t.Parallel()
		s, fake, b := newBreakerStore(1, time.Minute)
		fake.answer(errMongoDown)
		_, _ = s.Workout(ctx, "w1")
		require.Equal(t, breaker.StateOpen, b.State())
		w := &activity.Workout{ID: "w1", UserID: "u1"}
		for name, call := range map[string]func() error{
			"CreateWorkout": func() error { return s.CreateWorkout(ctx, w) },
			"Workout":       func() error { _, err := s.Workout(ctx, "w1"); return err },
			"EndWorkout":    func() error { return s.EndWorkout(ctx, w) },
			"UpdateWorkout": func() error { return s.UpdateWorkout(ctx, w) },
			"DeleteWorkout": func() error { return s.DeleteWorkout(ctx, "w1", day) },
			"Workouts":      func() error { _, err := s.Workouts(ctx, activity.WorkoutQuery{UserID: "u1"}); return err },
			"EachWorkout": func() error {
				return s.EachWorkout(ctx, "u1", day, day.Add(time.Hour), func(*activity.Workout) error { return nil })
			},
			"AddSamples": func() error {
				_, _, err := s.AddSamples(ctx, "u1", []activity.Sample{{Metric: "steps", RecordedAt: day}})
				return err
			},
			"Buckets": func() error {
				_, err := s.Buckets(ctx, "u1", "steps", []time.Time{day, day.Add(time.Hour)})
				return err
			},
			"LatestSamples": func() error { _, err := s.LatestSamples(ctx, "u1"); return err },
			"EachSample": func() error {
				return s.EachSample(ctx, "u1", day, day.Add(time.Hour), func(*activity.Sample) error { return nil })
			},
			"EraseUser": func() error { return s.EraseUser(ctx, "u1", day) },
			"WorkoutChanges": func() error {
				_, err := s.WorkoutChanges(ctx, activity.ChangeCursor{}, 10)
				return err
			},
			"MetricChanges": func() error {
				_, err := s.MetricChanges(ctx, activity.ChangeCursor{}, 10)
				return err
			},
		} {
			t.Run(name, func(t *testing.T) { requireUnavailable(t, call()) })
		}
		assert.Equal(t, 1, fake.called())
	})

	t.Run("a_half_open_trial_that_succeeds_closes_it", func(t *testing.T) {
		t.Parallel()
		s, fake, b := newBreakerStore(2, 20*time.Millisecond)
		fake.answer(mongo.CommandError{Code: 6, Name: "HostUnreachable", Labels: []string{"NetworkError"}})
		for range 2 {
			_, err := s.Workout(ctx, "w1")
			require.Error(t, err)
		}
		require.Equal(t, breaker.StateOpen, b.State())
		fake.answer(nil)
		require.Eventually(t, func() bool { return b.State() == breaker.StateHalfOpen }, 5*time.Second, 5*time.Millisecond)
		w, err := s.Workout(ctx, "w1")
		require.NoError(t, err)
		assert.Equal(t, "w1", w.ID)
		assert.Equal(t, breaker.StateClosed, b.State())
	})

	t.Run("domain_errors_never_trip_it", func(t *testing.T) {
		t.Parallel()
		s, fake, b := newBreakerStore(1, time.Minute)
		for _, answer := range []error{
			activity.ErrWorkoutNotFound,
			activity.ErrWorkoutEnded,
			&activity.ActiveWorkoutError{SessionID: "w0"},
			context.Canceled,
			fmt.Errorf("activity: create workout: %w", mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 11000}}}),
		} {
			fake.answer(answer)
			for range 3 {
				_, err := s.Workout(ctx, "w1")
				require.ErrorIs(t, err, answer, "handed back as the store returned it")
			}
			require.Equal(t, breaker.StateClosed, b.State(), "after %v", answer)
		}
	})

	t.Run("a_stream_is_one_call_and_its_callers_errors_never_count", func(t *testing.T) {
		t.Parallel()
		s, fake, b := newBreakerStore(1, time.Minute)
		// A time-out writing the stream's rows to a slow client is the
		// caller's, not MongoDB's.
		stop := fmt.Errorf("write response: %w", context.DeadlineExceeded)
		for range 3 {
			err := s.EachSample(ctx, "u1", day, day.Add(time.Hour), func(*activity.Sample) error { return stop })
			require.ErrorIs(t, err, stop)
			err = s.EachWorkout(ctx, "u1", day, day.Add(time.Hour), func(*activity.Workout) error { return stop })
			require.ErrorIs(t, err, stop)
		}
		require.Equal(t, breaker.StateClosed, b.State())

		fake.answer(errMongoDown)
		err := s.EachSample(ctx, "u1", day, day.Add(time.Hour), func(*activity.Sample) error { return nil })
		require.ErrorIs(t, err, errMongoDown)
		assert.Equal(t, breaker.StateOpen, b.State(), "the store's own failure counts")
		assert.Equal(t, 7, fake.called())
	})
}

// breakerProxy forwards a loopback port to a server until cut, so a test
// can take a server away from a client and give it back on the same
// address.
type breakerProxy struct {
	target string
	addr   string
	wg     sync.WaitGroup
	mu     sync.Mutex
	ln     net.Listener // nil while cut
	conns  map[net.Conn]struct{}
}

func newBreakerProxy(tb testing.TB, target string) *breakerProxy {
	tb.Helper()
	p := &breakerProxy{target: target, addr: "127.0.0.1:0", conns: map[net.Conn]struct{}{}}
	p.listen(tb)
	tb.Cleanup(p.cut)
	return p
}

// listen (again) on p.addr.
func (p *breakerProxy) listen(tb testing.TB) {
	tb.Helper()
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(tb, err)
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	p.wg.Add(1)
	go p.accept(ln)
}

func (p *breakerProxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		if p.ln != ln { // cut meanwhile
			p.mu.Unlock()
			_, _ = c.Close(), up.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *breakerProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_, _ = dst.Close(), src.Close()
}

// cut closes the port and every connection through it.
func (p *breakerProxy) cut() {
	p.mu.Lock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
	p.mu.Unlock()
	p.wg.Wait()
}

// TestMongoStoreWithBreaker takes the MongoDB-compatible server away from a
// working store and gives it back.
func TestMongoStoreWithBreaker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	uri, name := testkit.Mongo(t)
	u, err := url.Parse(uri)
	require.NoError(t, err)
	proxy := newBreakerProxy(t, u.Host)
	u.Host = proxy.addr
	q := u.Query()
	q.Set("directConnection", "true") // only the server behind the proxy
	q.Set("heartbeatFrequencyMS", "500")
	u.RawQuery = q.Encode()
	const timeout = time.Second
	m, err := fitmongo.Open(config.Mongo{URI: u.String(), Database: name, Timeout: timeout,
		BreakerFailures: 2, BreakerCooldown: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	reg := prometheus.NewRegistry()
	s, err := activity.NewMongoStoreWithBreaker(ctx, m, reg)
	require.NoError(t, err)
	start := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	end := start.Add(time.Hour)
	w := &activity.Workout{ID: "w1", UserID: "u1", WorkoutType: "running", StartTime: start, EndTime: &end,
		Duration: 3600, Source: activity.SourceManual, CreatedAt: end, UpdatedAt: end}
	require.NoError(t, s.CreateWorkout(ctx, w))
	_, err = s.Workout(ctx, "missing")
	require.ErrorIs(t, err, activity.ErrWorkoutNotFound)

	proxy.cut()
	for range 2 {
		_, err := s.Workout(ctx, "w1")
		require.Error(t, err)
		require.NotErrorIs(t, err, breaker.ErrOpen, "the driver's own error, after its time-out")
		require.True(t, fitmongo.Unhealthy(err), "%v", err)
	}
	require.Equal(t, breaker.StateOpen, m.Breaker.State())
	began := time.Now()
	_, err = s.Workout(ctx, "w1")
	requireUnavailable(t, err)
	assert.Less(t, time.Since(began), timeout/2, "fails fast instead of waiting for the time-out")
	require.ErrorContains(t, m.Ping(ctx), "circuit breaker open", "/readyz names the open breaker")

	proxy.listen(t)
	// Each try is rejected at once or is the trial; a trial that comes
	// before the driver has found the server again opens the breaker anew.
	require.Eventually(t, func() bool {
		got, err := s.Workout(ctx, "w1")
		return err == nil && got.ID == "w1"
	}, 30*time.Second, 50*time.Millisecond)
	assert.Equal(t, breaker.StateClosed, m.Breaker.State())
	families, err := reg.Gather()
	require.NoError(t, err)
	names := make([]string, 0, len(families))
	for _, f := range families {
		names = append(names, f.GetName())
	}
	assert.ElementsMatch(t, []string{"fitloop_mongo_breaker_state", "fitloop_mongo_breaker_rejected_total"}, names)
}
