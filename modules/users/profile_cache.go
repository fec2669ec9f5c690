package users

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// publicProfileTTL bounds how stale a cached public profile may be when an
// invalidation raced a refill; every change of the profile deletes the entry.
const publicProfileTTL = 30 * time.Second

func profileKey(userID string) string { return "users:profile:" + userID }

// cachedPublicProfile returns the public profile from the shared cache.
func (s *service) cachedPublicProfile(ctx context.Context, userID string) (*Profile, bool) {
	if s.cache == nil {
		return nil, false
	}
	b, ok, err := s.cache.Get(ctx, profileKey(userID))
	if err != nil || !ok {
		return nil, false
	}
	var p Profile
	if json.Unmarshal(b, &p) != nil || p.Private != nil {
		return nil, false
	}
	return &p, true
}

func (s *service) cachePublicProfile(ctx context.Context, p *Profile) {
	if s.cache == nil {
		return
	}
	if b, err := json.Marshal(p); err == nil {
		_ = s.cache.Set(ctx, profileKey(p.UserID), b, publicProfileTTL)
	}
}

// forgetProfile drops a user's cached public profile after a change.
func (s *service) forgetProfile(ctx context.Context, userID string) {
	if s.cache == nil {
		return
	}
	if err := s.cache.Delete(ctx, profileKey(userID)); err != nil {
		s.log.Warn("users: forget cached profile", slog.String("user_id", userID), slog.String("error", err.Error()))
	}
}
