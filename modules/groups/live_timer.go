package groups

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/realtime"
)

// timer is a session's shared countdown. The server's clock is the only
// one that counts: clients are told how much was left at server_time and
// count down from there, so every screen agrees.
type timer struct {
	Label    string        `json:"label"`
	Duration time.Duration `json:"duration"`
	Running  bool          `json:"running"`
	// Left is what remained at Since: when it last started running, or
	// when it was paused or reset.
	Left  time.Duration `json:"left"`
	Since time.Time     `json:"since"`
	Gen   int           `json:"gen"` // counts changes, so a stale expiry does nothing
}

// Timer messages and limits.
const (
	MsgTimerStart = "timer_start"
	MsgTimerPause = "timer_pause"
	MsgTimerReset = "timer_reset"
	EvTimerState  = "timer_state"
	MaxTimerSecs  = 24 * 3600
	MaxTimerLabel = 100
)

// Timer errors.
var (
	ErrNoTimer         = apperr.E(apperr.Conflict, "timer_not_set", "There is no timer; start one with a duration_s.")
	ErrTimerNotRunning = apperr.E(apperr.Conflict, "timer_not_running", "The timer is not running.")
)

type timerStartMsg struct {
	envelope
	DurationS *int    `json:"duration_s"`
	Label     *string `json:"label"`
}

// TimerState is the timer_state event and a snapshot's timer.
type TimerState struct {
	Label       string    `json:"label"`
	DurationMS  int64     `json:"duration_ms"`
	Running     bool      `json:"running"`
	RemainingMS int64     `json:"remaining_ms"` // at ServerTime
	ServerTime  time.Time `json:"server_time"`
	// EndsAt is when a running timer reaches zero.
	EndsAt *time.Time `json:"ends_at,omitempty"`
}

// left is what remains at now (never below zero).
func (t *timer) left(now time.Time) time.Duration {
	if !t.Running {
		return t.Left
	}
	return max(t.Left-now.Sub(t.Since), 0)
}

// state is the timer as clients see it at now.
func (t *timer) state(now time.Time) *TimerState {
	left := t.left(now)
	out := &TimerState{Label: t.Label, DurationMS: t.Duration.Milliseconds(), Running: t.Running && left > 0,
		RemainingMS: left.Milliseconds(), ServerTime: now}
	if out.Running {
		end := now.Add(left)
		out.EndsAt = &end
	}
	return out
}

func (s *service) onTimerStart(ctx context.Context, c *realtime.Conn, raw json.RawMessage) error {
	var m timerStartMsg
	if err := decode(c, raw, &m); err != nil {
		return err
	}
	if _, err := s.joined(c); err != nil {
		return err
	}
	if m.DurationS != nil && (*m.DurationS < 1 || *m.DurationS > MaxTimerSecs) {
		return invalid(fmt.Sprintf("duration_s must be 1 to %d seconds.", MaxTimerSecs))
	}
	var label string
	if m.Label != nil {
		label = strings.TrimSpace(*m.Label)
		if msg := checkLine(label, MaxTimerLabel); msg != "" && label != "" {
			return invalid("label " + msg)
		}
	}
	return s.changeTimer(ctx, c, func(t *timer, now time.Time) (*timer, error) {
		switch {
		case m.DurationS != nil: // a new countdown
			d := time.Duration(*m.DurationS) * time.Second
			return &timer{Label: label, Duration: d, Running: true, Left: d, Since: now}, nil
		case t == nil:
			return nil, ErrNoTimer
		case t.Running && t.left(now) > 0:
			return nil, errNoChange
		case t.left(now) == 0: // finished: start it again from the top
			t.Left = t.Duration
		}
		t.Running, t.Since = true, now
		if m.Label != nil {
			t.Label = label
		}
		return t, nil
	})
}

func (s *service) onTimerPause(ctx context.Context, c *realtime.Conn, raw json.RawMessage) error {
	return s.timerCommand(ctx, c, raw, func(t *timer, now time.Time) (*timer, error) {
		if t == nil {
			return nil, ErrNoTimer
		}
		if !t.Running || t.left(now) == 0 {
			return nil, ErrTimerNotRunning
		}
		t.Left, t.Running, t.Since = t.left(now), false, now
		return t, nil
	})
}

func (s *service) onTimerReset(ctx context.Context, c *realtime.Conn, raw json.RawMessage) error {
	return s.timerCommand(ctx, c, raw, func(t *timer, now time.Time) (*timer, error) {
		if t == nil {
			return nil, ErrNoTimer
		}
		t.Left, t.Running, t.Since = t.Duration, false, now
		return t, nil
	})
}

// timerCommand runs a timer message without fields of its own.
func (s *service) timerCommand(ctx context.Context, c *realtime.Conn, raw json.RawMessage,
	fn func(t *timer, now time.Time) (*timer, error)) error {
	var m envelope
	if err := decode(c, raw, &m); err != nil {
		return err
	}
	return s.changeTimer(ctx, c, fn)
}

// changeTimer applies a host's change to the session timer, tells the
// room the new timer_state and, while it runs, schedules its end.
func (s *service) changeTimer(ctx context.Context, c *realtime.Conn, fn func(t *timer, now time.Time) (*timer, error)) error {
	sessionID, err := s.joined(c)
	if err != nil {
		return err
	}
	userID := c.Principal().UserID
	now := s.now()
	var t timer
	_, changed, err := s.live.update(ctx, sessionID, "", func(st *liveState) error {
		if st.Participants[userID] == nil {
			return ErrNotJoined
		}
		if st.HostID != userID {
			return ErrNotHost
		}
		gen := 0
		if st.Timer != nil {
			gen = st.Timer.Gen
		}
		next, err := fn(st.Timer, now)
		if err != nil {
			return err
		}
		next.Gen = gen + 1
		st.Timer, t = next, *next
		return nil
	})
	if err != nil || !changed {
		return err
	}
	s.publish(ctx, sessionID, EvTimerState, t.state(now))
	if t.Running {
		time.AfterFunc(t.Left, func() { s.timerDone(context.Background(), sessionID, t.Gen) })
	}
	return nil
}

// timerDone tells the room that the timer reached zero, once, unless it
// changed since (gen).
func (s *service) timerDone(ctx context.Context, sessionID string, gen int) {
	now := s.now()
	var t timer
	_, changed, err := s.live.update(ctx, sessionID, "", func(st *liveState) error {
		if st.Timer == nil || st.Timer.Gen != gen || !st.Timer.Running || st.Timer.left(now) > 0 {
			return errNoChange
		}
		st.Timer.Left, st.Timer.Running, st.Timer.Since = 0, false, now
		st.Timer.Gen++
		t = *st.Timer
		return nil
	})
	if err == nil && changed {
		s.publish(ctx, sessionID, EvTimerState, t.state(now))
	}
}
