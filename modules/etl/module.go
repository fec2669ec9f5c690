package etl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/breaker"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/cron"
	"github.com/fitloop/fitloop/platform/database"
)

// LoadJob is the cron job that loads the warehouse, hourly by default.
const LoadJob = "etl.load"

// PseudonymKeyFile is where a generated pseudonym key is kept in the data
// directory.
const PseudonymKeyFile = "pseudonym.key"

// Deps is what the module needs.
type Deps struct {
	DB      *database.DB // the operational database: etl_runs
	Config  config.ETL
	DataDir string
	Feeds   Feeds   // all five
	Members Members // the leaderboard's names
	Log     *slog.Logger
	Replica string                // this process, in the runs it records
	Metrics prometheus.Registerer // the warehouse breaker's metrics; nil: none
}

// serverPace is how long a load in the server pauses after each batch (and
// the read of the next page), in times they took: on a small machine a
// load at full speed starves the API (p99 of a workout list ×15 on 2
// cores). Reading and writing in turn, paced 3, a full load keeps it
// within ×1.9 of idle (2: ×2.1 at worst; docs/BENCHMARKS.md).
const serverPace = 3

// Breaker settings: the warehouse is called a few times a load (and by
// the analytics routes), so few failures open it.
const (
	breakerFailures = 3
	breakerCooldown = 30 * time.Second
)

// Module is the ETL module: the warehouse, its loader and its runs.
type Module struct {
	wh        *database.DB
	loader    *Loader
	runner    *Runner
	analytics *Analytics
	log       *slog.Logger
}

// New opens (and migrates) the warehouse and readies the loader.
func New(ctx context.Context, d Deps) (*Module, error) {
	f := d.Feeds
	if d.DB == nil || d.Log == nil || d.Members == nil || f.Users == nil || f.Goals == nil || f.Workouts == nil || f.Metrics == nil || f.Sessions == nil {
		return nil, errors.New("etl: New needs DB, Log, Members and every feed")
	}
	key := []byte(d.Config.PseudonymKey)
	if len(key) == 0 {
		var created bool
		var err error
		if key, created, err = auth.LoadOrCreateKeyFile(d.DataDir, PseudonymKeyFile); err != nil {
			return nil, fmt.Errorf("etl: pseudonym key: %w", err)
		}
		if created {
			d.Log.Warn("generated the warehouse's pseudonym key; set etl.pseudonym_key when running several replicas",
				slog.String("file", filepath.Join(d.DataDir, PseudonymKeyFile)))
		}
	}
	cfg := config.Default().Database
	cfg.Driver, cfg.DSN = d.Config.Warehouse.Driver, d.Config.Warehouse.DSN
	wh, err := OpenWarehouse(ctx, cfg, d.DataDir, d.Log)
	if err != nil {
		return nil, err
	}
	lag := d.Config.Lag
	if lag == 0 {
		lag = -1 // configured: no lag window (0 means the default to NewLoader)
	}
	b := breaker.New("warehouse", breakerFailures, breakerCooldown, breaker.Options{Backend: "warehouse"})
	if d.Metrics != nil {
		if err := b.Register(d.Metrics); err != nil {
			_ = wh.Close()
			return nil, fmt.Errorf("etl: register the warehouse breaker's metrics: %w", err)
		}
	}
	// Loads in the server (cron, admin) leave the API its share of the CPU;
	// `fitloop etl run` (Command) goes at full speed.
	loader, err := NewLoader(LoaderDeps{Warehouse: wh, Breaker: b, Feeds: d.Feeds,
		PseudonymKey: key, Batch: d.Config.Batch, Lag: lag, Pace: serverPace})
	if err != nil {
		_ = wh.Close()
		return nil, err
	}
	return &Module{wh: wh, loader: loader, runner: NewRunner(d.DB, loader, d.Replica, d.Config.MaxRun, d.Log),
		analytics: NewAnalytics(loader, d.Members, d.Log), log: d.Log}, nil
}

// Load is the cron job etl.load: an incremental load; a load already
// running (started by an admin or another replica's slot) is not a
// failure.
func (m *Module) Load() cron.Job {
	return cron.Job{Name: LoadJob, Schedule: "@hourly", Timeout: 55 * time.Minute, Run: func(ctx context.Context) error {
		_, err := m.runner.Run(ctx, TriggerCron, false)
		if errors.Is(err, ErrRunning) {
			m.log.InfoContext(ctx, "etl: a load is running already; this slot is skipped")
			return nil
		}
		return err
	}}
}

// RegisterRoutes adds the analytics routes for users
// (Analytics.RegisterRoutes).
func (m *Module) RegisterRoutes(rg *gin.RouterGroup, authn auth.Authenticator) {
	m.analytics.RegisterRoutes(rg, authn)
}

// RegisterAdminRoutes adds the admin routes (Runner.RegisterAdminRoutes,
// Analytics.RegisterAdminRoutes).
func (m *Module) RegisterAdminRoutes(rg gin.IRoutes) {
	m.runner.RegisterAdminRoutes(rg)
	m.analytics.RegisterAdminRoutes(rg)
}

// Close stops background loads and closes the warehouse.
func (m *Module) Close() error {
	return errors.Join(m.runner.Close(), m.wh.Close())
}

// Command runs `fitloop etl run [--full]`: one load, recorded like any
// other, its counts written to out. Wrong arguments are an apperr Invalid
// with the usage.
func (m *Module) Command(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "run" || len(args) > 2 || (len(args) == 2 && args[1] != "--full") {
		return apperr.E(apperr.Invalid, "usage", "usage: fitloop etl run [--full]")
	}
	m.loader.pace = 0 // nothing else runs in this process
	run, err := m.runner.Run(ctx, TriggerCLI, len(args) == 2)
	if run != nil {
		fmt.Fprintf(out, "etl run %s %s\n", run.ID, run.Status)
		for _, t := range slices.Sorted(maps.Keys(run.Stats.Tables)) {
			fmt.Fprintf(out, "  %-20s read %d, written %d\n", t, run.Stats.Tables[t].Read, run.Stats.Tables[t].Written)
		}
	}
	return err
}
