// Command fitloop is a self-hostable fitness platform in one binary.
//
//	fitloop [--config PATH] [serve]        run the server (default)
//	fitloop migrate up|status               apply or list database migrations
//	fitloop version                         print the version
//	fitloop admin create-user --email E --username U [--password P | stdin] [--role R]
//	fitloop etl run [--full]                load the reporting warehouse now
//	fitloop dev seed --users N --days D [--seed S]   generate demo and benchmark data
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/migrations"
	"github.com/fitloop/fitloop/modules/activity"
	"github.com/fitloop/fitloop/modules/etl"
	"github.com/fitloop/fitloop/modules/groups"
	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/bus"
	"github.com/fitloop/fitloop/platform/cache"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/cron"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/httpx"
	"github.com/fitloop/fitloop/platform/idempotency"
	"github.com/fitloop/fitloop/platform/jobs"
	"github.com/fitloop/fitloop/platform/logging"
	"github.com/fitloop/fitloop/platform/metrics"
	"github.com/fitloop/fitloop/platform/mongo"
	"github.com/fitloop/fitloop/platform/realtime"
	"github.com/fitloop/fitloop/platform/redisx"
	"github.com/fitloop/fitloop/platform/saga"
	"github.com/fitloop/fitloop/platform/server"
	"github.com/fitloop/fitloop/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// stdin is where `admin create-user` reads a password; tests replace it.
var stdin io.Reader = os.Stdin

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program: it parses args, runs a subcommand and returns the
// exit code. Tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fitloop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "path to config.yaml (default ./config.yaml if present)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cmd, rest := "serve", fs.Args()
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	if cmd == "version" {
		fmt.Fprintln(stdout, "fitloop", version)
		return 0
	}
	cfg, err := config.LoadProcess(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log, closeLog := logging.New(cfg.Log, stdout)
	defer closeLog()
	slog.SetDefault(log)
	switch cmd {
	case "serve":
		err = serve(ctx, cfg, log)
	case "migrate":
		err = database.RunMigrateCommand(ctx, cfg.Database, cfg.DataDir, log, migrations.FS, rest, stdout)
	case "admin":
		err = withApp(ctx, cfg, log, func(a *app) error {
			return users.AdminCommand(ctx, a.users.Service(), rest, stdin, stdout, stderr)
		})
	case "etl":
		err = withApp(ctx, cfg, log, func(a *app) error { return a.etl.Command(ctx, rest, stdout) })
	case "dev":
		err = withApp(ctx, cfg, log, func(a *app) error { return a.seed(ctx, rest, stdout) })
	default:
		err = apperr.E(apperr.Invalid, "usage", fmt.Sprintf("unknown command %q (want serve, migrate, version, admin, etl or dev)", cmd))
	}
	if msg, ok := apperr.Describe(err); ok && cmd != "serve" { // a command's refusal: its usage
		fmt.Fprintln(stderr, msg)
		return 2
	}
	if err != nil {
		log.Error("fitloop: "+cmd+" failed", slog.String("error", err.Error()))
		fmt.Fprintln(stderr, "fitloop:", err)
		return 1
	}
	return 0
}

// app is the assembled program: the database, the modules and the router.
type app struct {
	db       *database.DB
	redis    *redisx.Redis // nil without Redis
	mongo    *mongo.Mongo  // nil unless activity.store is mongo
	cache    cache.Cache
	bus      bus.Bus
	users    *users.Module
	activity *activity.Module
	groups   *groups.Module
	etl      *etl.Module
	engine   *gin.Engine
	metrics  *metrics.Registry
	sagas    *saga.Orchestrator
	cron     *cron.Scheduler
	queue    *jobs.Queue
	hub      *realtime.Hub
}

