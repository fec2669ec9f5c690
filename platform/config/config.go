// Package config loads fitloop's settings: built-in defaults, then config.yaml
// (or the file named by --config), then FITLOOP_* environment variables (and
// FITLOOP_*_FILE for secrets), then Validate.
package config

import (
	"time"
)

// Config is every setting fitloop reads. The yaml names are the keys in
// config.yaml; the environment name of a key is FITLOOP_ plus its path in upper
// case with dots as underscores (database.dsn → FITLOOP_DATABASE_DSN).
type Config struct {
	DataDir  string   `yaml:"data_dir"`
	HTTP     HTTP     `yaml:"http"`
	Log      Log      `yaml:"log"`
	Database Database `yaml:"database"`
	Auth     Auth     `yaml:"auth"`
	Redis    Redis    `yaml:"redis"`
	Cron     Cron     `yaml:"cron"`
	Jobs     Jobs     `yaml:"jobs"`
	Sagas    Sagas    `yaml:"sagas"`
	Mongo    Mongo    `yaml:"mongo"`
	Activity Activity `yaml:"activity"`
	Groups   Groups   `yaml:"groups"`
	ETL      ETL      `yaml:"etl"`
}

// ETL configures the reporting warehouse and its loads (the etl.load cron
// job; its schedule is set like any job's, in cron.schedules).
type ETL struct {
	Warehouse Warehouse `yaml:"warehouse"`
	// PseudonymKey keys the pseudonyms users have in the warehouse; empty:
	// a key generated once in data_dir (set it when running several
	// replicas; changing it needs a full load).
	PseudonymKey string `yaml:"pseudonym_key" secret:"true"`
	// Batch is how many changes a load reads and writes per transaction.
	Batch int `yaml:"batch"`
	// Lag is how far before its last position a load reads each feed
	// again, for changes committed late.
	Lag time.Duration `yaml:"lag"`
	// MaxRun is how long a load may run before the next one takes it for
	// abandoned.
	MaxRun time.Duration `yaml:"max_run"`
}

// Warehouse is where the warehouse lives.
type Warehouse struct {
	Driver string `yaml:"driver"`            // sqlite (default) or postgres
	DSN    string `yaml:"dsn" secret:"true"` // sqlite: a file (default data_dir/warehouse.db); postgres: a URL
}

// Groups configures live group sessions.
type Groups struct {
	// Grace is how long a participant whose connection dropped has to come
	// back before they have left, and an empty session before it ends.
	Grace time.Duration `yaml:"grace"`
	// MinWorkout is the least time present in a session that earns a
	// workout when it ends (0: every participant).
	MinWorkout time.Duration `yaml:"min_workout"`
}

// Mongo configures the optional MongoDB (a replica set in production) that
// can hold the activity module's workouts and samples.
type Mongo struct {
	URI      string `yaml:"uri" secret:"true"` // mongodb://host1,host2/?replicaSet=rs0
	Database string `yaml:"database"`
	// Timeout bounds connecting and each operation that has no deadline.
	Timeout time.Duration `yaml:"timeout"`
	// The circuit breaker opens after BreakerFailures consecutive calls
	// that failed because MongoDB is unhealthy and tries again after
	// BreakerCooldown.
	BreakerFailures int           `yaml:"breaker_failures"`
	BreakerCooldown time.Duration `yaml:"breaker_cooldown"`
}

