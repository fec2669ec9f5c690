package saga_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/metrics"
	"github.com/fitloop/fitloop/platform/saga"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// errPlanner is the error the failing test step returns.
var errPlanner = apperr.E(apperr.Unavailable, "planner_unavailable", "The planner is unavailable.")

// ledger records the test steps' side effects in a table, each guarded by
// saga.Once, and counts every call of every action and compensation.
type ledger struct {
	db    *database.DB
	mu    sync.Mutex
	calls map[string]int // saga_id:step:phase → calls
	order []string       // step:phase in call order
	gate  chan struct{}  // when set, every action waits for it
}

func newLedger(tb testing.TB, db *database.DB) *ledger {
	tb.Helper()
	err := db.Tx(context.Background(), func(tx *gorm.DB) error {
		return tx.Exec(`CREATE TABLE IF NOT EXISTS saga_test_ledger (
			id TEXT PRIMARY KEY, saga_id TEXT NOT NULL, idem_key TEXT NOT NULL, kind TEXT NOT NULL)`).Error
	})
	require.NoError(tb, err)
	return &ledger{db: db, calls: map[string]int{}}
}

// step is a step whose action and compensation each write one ledger row.
func (l *ledger) step(name string) saga.Step {
	return saga.Step{
		Name: name,
		Action: func(ctx context.Context, ex *saga.Execution) error {
			l.called(ex)
			if l.gate != nil {
				select {
				case <-l.gate:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return l.record(ctx, ex.SagaID(), ex.Key(), "do")
		},
		Compensate: func(ctx context.Context, ex *saga.Execution) error {
			l.called(ex)
			return l.record(ctx, ex.SagaID(), ex.CompensationKey(), "undo")
		},
	}
}

// failing is a step whose action always fails with errPlanner.
func (l *ledger) failing(name string) saga.Step {
	s := l.step(name)
	s.Action = func(_ context.Context, ex *saga.Execution) error {
		l.called(ex)
		return errPlanner
	}
	return s
}

// txStep is a step whose action and compensation write their ledger row in
// the transaction that records them, with no saga.Once: the orchestrator's
// atomic save is what keeps them from happening twice.
func (l *ledger) txStep(name string) saga.Step {
	return saga.Step{
		Name: name,
		TxAction: func(_ context.Context, tx *gorm.DB, ex *saga.Execution) error {
			l.called(ex)
			return l.insert(tx, ex.SagaID(), ex.Key(), "do")
		},
		TxCompensate: func(_ context.Context, tx *gorm.DB, ex *saga.Execution) error {
			l.called(ex)
			return l.insert(tx, ex.SagaID(), ex.CompensationKey(), "undo")
		},
	}
}

// txFailing is a transactional step whose action writes its row, then fails:
// the row must be rolled back with it.
func (l *ledger) txFailing(name string) saga.Step {
	s := l.txStep(name)
	s.TxAction = func(_ context.Context, tx *gorm.DB, ex *saga.Execution) error {
		l.called(ex)
		if err := l.insert(tx, ex.SagaID(), ex.Key(), "do"); err != nil {
			return err
		}
		return errPlanner
	}
	return s
}

func (l *ledger) insert(tx *gorm.DB, sagaID, key, kind string) error {
	return tx.Exec(`INSERT INTO saga_test_ledger (id, saga_id, idem_key, kind) VALUES (?, ?, ?, ?)`,
		uuid.NewString(), sagaID, key, kind).Error
}

func (l *ledger) called(ex *saga.Execution) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[ex.SagaID()+":"+ex.Step()+":"+string(ex.Phase())]++
	l.order = append(l.order, ex.Step()+":"+string(ex.Phase()))
}

func (l *ledger) callsOf(sagaID, step string, phase saga.Phase) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[sagaID+":"+step+":"+string(phase)]
}

func (l *ledger) record(ctx context.Context, sagaID, key, kind string) error {
	return l.db.Tx(ctx, func(tx *gorm.DB) error {
		first, err := saga.Once(tx, key)
		if err != nil || !first {
			return err
		}
		return l.insert(tx, sagaID, key, kind)
	})
}

// effects counts a saga's ledger rows as "step:kind" → rows.
func (l *ledger) effects(tb testing.TB, sagaID string) map[string]int {
	tb.Helper()
	var rows []struct{ IdemKey, Kind string }
	require.NoError(tb, l.db.Read(context.Background()).Raw(
		`SELECT idem_key, kind FROM saga_test_ledger WHERE saga_id = ?`, sagaID).Scan(&rows).Error)
	out := map[string]int{}
	for _, r := range rows {
		step := strings.TrimSuffix(strings.TrimPrefix(r.IdemKey, sagaID+":"), ":compensate")
		out[step+":"+r.Kind]++
	}
	return out
}

// testConfig has a lease long enough not to expire under -race and tiny
// backoffs.
func testConfig() config.Sagas {
	return config.Sagas{Lease: 2 * time.Second, ResumeInterval: 20 * time.Millisecond, CompensationAttempts: 3,
		BackoffBase: time.Millisecond}
}

// later is a clock an hour ahead: every lease taken on the real clock has
// expired for it, as for a replica that comes up after a crash.
func later() time.Time { return time.Now().Add(time.Hour) }

// newOrchestrator builds an orchestrator closed when the test ends; edit
// changes its options.
func newOrchestrator(tb testing.TB, db *database.DB, reg *saga.Registry, replica string,
	edit ...func(*saga.Options)) *saga.Orchestrator {
	tb.Helper()
	opt := saga.Options{DB: db, Registry: reg, Config: testConfig(), Replica: replica, Metrics: metrics.New()}
	for _, e := range edit {
		e(&opt)
	}
	o, err := saga.New(opt)
	require.NoError(tb, err)
	tb.Cleanup(o.Close)
	return o
}

func registry(tb testing.TB, defs ...saga.Definition) *saga.Registry {
	tb.Helper()
	reg := saga.NewRegistry()
	for _, d := range defs {
		require.NoError(tb, reg.Register(d))
	}
	return reg
}

// waitFinal waits until the saga is in a final state and returns it.
func waitFinal(tb testing.TB, o *saga.Orchestrator, id string) *saga.Instance {
	tb.Helper()
	var in *saga.Instance
	require.Eventually(tb, func() bool {
		var err error
		in, err = o.FindByID(context.Background(), id)
		require.NoError(tb, err)
		return in.State.Final()
	}, 30*time.Second, 5*time.Millisecond, "saga %s never finished", id)
	return in
}

// metricValue reads a counter or gauge of the registry for one saga name.
func metricValue(tb testing.TB, met *metrics.Registry, name, sagaName string) float64 {
	tb.Helper()
	families, err := met.Gather()
	require.NoError(tb, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "saga" && lp.GetValue() == sagaName {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// Polling bounds for require.Eventually.
const (
	waitFor = 30 * time.Second
	tick    = 2 * time.Millisecond
)
