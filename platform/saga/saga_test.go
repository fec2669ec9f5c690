package saga_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/metrics"
	"github.com/fitloop/fitloop/platform/saga"
)

func TestRegistry(t *testing.T) {
	t.Parallel()
	noop := func(context.Context, *saga.Execution) error { return nil }
	def := saga.Definition{Name: "x", Version: 1, Steps: []saga.Step{{Name: "a", Action: noop}}}

	t.Run("rejects_a_duplicate_name_and_version", func(t *testing.T) {
		reg := saga.NewRegistry()
		require.NoError(t, reg.Register(def))
		assert.Error(t, reg.Register(def))
	})
	t.Run("rejects_malformed_definitions", func(t *testing.T) {
		reg := saga.NewRegistry()
		assert.Error(t, reg.Register(saga.Definition{Name: "x", Version: 1}), "no steps")
		assert.Error(t, reg.Register(saga.Definition{Name: "x", Version: 0, Steps: def.Steps}), "version 0")
		assert.Error(t, reg.Register(saga.Definition{Name: "x", Version: 1,
			Steps: []saga.Step{{Name: "a", Action: noop}, {Name: "a", Action: noop}}}), "duplicate step")
		assert.Error(t, reg.Register(saga.Definition{Name: "x", Version: 1, Steps: []saga.Step{{Name: "a"}}}))
		txNoop := func(context.Context, *gorm.DB, *saga.Execution) error { return nil }
		assert.Error(t, reg.Register(saga.Definition{Name: "x", Version: 1,
			Steps: []saga.Step{{Name: "a", Action: noop, TxAction: txNoop}}}), "two actions")
		assert.Error(t, reg.Register(saga.Definition{Name: "x", Version: 1,
			Steps: []saga.Step{{Name: "a", TxAction: txNoop, Compensate: noop, TxCompensate: txNoop}}}),
			"two compensations")
		assert.NoError(t, reg.Register(saga.Definition{Name: "y", Version: 1,
			Steps: []saga.Step{{Name: "a", TxAction: txNoop, Compensate: noop}}}))
	})
	t.Run("starts_new_sagas_on_the_latest_version", func(t *testing.T) {
		reg := saga.NewRegistry()
		v2 := def
		v2.Version = 2
		require.NoError(t, reg.Register(v2))
		require.NoError(t, reg.Register(def))
		latest, ok := reg.Latest("x")
		require.True(t, ok)
		assert.Equal(t, 2, latest.Version)
	})
}

type goalData struct {
	UserID string `json:"user_id"`
	GoalID string `json:"goal_id,omitempty"`
	Seen   string `json:"seen,omitempty"`
}

func TestStart(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		l := newLedger(t, db)
		store := l.step("store")
		storeAction := store.Action
		store.Action = func(ctx context.Context, ex *saga.Execution) error {
			var d goalData
			require.NoError(t, ex.Data(&d))
			d.GoalID = "goal-of-" + d.UserID
			require.NoError(t, ex.SetData(d))
			return storeAction(ctx, ex)
		}
		notify := l.step("notify")
		notifyAction := notify.Action
		notify.Action = func(ctx context.Context, ex *saga.Execution) error {
			var d goalData
			require.NoError(t, ex.Data(&d))
			d.Seen = d.GoalID
			require.NoError(t, ex.SetData(d))
			return notifyAction(ctx, ex)
		}
		reg := registry(t,
			saga.Definition{Name: "test.ok", Version: 1, Steps: []saga.Step{store, notify, l.step("audit")}},
			saga.Definition{Name: "test.fail", Version: 1,
				Steps: []saga.Step{l.step("a"), l.step("b"), l.failing("c"), l.step("d")}})
		met := metrics.New()
		o := newOrchestrator(t, db, reg, "r1", func(opt *saga.Options) { opt.Metrics = met })
		ctx := context.Background()

		t.Run("completes_every_step_and_passes_data_between_them", func(t *testing.T) {
			id, err := o.Start(ctx, "test.ok", goalData{UserID: "u1"})
			require.NoError(t, err)
			in, err := o.FindByID(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, saga.Completed, in.State)
			assert.Equal(t, 3, in.Step)
			assert.Empty(t, in.LeaseOwner, "the lease is released")
			assert.NotNil(t, in.FinishedAt)
			assert.JSONEq(t, `{"user_id":"u1","goal_id":"goal-of-u1","seen":"goal-of-u1"}`, string(in.Data))
			assert.Equal(t, map[string]int{"store:do": 1, "notify:do": 1, "audit:do": 1}, l.effects(t, id))
			require.Len(t, in.Steps, 6, "started and succeeded per step")
			assert.Equal(t, "started", in.Steps[0].Status)
			assert.Equal(t, "succeeded", in.Steps[5].Status)
			assert.Equal(t, 1.0, metricValue(t, met, "fitloop_sagas_completed_total", "test.ok"))
		})

		t.Run("compensates_completed_steps_in_reverse_and_returns_the_step_error", func(t *testing.T) {
			l.order = nil
			id, err := o.Start(ctx, "test.fail", goalData{UserID: "u2"})
			var serr *saga.Error
			require.ErrorAs(t, err, &serr)
			assert.Equal(t, "c", serr.Step)
			assert.Equal(t, saga.Compensated, serr.State)
			assert.Equal(t, id, serr.SagaID)
			assert.True(t, apperr.Is(err, "planner_unavailable"), "the step's apperr reaches the caller")
			assert.Equal(t, []string{"a:action", "b:action", "c:action", "b:compensate", "a:compensate"}, l.order)
			assert.Equal(t, map[string]int{"a:do": 1, "b:do": 1, "a:undo": 1, "b:undo": 1}, l.effects(t, id))
			in, err := o.FindByID(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, saga.Compensated, in.State)
			assert.Equal(t, 0, in.Step)
			assert.Contains(t, in.LastError, "planner_unavailable")
		})

		t.Run("starts_in_the_background_with_start_async", func(t *testing.T) {
			id, err := o.StartAsync(ctx, "test.ok", goalData{UserID: "u3"})
			require.NoError(t, err)
			require.NotEmpty(t, id)
			assert.Equal(t, saga.Completed, waitFinal(t, o, id).State)
		})

		t.Run("in_tx_writes_commit_with_the_saga_or_not_at_all", func(t *testing.T) {
			count := func(table, where string, args ...any) int64 {
				var n int64
				require.NoError(t, db.Read(ctx).Table(table).Where(where, args...).Count(&n).Error)
				return n
			}
			id, err := o.StartAsync(ctx, "test.ok", goalData{UserID: "u4"}, saga.InTx(func(tx *gorm.DB) error {
				return l.insert(tx, "before-saga", "in-tx-ok", "pre")
			}))
			require.NoError(t, err)
			assert.Equal(t, int64(1), count("saga_test_ledger", "idem_key = ?", "in-tx-ok"))
			assert.Equal(t, saga.Completed, waitFinal(t, o, id).State)

			before := count("saga_instances", "1 = 1")
			_, err = o.StartAsync(ctx, "test.ok", goalData{UserID: "u5"}, saga.InTx(func(tx *gorm.DB) error {
				if err := l.insert(tx, "before-saga", "in-tx-fail", "pre"); err != nil {
					return err
				}
				return errPlanner
			}))
			require.ErrorIs(t, err, errPlanner)
			assert.Zero(t, count("saga_test_ledger", "idem_key = ?", "in-tx-fail"), "fn's write is rolled back")
			assert.Equal(t, before, count("saga_instances", "1 = 1"), "no saga is recorded")
		})

		t.Run("rejects_an_unregistered_saga", func(t *testing.T) {
			_, err := o.Start(ctx, "test.nope", nil)
			assert.Error(t, err)
		})
	})
}

