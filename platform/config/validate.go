package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Validate checks every setting and names the key of the first bad ones.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s (%s): %s", key, EnvName(key), fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir", "must not be empty")
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		bad("http.addr", "must be host:port or :port, got %q", c.HTTP.Addr)
	}
	positive := map[string]time.Duration{
		"http.shutdown_timeout":        c.HTTP.ShutdownTimeout,
		"http.read_timeout":            c.HTTP.ReadTimeout,
		"http.write_timeout":           c.HTTP.WriteTimeout,
		"http.idle_timeout":            c.HTTP.IdleTimeout,
		"database.sqlite.busy_timeout": c.Database.SQLite.BusyTimeout,
		"auth.session_ttl":             c.Auth.SessionTTL,
		"auth.password_max_age":        c.Auth.PasswordMaxAge,
		"auth.login_window":            c.Auth.LoginWindow,
	}
	for _, key := range Keys() {
		if d, ok := positive[key]; ok && d <= 0 {
			bad(key, "must be a positive duration")
		}
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		bad("http.max_body_bytes", "must be at least 1024")
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.FlushInterval < 0 || c.Log.FlushInterval > 10*time.Second {
		bad("log.flush_interval", "must be between 0 (write every line at once) and 10s")
	}
	if !oneOf(c.Log.Format, "json", "text") {
		bad("log.format", "must be json or text, got %q", c.Log.Format)
	}
	c.validateDatabase(bad)
	switch c.Activity.Store {
	case "sql":
	case "mongo":
		if c.Mongo.URI == "" {
			bad("mongo.uri", "is required when activity.store is mongo")
		}
	default:
		bad("activity.store", "must be sql or mongo, got %q", c.Activity.Store)
	}
	if c.Activity.MaxSamples < 1 {
		bad("activity.max_samples", "must be at least 1")
	}
	if c.Activity.MaxBodyBytes < 1024 {
		bad("activity.max_body_bytes", "must be at least 1024")
	}
	if c.Groups.Grace < time.Second || c.Groups.Grace > 10*time.Minute {
		bad("groups.grace", "must be 1s to 10m")
	}
	if c.Groups.MinWorkout < 0 || c.Groups.MinWorkout > 24*time.Hour {
		bad("groups.min_workout", "must be 0 to 24h")
	}
	if d := c.ETL.Warehouse.Driver; d != "sqlite" && d != "postgres" {
		bad("etl.warehouse.driver", "must be sqlite or postgres")
	}
	if c.ETL.Warehouse.Driver == "postgres" && c.ETL.Warehouse.DSN == "" {
		bad("etl.warehouse.dsn", "is required with the postgres driver")
	}
	if k := c.ETL.PseudonymKey; k != "" && len(k) < 32 {
		bad("etl.pseudonym_key", "must be at least 32 characters")
	}
	if c.ETL.Batch < 1 || c.ETL.Batch > 10_000 {
		bad("etl.batch", "must be 1 to 10000")
	}
	if c.ETL.Lag < 0 || c.ETL.Lag > 24*time.Hour {
		bad("etl.lag", "must be 0 to 24h")
	}
	if c.ETL.MaxRun < time.Minute {
		bad("etl.max_run", "must be at least 1m")
	}
	if c.Mongo.Timeout <= 0 {
		bad("mongo.timeout", "must be a positive duration")
	}
	if c.Mongo.BreakerFailures < 1 {
		bad("mongo.breaker_failures", "must be at least 1")
	}
	if c.Mongo.BreakerCooldown <= 0 {
		bad("mongo.breaker_cooldown", "must be a positive duration")
	}
	c.validateRuntime(bad)
	if c.Auth.SigningKey != "" && len(c.Auth.SigningKey) < 32 {
		bad("auth.signing_key", "must be at least 32 characters (or empty to generate one)")
	}
	if c.Auth.LoginMaxFailures < 1 {
		bad("auth.login_max_failures", "must be at least 1")
	}
	return errors.Join(errs...)
}