// newApp wires the platform and the modules together. It is the only place
// that imports modules.
func newApp(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *app, err error) {
	a := &app{metrics: metrics.New()}
	defer func() {
		if err != nil { // release what was opened before the failure
			_ = a.close()
		}
	}()
	if a.db, err = database.OpenMigrated(ctx, cfg.Database, cfg.DataDir, log, migrations.FS); err != nil {
		return nil, err
	}
	signer, err := auth.SignerFromConfig(cfg.Auth, cfg.DataDir, log)
	if err != nil {
		return nil, err
	}
	if a.redis, err = redisx.Open(cfg.Redis, a.metrics); err != nil {
		return nil, err
	}
	a.cache, a.bus = cache.New(a.redis), bus.New(a.redis)
	sagaReg := saga.NewRegistry()
	a.sagas, err = saga.New(saga.Options{DB: a.db, Registry: sagaReg, Config: cfg.Sagas, Log: log,
		Metrics: a.metrics, Replica: server.ReplicaID()})
	if err != nil {
		return nil, err
	}
	if a.cron, err = cron.New(cron.Deps{Config: cfg.Cron, DB: a.db, Log: log, Metrics: a.metrics}); err != nil {
		return nil, err
	}
	if a.queue, err = jobs.New(jobs.Deps{DB: a.db, Config: cfg.Jobs, Log: log, Metrics: a.metrics}); err != nil {
		return nil, err
	}
	// The hub authenticates through the users module, built after it (the
	// module closes revoked sessions' sockets through the hub): late-bound.
	a.hub, err = realtime.New(realtime.Options{Auth: auth.AuthenticatorFunc(func(ctx context.Context, cred string) (*auth.Principal, error) {
		return a.users.Authenticator().Authenticate(ctx, cred)
	}), Bus: a.bus, Redis: a.redis.Universal(), AllowedOrigins: cfg.HTTP.CORSOrigins, Log: log, Metrics: a.metrics})
	if err != nil {
		return nil, err
	}
	idempotent := idempotency.Middleware(a.db, cfg.HTTP.IdempotencyTTL, nil)
	var store activity.Store // nil: the SQL store on a.db
	if cfg.Activity.Store == "mongo" {
		if a.mongo, err = mongo.Open(cfg.Mongo); err != nil {
			return nil, err
		}
		if store, err = activity.NewMongoStoreWithBreaker(ctx, a.mongo, a.metrics); err != nil {
			return nil, err
		}
	}
	a.activity, err = activity.New(activity.Deps{DB: a.db, Store: store, Users: usersForActivity{a}, Log: log,
		Push: a.hub, MaxSamples: cfg.Activity.MaxSamples, Idempotent: idempotent})
	if err != nil {
		return nil, err
	}
	a.groups, err = groups.New(groups.Deps{DB: a.db, Users: usersForGroups{a}, Catalog: a.activity, Log: log,
		Idempotent: idempotent, Hub: a.hub, Cache: a.cache, Workouts: usersForGroups{a}, Jobs: a.queue,
		Grace: cfg.Groups.Grace, MinWorkout: cfg.Groups.MinWorkout, Replica: server.ReplicaID()})
	if err != nil {
		return nil, err
	}
	a.users, err = users.New(users.Deps{DB: a.db, Log: log, Auth: cfg.Auth, Signer: signer, Sagas: a.sagas,
		Cache: a.cache, Sockets: a.hub, Erasers: []users.AccountEraser{a.activity, a.groups},
		Progress: activityForUsers{a.activity}, Planner: activityForUsers{a.activity},
		Failures: auth.NewCacheCounter(a.cache, cfg.Auth.LoginMaxFailures, cfg.Auth.LoginWindow), Idempotent: idempotent})
	if err != nil {
		return nil, err
	}
	if err = a.users.Sagas(sagaReg); err != nil {
		return nil, err
	}
	a.etl, err = etl.New(ctx, etl.Deps{DB: a.db, Config: cfg.ETL, DataDir: cfg.DataDir, Log: log,
		Replica: server.ReplicaID(), Metrics: a.metrics, Members: a.leaderboard, Feeds: etl.Feeds{
			Users:    feed(a.users.AccountChanges, func(c users.AccountChange) etl.UserChange { return etl.UserChange(c) }),
			Goals:    feed(a.users.GoalChanges, func(c users.GoalChange) etl.GoalChange { return etl.GoalChange(c) }),
			Workouts: feed(a.activity.WorkoutChanges, func(c activity.WorkoutChange) etl.WorkoutChange { return etl.WorkoutChange(c) }),
			Metrics:  feed(a.activity.MetricChanges, func(c activity.MetricSlotChange) etl.MetricChange { return etl.MetricChange(c) }),
			Sessions: feed(a.groups.SessionChanges, sessionForETL)}})
	if err != nil {
		return nil, err
	}
	if err = a.cron.Register(idempotency.CleanupJob(a.db), jobs.CleanupJob(a.db), saga.CleanupJob(a.db, cfg.Sagas.Retention),
		a.activity.GoalAlerts(), a.groups.EndDue(), a.etl.Load()); err != nil {
		return nil, err
	}
	a.routes(cfg, log)
	return a, nil
}

