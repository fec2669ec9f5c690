package users

import (
	"cmp"
	"context"
	"strings"
	"time"

	"github.com/fitloop/fitloop/platform/changefeed"
)

// MaxChanges is the most changes one page of a change feed may ask for.
const MaxChanges = changefeed.MaxLimit

// ChangeCursor is a position in a change feed: the ChangedAt and id of the
// last change a consumer took (AccountChange.Cursor, GoalChange.Cursor). A
// feed answers the changes strictly after it; the zero cursor is before
// every change.
type ChangeCursor = changefeed.Cursor

// AccountChange is an account as it is after its latest write, for the
// reporting warehouse. It is pseudonymous on purpose: it never carries the
// email, username, display name, bio or biometrics.
type AccountChange struct {
	UserID   string
	Role     string
	Timezone string    // IANA name
	SignupAt time.Time // when the account was created
	Disabled bool
	// LeaderboardOptIn: the user agreed to appear on the leaderboard
	// analytics serves from the warehouse. Changing it stamps the account,
	// so the feed reports the change.
	LeaderboardOptIn bool
	// Deleted: the account is closed (being erased, or erased). Its row stays
	// as a tombstone, and Role, Timezone, SignupAt and LeaderboardOptIn are
	// what the row holds (erasure resets the time zone to UTC and the opt-in
	// to false).
	Deleted   bool
	ChangedAt time.Time // the latest write
}

// Cursor is the position just at this change: a feed asked for the changes
// after it answers the ones that follow.
func (c AccountChange) Cursor() ChangeCursor { return ChangeCursor{At: c.ChangedAt, ID: c.UserID} }

// GoalChange is a goal as it is after its latest write, or the tombstone of
// a deleted goal (Deleted, with only GoalID, UserID and ChangedAt set). It
// has no free-text field.
type GoalChange struct {
	GoalID, UserID   string
	GoalType, Period string // GoalTypes, GoalPeriods
	TargetValue      float64
	TargetDate       string // YYYY-MM-DD
	Status           string // GoalStatuses
	CreatedAt        time.Time
	Deleted          bool      // deleted by its owner, undone by its saga, or erased with the account
	ChangedAt        time.Time // the latest write, or the deletion
}

// Cursor is the position just at this change.
func (c GoalChange) Cursor() ChangeCursor { return ChangeCursor{At: c.ChangedAt, ID: c.GoalID} }

// AccountChanges is Service.AccountChanges, for the module that loads the
// warehouse (main.go adapts it to that module's interface).
func (m *Module) AccountChanges(ctx context.Context, after ChangeCursor, limit int) ([]AccountChange, error) {
	return m.svc.AccountChanges(ctx, after, limit)
}

// GoalChanges is Service.GoalChanges, for the module that loads the warehouse.
func (m *Module) GoalChanges(ctx context.Context, after ChangeCursor, limit int) ([]GoalChange, error) {
	return m.svc.GoalChanges(ctx, after, limit)
}

// AccountChanges implements Service.
func (s *service) AccountChanges(ctx context.Context, after ChangeCursor, limit int) ([]AccountChange, error) {
	if err := checkChangeLimit(limit); err != nil {
		return nil, err
	}
	rows, err := s.store.accountChanges(s.db.Read(ctx), after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]AccountChange, 0, len(rows))
	for _, r := range rows {
		out = append(out, AccountChange{UserID: r.ID, Role: r.Role, Timezone: r.Timezone,
			SignupAt: r.CreatedAt.UTC(), Disabled: r.Disabled, LeaderboardOptIn: r.LeaderboardOptIn,
			Deleted: r.DeletedAt != nil, ChangedAt: r.UpdatedAt.UTC()})
	}
	return out, nil
}

// GoalChanges implements Service. Goals and tombstones are read apart, each
// at most limit after the cursor, and merged: the first limit of the merge
// are within the first limit of each.
func (s *service) GoalChanges(ctx context.Context, after ChangeCursor, limit int) ([]GoalChange, error) {
	if err := checkChangeLimit(limit); err != nil {
		return nil, err
	}
	q := s.db.Read(ctx)
	goals, err := s.store.goalChanges(q, after, limit)
	if err != nil {
		return nil, err
	}
	stones, err := s.store.goalTombstones(q, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]GoalChange, 0, min(limit, len(goals)+len(stones)))
	for len(out) < limit && (len(goals) > 0 || len(stones) > 0) {
		var c GoalChange
		if len(stones) == 0 || (len(goals) > 0 && changedBefore(goals[0].UpdatedAt, goals[0].ID, stones[0].DeletedAt, stones[0].GoalID)) {
			c, goals = goalChange(&goals[0]), goals[1:]
		} else {
			c, stones = goalTombstone(&stones[0]), stones[1:]
		}
		out = append(out, c)
	}
	return out, nil
}

// changedBefore orders changes as the feeds' SQL does: by time, then id.
// Ids are UUIDv7 text (lower-case hex, hyphens in fixed places), which
// PostgreSQL's collations and SQLite order as Go does.
func changedBefore(at time.Time, id string, at2 time.Time, id2 string) bool {
	if !at.Equal(at2) {
		return at.Before(at2)
	}
	return strings.Compare(id, id2) < 0
}

func goalChange(g *goalRow) GoalChange {
	return GoalChange{GoalID: g.ID, UserID: g.UserID, GoalType: g.GoalType, Period: g.Period,
		TargetValue: g.TargetValue, TargetDate: g.TargetDate.Format(time.DateOnly), Status: g.Status,
		CreatedAt: g.CreatedAt.UTC(), ChangedAt: g.UpdatedAt.UTC()}
}

func goalTombstone(t *goalTombstoneRow) GoalChange {
	return GoalChange{GoalID: t.GoalID, UserID: t.UserID, Deleted: true, ChangedAt: t.DeletedAt.UTC()}
}

func checkChangeLimit(limit int) error { return changefeed.CheckLimit(limit) }

// LeaderboardMember is an account on the leaderboard: opted in, live and
// not disabled. DisplayName is the username when the profile has none.
type LeaderboardMember struct {
	UserID      string
	DisplayName string
}

// LeaderboardMembers lists the accounts on the leaderboard, for the
// module that serves it from the warehouse (which knows users only by
// pseudonym). It is read at every request, so an opt-out counts at once.
func (m *Module) LeaderboardMembers(ctx context.Context) ([]LeaderboardMember, error) {
	var rows []accountRow
	err := m.svc.db.Read(ctx).Select("id", "username", "display_name").
		Where("leaderboard_opt_in = ? AND disabled = ? AND deleted_at IS NULL", true, false).Order("id").Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]LeaderboardMember, len(rows))
	for i, r := range rows {
		out[i] = LeaderboardMember{UserID: r.ID, DisplayName: cmp.Or(r.DisplayName, r.Username)}
	}
	return out, nil
}