func (c *Config) validateDatabase(bad func(key, format string, args ...any)) {
	db := c.Database
	switch db.Driver {
	case "sqlite":
		if !oneOf(strings.ToUpper(db.SQLite.Synchronous), "FULL", "NORMAL", "EXTRA") {
			bad("database.sqlite.synchronous", "must be FULL, EXTRA or NORMAL, got %q", db.SQLite.Synchronous)
		}
		if db.SQLite.Readers < 0 {
			bad("database.sqlite.readers", "must be 0 (one per CPU) or more")
		}
		if db.SQLite.GroupCommitMax < 1 {
			bad("database.sqlite.group_commit_max", "must be at least 1")
		}
		if d := db.SQLite.CheckpointInterval; d < 0 || d > 0 && d < 10*time.Millisecond {
			bad("database.sqlite.checkpoint_interval", "must be 0 (the writer checkpoints) or at least 10ms")
		}
	case "postgres":
		if db.DSN == "" {
			bad("database.dsn", "is required when database.driver is postgres")
		}
		if db.Postgres.MaxOpenConns < 1 {
			bad("database.postgres.max_open_conns", "must be at least 1")
		}
	default:
		bad("database.driver", "must be sqlite or postgres, got %q", db.Driver)
	}
}

func oneOf(s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

func (c *Config) validateRuntime(bad func(key, format string, args ...any)) {
	r := c.Redis
	switch r.Mode {
	case "":
	case "single", "cluster", "ring":
		if len(r.Addrs) == 0 {
			bad("redis.addrs", "is required when redis.mode is %s", r.Mode)
		}
		if r.Mode == "single" && len(r.Addrs) > 1 {
			bad("redis.addrs", "must hold one address in single mode (use ring or cluster for more)")
		}
	case "sentinel":
		if len(r.Addrs) == 0 || r.MasterName == "" {
			bad("redis.master_name", "and redis.addrs (the sentinels) are required in sentinel mode")
		}
	default:
		bad("redis.mode", "must be empty, single, ring, cluster or sentinel, got %q", r.Mode)
	}
	if r.BreakerFailures < 1 {
		bad("redis.breaker_failures", "must be at least 1")
	}
	checkPairs(bad, "cron.schedules", c.Cron.Schedules, false)
	checkPairs(bad, "jobs.concurrency", c.Jobs.Concurrency, true)
	if c.Jobs.Workers < 1 {
		bad("jobs.workers", "must be at least 1")
	}
	if c.Jobs.MaxAttempts < 1 {
		bad("jobs.max_attempts", "must be at least 1")
	}
	if c.Sagas.CompensationAttempts < 1 {
		bad("sagas.compensation_attempts", "must be at least 1")
	}
	positive := map[string]time.Duration{
		"http.idempotency_ttl": c.HTTP.IdempotencyTTL, "redis.dial_timeout": r.DialTimeout,
		"redis.read_timeout": r.ReadTimeout, "redis.write_timeout": r.WriteTimeout,
		"redis.breaker_cooldown": r.BreakerCooldown, "cron.timeout": c.Cron.Timeout,
		"cron.history_retention": c.Cron.HistoryRetention, "jobs.poll_interval": c.Jobs.PollInterval,
		"jobs.lease": c.Jobs.Lease, "jobs.backoff_base": c.Jobs.BackoffBase, "jobs.backoff_max": c.Jobs.BackoffMax,
		"sagas.lease": c.Sagas.Lease, "sagas.resume_interval": c.Sagas.ResumeInterval,
		"sagas.backoff_base": c.Sagas.BackoffBase, "sagas.retention": c.Sagas.Retention,
	}
	for _, key := range Keys() {
		if d, ok := positive[key]; ok && d <= 0 {
			bad(key, "must be a positive duration")
		}
	}
}

// checkPairs validates "name=value" list items; numeric requires a positive integer value.
func checkPairs(bad func(key, format string, args ...any), key string, items []string, numeric bool) {
	for _, it := range items {
		name, val, ok := strings.Cut(it, "=")
		if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(val) == "" {
			bad(key, "items must look like name=value, got %q", it)
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(val)); numeric && (err != nil || n < 1) {
			bad(key, "%q: the value must be a positive integer", it)
		}
	}
}

// Pairs parses "name=value" list items (validated by Validate) into a map.
func Pairs(items []string) map[string]string {
	m := make(map[string]string, len(items))
	for _, it := range items {
		name, val, _ := strings.Cut(it, "=")
		m[strings.TrimSpace(name)] = strings.TrimSpace(val)
	}
	return m
}
