package saga_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/saga"
)

// crashDefinitions are a saga that completes and one whose third step
// fails, each also with transactional steps (TxAction, TxCompensate).
func crashDefinitions(l *ledger) []saga.Definition {
	return []saga.Definition{
		{Name: "crash.ok", Version: 1, Steps: []saga.Step{l.step("a"), l.step("b"), l.step("c")}},
		{Name: "crash.fail", Version: 1, Steps: []saga.Step{l.step("a"), l.step("b"), l.failing("c")}},
		{Name: "crash.tx", Version: 1, Steps: []saga.Step{l.txStep("a"), l.step("b"), l.txStep("c")}},
		{Name: "crash.txfail", Version: 1, Steps: []saga.Step{l.txStep("a"), l.txStep("b"), l.txFailing("c")}},
	}
}

// sitesOf runs a saga once and lists every failpoint site it passes.
func sitesOf(t *testing.T, db *database.DB, reg *saga.Registry, name string) []saga.Site {
	t.Helper()
	var mu sync.Mutex
	var sites []saga.Site
	o := newOrchestrator(t, db, reg, "survey", func(opt *saga.Options) {
		opt.Failpoint = func(s saga.Site) error {
			mu.Lock()
			defer mu.Unlock()
			sites = append(sites, s)
			return nil
		}
	})
	_, _ = o.Start(context.Background(), name, nil)
	mu.Lock()
	defer mu.Unlock()
	return sites
}

func TestCrashAtEveryBoundary(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		l := newLedger(t, db)
		reg := registry(t, crashDefinitions(l)...)
		completed := map[string]int{"a:do": 1, "b:do": 1, "c:do": 1}
		compensated := map[string]int{"a:do": 1, "b:do": 1, "a:undo": 1, "b:undo": 1}
		cases := []struct {
			saga    string
			final   saga.State
			effects map[string]int
			sites   int
			// finishedAt is the site past the save that completes the saga
			// (the last step's success, completion and lease release are
			// one commit): a crash there leaves nothing to resume.
			finishedAt string
		}{
			{"crash.ok", saga.Completed, completed, 9, "crash.ok:c:action:saved"},
			{"crash.fail", saga.Compensated, compensated, 15, ""},
			{"crash.tx", saga.Completed, completed, 9, "crash.tx:c:action:saved"},
			{"crash.txfail", saga.Compensated, compensated, 15, ""},
		}
		for _, c := range cases {
			sites := sitesOf(t, db, reg, c.saga)
			require.Len(t, sites, c.sites, "before, after and saved around every action and compensation")
			for _, site := range sites {
				t.Run(site.String(), func(t *testing.T) {
					crashed := newOrchestrator(t, db, reg, "crashed", func(opt *saga.Options) {
						opt.Failpoint = func(s saga.Site) error {
							if s.String() == site.String() {
								return saga.ErrCrash
							}
							return nil
						}
					})
					id, err := crashed.Start(context.Background(), c.saga, nil)
					require.ErrorIs(t, err, saga.ErrInterrupted)
					in, err := crashed.FindByID(context.Background(), id)
					require.NoError(t, err)
					if site.String() == c.finishedAt {
						assert.Equal(t, c.final, in.State)
						assert.Empty(t, in.LeaseOwner, "the lease was released with the last save")
						n, err := newOrchestrator(t, db, reg, "survivor", func(opt *saga.Options) { opt.Now = later }).
							Resume(context.Background())
						require.NoError(t, err)
						assert.Zero(t, n, "a finished saga is not resumed")
						assert.Equal(t, c.effects, l.effects(t, id), "each side effect happened exactly once")
						return
					}
					require.False(t, in.State.Final(), "the crash leaves the saga unfinished")
					assert.Equal(t, "crashed", in.LeaseOwner, "a dead driver does not release its lease")

					survivor := newOrchestrator(t, db, reg, "survivor", func(opt *saga.Options) { opt.Now = later })
					n, err := survivor.Resume(context.Background())
					require.NoError(t, err)
					assert.Equal(t, 1, n)
					in = waitFinal(t, survivor, id)
					assert.Equal(t, c.final, in.State, "last error: %s", in.LastError)
					assert.Equal(t, c.effects, l.effects(t, id), "each side effect happened exactly once")
				})
			}
		}
	})
}

func TestResumeLease(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		l := newLedger(t, db)
		reg := registry(t, crashDefinitions(l)...)
		ctx := context.Background()
		crashed := newOrchestrator(t, db, reg, "crashed", func(opt *saga.Options) {
			opt.Failpoint = func(s saga.Site) error {
				if s.Step == "a" && s.Boundary == saga.BoundaryBefore {
					return saga.ErrCrash
				}
				return nil
			}
		})
		id, err := crashed.Start(ctx, "crash.ok", nil)
		require.ErrorIs(t, err, saga.ErrInterrupted)

		t.Run("is_not_resumed_by_another_replica_before_the_lease_expires", func(t *testing.T) {
			early := newOrchestrator(t, db, reg, "early")
			n, err := early.Resume(ctx)
			require.NoError(t, err)
			assert.Zero(t, n)
		})

		t.Run("is_driven_by_only_one_of_two_racing_replicas", func(t *testing.T) {
			l.gate = make(chan struct{})
			b := newOrchestrator(t, db, reg, "b", func(opt *saga.Options) { opt.Now = later })
			c := newOrchestrator(t, db, reg, "c", func(opt *saga.Options) { opt.Now = later })
			var wg sync.WaitGroup
			for _, o := range []*saga.Orchestrator{b, c, b, c} {
				wg.Go(func() {
					_, err := o.Resume(ctx)
					assert.NoError(t, err)
				})
			}
			wg.Wait()
			require.Eventually(t, func() bool { return l.callsOf(id, "a", saga.PhaseAction) > 0 },
				waitFor, tick, "one replica runs step a")
			// Both replicas try again while the winner is inside step a.
			for _, o := range []*saga.Orchestrator{b, c} {
				_, err := o.Resume(ctx)
				require.NoError(t, err)
			}
			close(l.gate)
			in := waitFinal(t, b, id)
			assert.Equal(t, saga.Completed, in.State)
			for _, step := range []string{"a", "b", "c"} {
				assert.Equal(t, 1, l.callsOf(id, step, saga.PhaseAction), "step %s ran once", step)
			}
			assert.Equal(t, map[string]int{"a:do": 1, "b:do": 1, "c:do": 1}, l.effects(t, id))
		})
	})
}

func TestUnknownVersion(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		l := newLedger(t, db)
		ctx := context.Background()
		v1 := saga.Definition{Name: "versioned", Version: 1, Steps: []saga.Step{l.step("a")}}
		crashed := newOrchestrator(t, db, registry(t, v1), "old", func(opt *saga.Options) {
			opt.Failpoint = func(saga.Site) error { return saga.ErrCrash }
		})
		id, err := crashed.Start(ctx, "versioned", nil)
		require.ErrorIs(t, err, saga.ErrInterrupted)

		v2 := v1
		v2.Version = 2
		upgraded := newOrchestrator(t, db, registry(t, v2), "new", func(opt *saga.Options) { opt.Now = later })
		_, err = upgraded.Resume(ctx)
		require.NoError(t, err)
		in := waitFinal(t, upgraded, id)
		assert.Equal(t, saga.NeedsAttention, in.State)
		assert.Equal(t, 1, in.Version)
		assert.Contains(t, in.LastError, "versioned version 1 is not registered")
		assert.Zero(t, l.callsOf(id, "a", saga.PhaseAction), "no step of another version runs")
	})
}