// routes builds the engine: health, metrics, docs, the modules' routes and
// the platform's admin routes.
func (a *app) routes(cfg config.Config, log *slog.Logger) {
	a.metrics.RegisterDBStats(a.db.Stats)
	a.engine = httpx.NewEngine(log, httpx.Options{
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes, CORSOrigins: cfg.HTTP.CORSOrigins,
		TrustedProxies: cfg.HTTP.TrustedProxies, AccessLog: cfg.HTTP.AccessLog, Observe: a.metrics.Observe,
		BodyLimits: map[string]int64{"POST /api/v1" + activity.MetricsRoute: cfg.Activity.MaxBodyBytes},
	})
	fsys, _ := migrations.FS(a.db.Dialect())
	required := map[string]server.Check{
		"database":   a.db.Ping,
		"migrations": a.db.PendingCheck(fsys),
	}
	if a.mongo != nil {
		required["mongo"] = a.mongo.Ping
	}
	optional := map[string]server.Check{}
	if a.redis != nil {
		optional["redis"] = a.redis.Check // behind its breaker the API keeps answering
	}
	server.RegisterHealth(a.engine, required, optional)
	a.engine.GET("/metrics", gin.WrapH(a.metrics.Handler()))
	web.Register(a.engine)
	api := a.engine.Group("/api/v1")
	a.users.RegisterRoutes(api)
	a.activity.RegisterRoutes(api, a.users.Authenticator())
	a.groups.RegisterRoutes(api, a.users.Authenticator())
	a.etl.RegisterRoutes(api, a.users.Authenticator())
	api.GET("/ws", a.hub.Handler()) // authenticates at upgrade itself
	admin := api.Group("/admin", auth.Require(a.users.Authenticator(), auth.Options{}), auth.RequireRole(auth.RoleAdmin))
	a.cron.RegisterAdminRoutes(admin)
	a.queue.RegisterAdminRoutes(admin)
	a.sagas.RegisterAdminRoutes(admin)
	a.etl.RegisterAdminRoutes(admin)
}

// usersForActivity gives the activity module what it reads about users.
type usersForActivity struct{ a *app }

func (u usersForActivity) Basics(ctx context.Context, userID string) (*activity.UserBasics, error) {
	b, err := u.a.users.Service().Basics(ctx, userID)
	if err != nil {
		return nil, err
	}
	return &activity.UserBasics{UserID: b.UserID, Timezone: b.Timezone, WeightKG: b.WeightKG,
		Quiet: activity.ParseQuietHours(b.QuietStart, b.QuietEnd)}, nil
}

func (u usersForActivity) ActiveGoals(ctx context.Context, q activity.GoalQuery) ([]activity.GoalSpec, error) {
	goals, err := u.a.users.Service().ActiveGoals(ctx, users.ActiveGoalQuery{UserID: q.UserID, After: q.After, Limit: q.Limit})
	return convert(goals, func(g users.ActiveGoal) activity.GoalSpec {
		return activity.GoalSpec{GoalID: g.GoalID, UserID: g.UserID, GoalType: g.GoalType, Period: g.Period,
			TargetValue: g.TargetValue, TargetDate: g.TargetDate, CreatedAt: g.CreatedAt}
	}), err
}

// usersForGroups tells groups which accounts are live and records workouts.
type usersForGroups struct{ a *app }

func (u usersForGroups) Exists(ctx context.Context, userID string) error {
	_, err := u.a.users.Service().Basics(ctx, userID)
	return err
}

// RecordGroupWorkout hands an ended session's workout to the activity module.
func (u usersForGroups) RecordGroupWorkout(ctx context.Context, w groups.WorkoutRecord) error {
	_, err := u.a.activity.RecordGroupWorkout(ctx, activity.GroupWorkout(w))
	return err
}

// activityForUsers measures goals and plans them for the users module.
type activityForUsers struct{ m *activity.Module }

func (a activityForUsers) CurrentProgress(ctx context.Context, userID string, g users.GoalSpec) (users.Progress, error) {
	p, err := a.m.GoalProgress(ctx, activity.GoalSpec{GoalID: g.GoalID, UserID: userID, GoalType: g.GoalType,
		Period: g.Period, TargetValue: g.TargetValue, TargetDate: g.TargetDate, CreatedAt: g.CreatedAt,
		Timezone: g.Timezone, Quiet: activity.ParseQuietHours(g.QuietStart, g.QuietEnd)})
	return users.Progress{Current: p.Current, Expected: p.Expected, ProjectedDate: p.ProjectedDate, OnTrack: p.OnTrack}, err
}