// Activity configures the activity module.
type Activity struct {
	// Store is where workouts and samples live: sql (the main database) or
	// mongo (mongo.uri).
	Store string `yaml:"store"`
	// MaxSamples is the most samples one POST /metrics request may carry.
	MaxSamples int `yaml:"max_samples"`
	// MaxBodyBytes bounds a metric batch's body (larger than http.max_body_bytes:
	// 10,000 samples are about 1.2 MB of JSON).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Redis configures the optional Redis used for the cache, the bus between
// replicas and shared rate limits. An empty mode means no Redis: in-process
// cache and bus (one replica).
type Redis struct {
	Mode         string        `yaml:"mode"` // "", single, ring, cluster, sentinel
	Addrs        []string      `yaml:"addrs"`
	MasterName   string        `yaml:"master_name"`
	Username     string        `yaml:"username"`
	Password     string        `yaml:"password" secret:"true"`
	DB           int           `yaml:"db"`
	DialTimeout  time.Duration `yaml:"dial_timeout"`
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// The circuit breaker opens after BreakerFailures consecutive failures
	// and tries again after BreakerCooldown.
	BreakerFailures int           `yaml:"breaker_failures"`
	BreakerCooldown time.Duration `yaml:"breaker_cooldown"`
}

// Cron configures scheduled jobs.
type Cron struct {
	Enabled bool `yaml:"enabled"`
	// Disabled lists job names that must not run.
	Disabled []string `yaml:"disabled"`
	// Schedules overrides schedules: "name=spec" items, e.g. "etl.load=@every 30m".
	Schedules []string `yaml:"schedules"`
	// Timeout bounds one run of any job.
	Timeout time.Duration `yaml:"timeout"`
	// HistoryRetention is how long run history and slot claims are kept.
	HistoryRetention time.Duration `yaml:"history_retention"`
}

// Jobs configures the durable job queue.
type Jobs struct {
	Enabled bool `yaml:"enabled"`
	// Workers is the default number of concurrent jobs per kind.
	Workers int `yaml:"workers"`
	// Concurrency overrides it per kind: "kind=n" items, e.g. "media.process=2".
	Concurrency  []string      `yaml:"concurrency"`
	PollInterval time.Duration `yaml:"poll_interval"`
	Lease        time.Duration `yaml:"lease"`
	MaxAttempts  int           `yaml:"max_attempts"`
	BackoffBase  time.Duration `yaml:"backoff_base"`
	BackoffMax   time.Duration `yaml:"backoff_max"`
}

// Sagas configures the saga orchestrator.
type Sagas struct {
	// Lease is how long one replica owns a running saga before another may resume it.
	Lease time.Duration `yaml:"lease"`
	// ResumeInterval is how often unfinished sagas are looked for.
	ResumeInterval time.Duration `yaml:"resume_interval"`
	// CompensationAttempts is how often a failing compensation is retried
	// before the saga is parked as needs_attention.
	CompensationAttempts int           `yaml:"compensation_attempts"`
	BackoffBase          time.Duration `yaml:"backoff_base"`
	// Retention is how long finished sagas and their logs are kept.
	Retention time.Duration `yaml:"retention"`
}

// HTTP configures the listener and request handling.
type HTTP struct {
	Addr            string        `yaml:"addr"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	ReadTimeout     time.Duration `yaml:"read_timeout"`
	WriteTimeout    time.Duration `yaml:"write_timeout"`
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	MaxBodyBytes    int64         `yaml:"max_body_bytes"`
	// IdempotencyTTL is how long an Idempotency-Key and its stored answer are kept.
	IdempotencyTTL time.Duration `yaml:"idempotency_ttl"`
	CORSOrigins    []string      `yaml:"cors_origins"`
	TrustedProxies []string      `yaml:"trusted_proxies"`
	AccessLog      bool          `yaml:"access_log"`
}

// Log configures the process logger.
type Log struct {
	Level         string        `yaml:"level"`
	Format        string        `yaml:"format"`
	FlushInterval time.Duration `yaml:"flush_interval"`
}

// Database selects and tunes the operational database.
type Database struct {
	Driver   string   `yaml:"driver"`
	DSN      string   `yaml:"dsn" secret:"true"`
	SQLite   SQLite   `yaml:"sqlite"`
	Postgres Postgres `yaml:"postgres"`
}

// SQLite tunes the SQLite backend.
type SQLite struct {
	Synchronous    string        `yaml:"synchronous"`
	BusyTimeout    time.Duration `yaml:"busy_timeout"`
	Readers        int           `yaml:"readers"`
	GroupCommitMax int           `yaml:"group_commit_max"`
	// CheckpointInterval is how often a background connection copies the
	// WAL into the database file; 0 leaves it to the writer (every 4 MB).
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
}

// Postgres tunes the PostgreSQL backend.
type Postgres struct {
	MaxOpenConns    int           `yaml:"max_open_conns"`
	MaxIdleConns    int           `yaml:"max_idle_conns"`
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime"`
	Replicas        []string      `yaml:"replicas" secret:"true"`
}

// Auth configures passwords, tokens and sessions.
type Auth struct {
	SigningKey       string        `yaml:"signing_key" secret:"true"`
	Issuer           string        `yaml:"issuer"`
	Audience         string        `yaml:"audience"`
	SessionTTL       time.Duration `yaml:"session_ttl"`
	PasswordMaxAge   time.Duration `yaml:"password_max_age"`
	LoginMaxFailures int           `yaml:"login_max_failures"`
	LoginWindow      time.Duration `yaml:"login_window"`
}

// Default returns the settings used when nothing overrides them: SQLite under
// ./data, listening on :8080.
func Default() Config {
	return Config{
		DataDir: "./data",
		HTTP: HTTP{
			Addr:            ":8080",
			ShutdownTimeout: 15 * time.Second,
			ReadTimeout:     30 * time.Second,
			WriteTimeout:    60 * time.Second,
			IdleTimeout:     120 * time.Second,
			MaxBodyBytes:    1 << 20,
			IdempotencyTTL:  24 * time.Hour,
			AccessLog:       true,
		},
		Log: Log{Level: "info", Format: "json", FlushInterval: 200 * time.Millisecond},
		Database: Database{
			Driver: "sqlite",
			SQLite: SQLite{Synchronous: "FULL", BusyTimeout: 5 * time.Second, Readers: 0, GroupCommitMax: 256,
				CheckpointInterval: 200 * time.Millisecond},
			Postgres: Postgres{
				MaxOpenConns: 20, MaxIdleConns: 10, ConnMaxLifetime: 30 * time.Minute,
			},
		},
		Redis: Redis{
			DialTimeout: 2 * time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
			BreakerFailures: 5, BreakerCooldown: 5 * time.Second,
		},
		Cron: Cron{Enabled: true, Timeout: 10 * time.Minute, HistoryRetention: 30 * 24 * time.Hour},
		Jobs: Jobs{
			Enabled: true, Workers: 2, PollInterval: time.Second, Lease: 5 * time.Minute,
			MaxAttempts: 8, BackoffBase: 2 * time.Second, BackoffMax: 30 * time.Minute,
		},
		Mongo: Mongo{Database: "fitloop", Timeout: 10 * time.Second,
			BreakerFailures: 5, BreakerCooldown: 5 * time.Second},
		Activity: Activity{Store: "sql", MaxSamples: 10_000, MaxBodyBytes: 4 << 20},
		Groups:   Groups{Grace: 30 * time.Second, MinWorkout: time.Minute},
		ETL:      ETL{Warehouse: Warehouse{Driver: "sqlite"}, Batch: 5000, Lag: 5 * time.Minute, MaxRun: time.Hour},
		Sagas: Sagas{Lease: 30 * time.Second, ResumeInterval: 15 * time.Second, CompensationAttempts: 5,
			BackoffBase: time.Second, Retention: 30 * 24 * time.Hour},
		Auth: Auth{
			Issuer:           "fitloop",
			Audience:         "fitloop-api",
			SessionTTL:       7 * 24 * time.Hour,
			PasswordMaxAge:   90 * 24 * time.Hour,
			LoginMaxFailures: 10,
			LoginWindow:      15 * time.Minute,
		},
	}
}
