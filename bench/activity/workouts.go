package main

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

var workoutTypes = []string{"running", "cycling", "swimming", "walking", "strength", "yoga", "rowing", "hiit"}

// seedWorkouts logs n finished workouts for a through POST
// /users/{id}/workouts on conns connections: one an hour going back from
// now, 30 minutes each, with distance and heart rate (≈150-byte bodies).
func seedWorkouts(cl *client, a account, n, conns int) error {
	now := time.Now().UTC().Truncate(time.Second)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	began := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n) && failed.Load() == nil; i = next.Add(1) - 1 {
				body, _ := json.Marshal(map[string]any{
					"workout_type": workoutTypes[i%int64(len(workoutTypes))],
					"start_time":   now.Add(-time.Duration(i+1) * time.Hour).Format(time.RFC3339),
					"duration":     1800, "distance_km": 5.2, "avg_heart_rate": 140, "notes": "bench",
				})
				if err := cl.Do("POST", "/users/"+a.UserID+"/workouts", a.Token, body, nil); err != nil {
					err = fmt.Errorf("workout %d: %w", i, err)
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		return *p
	}
	el := time.Since(began)
	fmt.Printf("seeded %d workouts in %.1fs (%.0f/s)\n", n, el.Seconds(), float64(n)/el.Seconds())
	return nil
}

// seedHeart posts days of per-minute heart rate for a, ending a minute ago,
// in batches of 10,000 (activity.max_samples) on conns connections.
func seedHeart(cl *client, a account, days, conns int) error {
	const batch = 10_000
	total := days * 24 * 60
	base := time.Now().UTC().Truncate(time.Minute).Add(-time.Duration(total) * time.Minute)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	began := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			var buf []byte
			for first := int(next.Add(batch) - batch); first < total && failed.Load() == nil; first = int(next.Add(batch) - batch) {
				buf = appendBatch(buf[:0], base, first, min(batch, total-first), 0, false)
				var res struct{ Accepted int }
				err := cl.Do("POST", "/users/"+a.UserID+"/metrics", a.Token, buf, &res)
				if err == nil && res.Accepted != min(batch, total-first) {
					err = fmt.Errorf("%d of %d accepted", res.Accepted, min(batch, total-first))
				}
				if err != nil {
					err = fmt.Errorf("samples from %d: %w", first, err)
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		return *p
	}
	fmt.Printf("seeded %d heart-rate samples in %.1fs\n", total, time.Since(began).Seconds())
	return nil
}

// startEnd starts and ends workouts, one account per connection (a user
// has at most one active workout), and reports requests per second (two
// per pair) and pairs per second.
func startEnd(cl *client, accts []account, c config) error {
	bodies := make([][]byte, len(accts))
	for w, a := range accts {
		bodies[w], _ = json.Marshal(map[string]string{"user_id": a.UserID, "workout_type": "running"})
	}
	op := func(w int, r *recorder) error {
		a := accts[w]
		var started struct {
			SessionID string `json:"session_id"`
		}
		if !r.request(func() error { return cl.Do("POST", "/workouts/start", a.Token, bodies[w], &started) }) {
			return errStop // an active workout left behind would fail every later start
		}
		if r.request(func() error { return cl.Do("POST", "/workouts/"+started.SessionID+"/end", a.Token, nil, nil) }) {
			r.ops++
		}
		return nil
	}
	r, elapsed := drive(len(accts), c.d, op)
	report(c.label, r, elapsed, "pairs/s", fmt.Sprintf("%.1f", float64(r.ops)/elapsed.Seconds()))
	return nil
}
