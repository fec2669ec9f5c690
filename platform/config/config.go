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
}

// HTTP configures the listener and request handling.
type HTTP struct {
	Addr            string        `yaml:"addr"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	ReadTimeout     time.Duration `yaml:"read_timeout"`
	WriteTimeout    time.Duration `yaml:"write_timeout"`
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	MaxBodyBytes    int64         `yaml:"max_body_bytes"`
	CORSOrigins     []string      `yaml:"cors_origins"`
	TrustedProxies  []string      `yaml:"trusted_proxies"`
	AccessLog       bool          `yaml:"access_log"`
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
			AccessLog:       true,
		},
		Log: Log{Level: "info", Format: "json", FlushInterval: 200 * time.Millisecond},
		Database: Database{
			Driver: "sqlite",
			SQLite: SQLite{Synchronous: "FULL", BusyTimeout: 5 * time.Second, Readers: 0, GroupCommitMax: 256},
			Postgres: Postgres{
				MaxOpenConns: 20, MaxIdleConns: 10, ConnMaxLifetime: 30 * time.Minute,
			},
		},
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