func (a activityForUsers) GoalSet(ctx context.Context, key string, g users.PlannedGoal) error {
	return a.m.GoalSet(ctx, key, activity.PlannedGoal{GoalID: g.GoalID, UserID: g.UserID, GoalType: g.GoalType,
		Period: g.Period, TargetValue: g.TargetValue})
}

// feed adapts a module's change feed to the warehouse loader's.
func feed[T interface{ Cursor() etl.Cursor }, U any](f func(context.Context, etl.Cursor, int) ([]T, error), conv func(T) U) etl.Feed[U] {
	return func(ctx context.Context, after etl.Cursor, limit int) ([]U, etl.Cursor, error) {
		cs, err := f(ctx, after, limit)
		if err != nil || len(cs) == 0 {
			return nil, etl.Cursor{}, err
		}
		return convert(cs, conv), cs[len(cs)-1].Cursor(), nil
	}
}

func sessionForETL(c groups.SessionChange) etl.SessionChange {
	return etl.SessionChange{SessionID: c.SessionID, WorkoutType: c.WorkoutType, StartedAt: c.StartedAt, EndedAt: c.EndedAt,
		Attendees: convert(c.Attendees, func(a groups.Attendance) etl.Attendance { return etl.Attendance(a) }),
		ChangedAt: c.ChangedAt, Deleted: c.Deleted}
}

// leaderboard names the warehouse leaderboard's members.
func (a *app) leaderboard(ctx context.Context) ([]etl.Member, error) {
	ms, err := a.users.LeaderboardMembers(ctx)
	return convert(ms, func(m users.LeaderboardMember) etl.Member { return etl.Member(m) }), err
}

// seed is `fitloop dev seed`: accounts and goals, then their activity.
func (a *app) seed(ctx context.Context, args []string, out io.Writer) error {
	opts, err := users.SeedArgs(args)
	if err != nil {
		return err
	}
	people, err := a.users.Seed(ctx, opts)
	if err != nil {
		return err
	}
	st, err := a.activity.Seed(ctx, convert(people, func(u users.SeededUser) activity.SeedUser { return activity.SeedUser(u) }),
		activity.SeedOptions{Days: opts.Days, Rand: opts.Rand, Now: opts.Now})
	fmt.Fprintf(out, "seeded %d users (password %q), %d workouts, %d samples\n", len(people), users.SeedPassword, st.Workouts, st.Samples)
	return err
}

// convert maps a slice from one module's type to another's.
func convert[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// close releases what newApp opened, in reverse order.
func (a *app) close() error {
	var errs []error
	closeIf := func(open bool, close func() error) {
		if open {
			errs = append(errs, close())
		}
	}
	closeIf(a.activity != nil, a.activity.Close)
	closeIf(a.groups != nil, a.groups.Close)
	closeIf(a.etl != nil, a.etl.Close)
	closeIf(a.hub != nil, a.hub.Close)
	closeIf(a.bus != nil, func() error { return a.bus.Close() })
	closeIf(a.redis != nil, func() error { return a.redis.Close() })
	closeIf(a.mongo != nil, func() error { return a.mongo.Close(context.Background()) })
	closeIf(a.db != nil, func() error { return a.db.Close() })
	return errors.Join(errs...)
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("fitloop starting", slog.String("version", version), slog.String("database", a.db.Dialect()))
	workers := []server.Worker{{Start: a.cron.Start, Stop: a.cron.Stop}}
	if cfg.Jobs.Enabled {
		workers = append(workers, server.Worker{Start: a.queue.Start, Stop: a.queue.Stop})
	}
	// Sagas run in the background (resuming unfinished ones) until the HTTP
	// server has drained; the stores close after everything has stopped.
	err = server.Run(ctx, cfg.HTTP, a.engine, log, func(ctx context.Context) error { return a.sagas.Run(ctx) }, workers...)
	return errors.Join(err, a.close())
}

// withApp runs a command on the assembled program.
func withApp(ctx context.Context, cfg config.Config, log *slog.Logger, fn func(*app) error) error {
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	return fn(a)
}
