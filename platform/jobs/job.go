package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Job states as stored in jobs_queue.state.
const (
	StateQueued    = "queued"
	StateRunning   = "running"
	StateSucceeded = "succeeded"
	StateFailed    = "failed" // the last attempt failed; retried at run_at
	StateDead      = "dead"
)

// Job is a unit of work to enqueue.
type Job struct {
	// Kind selects the handler, e.g. "media.process".
	Kind string
	// Payload is marshalled to JSON (a json.RawMessage is stored as is).
	Payload any
	// RunAt delays the first attempt; zero means now.
	RunAt time.Time
	// MaxAttempts bounds the attempts before the job is dead; zero means the
	// queue's configured jobs.max_attempts.
	MaxAttempts int
	// DedupeKey, when set, is unique among unfinished jobs (see the package doc).
	DedupeKey string
}

// JobInfo is what a handler gets: the job and which attempt this is.
type JobInfo struct {
	ID          string
	Kind        string
	Payload     json.RawMessage
	Attempt     int // 1 on the first run
	MaxAttempts int // the effective limit
}

// Decode unmarshals the payload into v.
func (j JobInfo) Decode(v any) error { return json.Unmarshal(j.Payload, v) }

// Handler runs one job. A nil error marks it succeeded; an error schedules a
// retry with backoff (or dead-letters it after the last attempt); an error
// wrapped by Permanent dead-letters it at once; a panic counts as an error.
// ctx ends when the queue stops hard or the job's lease is lost.
type Handler func(ctx context.Context, job JobInfo) error

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying: the job goes dead at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