func TestCompensationRetries(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		l := newLedger(t, db)
		failures := 0
		flaky := l.step("flaky")
		flaky.Compensate = func(ctx context.Context, ex *saga.Execution) error {
			if failures > 0 {
				failures--
				return errors.New("refund service down")
			}
			return l.record(ctx, ex.SagaID(), ex.CompensationKey(), "undo")
		}
		reg := registry(t, saga.Definition{Name: "test.flaky", Version: 1,
			Steps: []saga.Step{l.step("a"), flaky, l.failing("boom")}})
		met := metrics.New()
		o := newOrchestrator(t, db, reg, "r1", func(opt *saga.Options) { opt.Metrics = met })
		ctx := context.Background()

		t.Run("retries_a_failing_compensation_until_it_succeeds", func(t *testing.T) {
			failures = 2
			id, err := o.Start(ctx, "test.flaky", nil)
			var serr *saga.Error
			require.ErrorAs(t, err, &serr)
			assert.Equal(t, saga.Compensated, serr.State)
			in, err := o.FindByID(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, saga.Compensated, in.State)
			assert.Equal(t, 3, countLog(in, "flaky", saga.PhaseCompensate, "started"))
			assert.Equal(t, 2, countLog(in, "flaky", saga.PhaseCompensate, "failed"))
			assert.Equal(t, map[string]int{"a:do": 1, "flaky:do": 1, "a:undo": 1, "flaky:undo": 1}, l.effects(t, id))
		})

		t.Run("parks_the_saga_as_needs_attention_after_the_last_attempt", func(t *testing.T) {
			failures = 1000
			id, err := o.Start(ctx, "test.flaky", nil)
			var serr *saga.Error
			require.ErrorAs(t, err, &serr)
			assert.Equal(t, saga.NeedsAttention, serr.State)
			assert.Equal(t, "boom", serr.Step)
			assert.ErrorIs(t, err, errPlanner, "the caller still sees the step's error")
			in, err := o.FindByID(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, saga.NeedsAttention, in.State)
			assert.Equal(t, 3, in.Attempts)
			assert.Contains(t, in.LastError, "refund service down")
			assert.Equal(t, 3, countLog(in, "flaky", saga.PhaseCompensate, "failed"))
			assert.Equal(t, map[string]int{"a:do": 1, "flaky:do": 1}, l.effects(t, id), "a is not compensated")
			assert.Equal(t, 1.0, metricValue(t, met, "fitloop_sagas_needs_attention_total", "test.flaky"))

			n, err := o.Resume(ctx)
			require.NoError(t, err)
			assert.Zero(t, n, "a parked saga is not resumed")
			assert.Equal(t, 1.0, metricValue(t, met, "fitloop_sagas_needs_attention", "test.flaky"))
		})
	})
}

func countLog(in *saga.Instance, step string, phase saga.Phase, status string) int {
	n := 0
	for _, s := range in.Steps {
		if s.Name == step && s.Phase == phase && s.Status == status {
			n++
		}
	}
	return n
}
