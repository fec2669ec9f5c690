package activity

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/database"
)

type service struct {
	db         *database.DB
	store      Store
	users      Users
	log        *slog.Logger
	now        Clock
	maxSamples int
	notes      notifications
	push       Push
	achieve    *achiever
}

func newService(d Deps) *service {
	s := &service{db: d.DB, store: d.Store, users: d.Users, log: d.Log, now: d.Clock, maxSamples: d.MaxSamples,
		notes: notifications{d.DB}, push: d.Push}
	if s.push == nil {
		s.push = NopPush{}
	}
	if s.store == nil {
		s.store = NewSQLStore(d.DB)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxSamples <= 0 {
		s.maxSamples = 10_000
	}
	s.achieve = newAchiever(s)
	return s
}

// clock is now in UTC, to the microsecond (what every store keeps).
func (s *service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// mayActFor checks that the caller may act for userID. A user acting for
// themself costs no read (a live session proves the account exists); for an
// admin acting for someone else it checks that the account exists.
func (s *service) mayActFor(ctx context.Context, userID string) error {
	p, err := auth.SelfOrAdmin(ctx, userID, ErrUserNotFound)
	if err == nil && p.UserID != userID {
		_, err = s.users.Basics(ctx, userID)
	}
	return err
}

// forUser checks that the caller may act for userID and returns what the
// module needs about the account (its time zone, its weight).
func (s *service) forUser(ctx context.Context, userID string) (*UserBasics, error) {
	if _, err := auth.SelfOrAdmin(ctx, userID, ErrUserNotFound); err != nil {
		return nil, err
	}
	return s.users.Basics(ctx, userID)
}

// location is the user's time zone (UTC when unknown or invalid).
func location(u *UserBasics) *time.Location {
	if u == nil || u.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(u.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Bounds on client-given times: nothing before 2000 or after a little
// clock skew from now.
var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const clockSkew = 5 * time.Minute

// parseTime reads an RFC 3339 time within [earliest, now+clockSkew],
// truncated to the microsecond.
func parseTime(s string, now time.Time) (time.Time, string) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	switch {
	case err != nil:
		return time.Time{}, "must be an RFC 3339 time such as 2026-11-21T07:30:00Z"
	case t.Before(earliest):
		return time.Time{}, "must not be before 2000-01-01"
	case t.After(now.Add(clockSkew)):
		return time.Time{}, "must not be in the future"
	}
	return t.UTC().Truncate(time.Microsecond), ""
}
