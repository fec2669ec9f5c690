package jobs

import (
	"math/rand/v2"
	"time"
)

// backoff is the delay before the retry that follows failed attempt number
// attempt (1-based): "full jitter" — uniform in [0, min(max, base·2^(attempt-1))]
// — which spreads retries of jobs that failed together (AWS Architecture
// Blog, "Exponential Backoff And Jitter").
func backoff(attempt int, base, max time.Duration) time.Duration {
	return jitter(ceiling(attempt, base, max))
}

// ceiling is min(max, base·2^(attempt-1)) without overflow.
func ceiling(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}
