package activity

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/database/dbtest"
)

// endingStore ends the workout between an edit's read and its write, once:
// the interleaving of a PUT racing POST .../end.
type endingStore struct {
	Store
	once sync.Once
	at   time.Time
}

func (s *endingStore) UpdateWorkout(ctx context.Context, w *Workout) error {
	s.once.Do(func() {
		ended := *w
		ended.EndTime, ended.Duration, ended.UpdatedAt = &s.at, int64(s.at.Sub(w.StartTime).Seconds()), s.at
		if err := s.Store.EndWorkout(ctx, &ended); err != nil {
			panic(err)
		}
	})
	return s.Store.UpdateWorkout(ctx, w)
}

// oneUser is the users module with one account.
type oneUser struct{ UserBasics }

func (u oneUser) Basics(context.Context, string) (*UserBasics, error)      { return &u.UserBasics, nil }
func (oneUser) ActiveGoals(context.Context, GoalQuery) ([]GoalSpec, error) { return nil, nil }

func TestUpdateRacingEndKeepsTheEnd(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	start := time.Date(2030, 3, 12, 9, 0, 0, 0, time.UTC)
	store := &endingStore{Store: NewSQLStore(db), at: start.Add(45 * time.Minute)}
	s := newService(Deps{DB: db, Store: store, Users: oneUser{UserBasics{UserID: "u1", Timezone: "UTC"}},
		Clock: func() time.Time { return start.Add(time.Hour) }})
	t.Cleanup(s.achieve.close)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: "u1", Role: auth.RoleCustomer, SessionID: "s1"})
	w := &Workout{ID: "w1", UserID: "u1", WorkoutType: "running", StartTime: start, Source: SourceLive,
		CreatedAt: start, UpdatedAt: start}
	require.NoError(t, store.CreateWorkout(ctx, w))

	notes := "felt strong"
	got, err := s.UpdateWorkout(ctx, "w1", WorkoutUpdate{Notes: &notes})
	require.NoError(t, err, "the edit is read again and applied to the ended workout")
	assert.Equal(t, notes, got.Notes)
	require.NotNil(t, got.EndTime, "the edit did not reopen the workout")
	stored, err := store.Workout(ctx, "w1")
	require.NoError(t, err)
	require.NotNil(t, stored.EndTime)
	assert.Equal(t, start.Add(45*time.Minute), *stored.EndTime)
	assert.EqualValues(t, 2700, stored.Duration)
	assert.Equal(t, notes, stored.Notes)
}
