package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fitloop/fitloop/platform/config"
)

// writeFile writes content to a file in a fresh temp dir and returns its path.
func writeFile(tb testing.TB, name, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	require.NoError(tb, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// missing is a path that does not exist.
func missing(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "nope", "config.yaml")
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	t.Run("validate", func(t *testing.T) {
		cfg := config.Default()
		require.NoError(t, cfg.Validate())
	})
	t.Run("are_what_load_returns_without_file_or_env", func(t *testing.T) {
		cfg, err := config.Load(missing(t), true, nil)
		require.NoError(t, err)
		assert.Equal(t, config.Default(), cfg)
	})
	t.Run("use_sqlite_under_data_on_8080", func(t *testing.T) {
		cfg := config.Default()
		assert.Equal(t, "sqlite", cfg.Database.Driver)
		assert.Equal(t, "./data", cfg.DataDir)
		assert.Equal(t, ":8080", cfg.HTTP.Addr)
		assert.Equal(t, "FULL", cfg.Database.SQLite.Synchronous)
		assert.Empty(t, cfg.Auth.SigningKey, "an empty key makes the server generate one")
	})
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	t.Run("decodes_keys_of_every_type", func(t *testing.T) {
		path := writeFile(t, "config.yaml", `
data_dir: /var/lib/fitloop
http:
  addr: "127.0.0.1:9000"
  shutdown_timeout: 3s
  max_body_bytes: 4096
  cors_origins: [https://a.example, https://b.example]
  access_log: false
log:
  level: debug
  format: text
database:
  driver: postgres
  dsn: postgres://u@db/fitloop
  sqlite:
    readers: 2
  postgres:
    conn_max_lifetime: 1h
    replicas:
      - postgres://u@r1/fitloop
auth:
  signing_key: 0123456789abcdef0123456789abcdef
  session_ttl: 24h
  login_max_failures: 3
`)
		cfg, err := config.Load(path, false, nil)
		require.NoError(t, err)
		assert.Equal(t, "/var/lib/fitloop", cfg.DataDir)
		assert.Equal(t, "127.0.0.1:9000", cfg.HTTP.Addr)
		assert.Equal(t, 3*time.Second, cfg.HTTP.ShutdownTimeout)
		assert.Equal(t, int64(4096), cfg.HTTP.MaxBodyBytes)
		assert.Equal(t, []string{"https://a.example", "https://b.example"}, cfg.HTTP.CORSOrigins)
		assert.False(t, cfg.HTTP.AccessLog)
		assert.Equal(t, config.Log{Level: "debug", Format: "text", FlushInterval: 200 * time.Millisecond}, cfg.Log)
		assert.Equal(t, "postgres", cfg.Database.Driver)
		assert.Equal(t, "postgres://u@db/fitloop", cfg.Database.DSN)
		assert.Equal(t, 2, cfg.Database.SQLite.Readers)
		assert.Equal(t, time.Hour, cfg.Database.Postgres.ConnMaxLifetime)
		assert.Equal(t, []string{"postgres://u@r1/fitloop"}, cfg.Database.Postgres.Replicas)
		assert.Equal(t, "0123456789abcdef0123456789abcdef", cfg.Auth.SigningKey)
		assert.Equal(t, 24*time.Hour, cfg.Auth.SessionTTL)
		assert.Equal(t, 3, cfg.Auth.LoginMaxFailures)
	})
	t.Run("keeps_defaults_for_keys_it_does_not_name", func(t *testing.T) {
		path := writeFile(t, "config.yaml", "http:\n  addr: \":9999\"\n")
		cfg, err := config.Load(path, false, nil)
		require.NoError(t, err)
		want := config.Default()
		want.HTTP.Addr = ":9999"
		assert.Equal(t, want, cfg)
	})
	t.Run("rejects_an_unknown_key_naming_it", func(t *testing.T) {
		path := writeFile(t, "config.yaml", "http:\n  addr: \":1\"\n  cors_origin: [x]\n")
		_, err := config.Load(path, false, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "cors_origin")
		assert.Contains(t, err.Error(), path)
	})
	t.Run("rejects_an_unknown_top_level_key", func(t *testing.T) {
		path := writeFile(t, "config.yaml", "datadir: /x\n")
		_, err := config.Load(path, false, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "datadir")
	})
	t.Run("rejects_a_bad_duration_naming_the_file_and_line", func(t *testing.T) {
		path := writeFile(t, "config.yaml", "http:\n  read_timeout: soon\n")
		_, err := config.Load(path, false, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), path)
		assert.Contains(t, err.Error(), "line 2")
		assert.Contains(t, err.Error(), "soon")
	})
	t.Run("rejects_a_bare_number_for_a_duration", func(t *testing.T) {
		// 15 would otherwise silently mean 15 nanoseconds.
		path := writeFile(t, "config.yaml", "http:\n  shutdown_timeout: 15\n")
		_, err := config.Load(path, false, nil)
		require.Error(t, err)
	})
	t.Run("validates_values_from_the_file", func(t *testing.T) {
		path := writeFile(t, "config.yaml", "log:\n  level: loud\n")
		_, err := config.Load(path, false, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "log.level")
		assert.Contains(t, err.Error(), "FITLOOP_LOG_LEVEL")
	})
	t.Run("empty_file_gives_defaults", func(t *testing.T) {
		for _, content := range []string{"", "\n", "# only a comment\n"} {
			cfg, err := config.Load(writeFile(t, "config.yaml", content), false, nil)
			require.NoError(t, err, "content %q", content)
			assert.Equal(t, config.Default(), cfg, "content %q", content)
		}
	})
	t.Run("explicit_missing_file_is_an_error", func(t *testing.T) {
		path := missing(t)
		_, err := config.Load(path, false, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), path)
	})
	t.Run("optional_missing_file_is_fine", func(t *testing.T) {
		_, err := config.Load(missing(t), true, nil)
		require.NoError(t, err)
	})
	t.Run("optional_file_that_is_unreadable_is_an_error", func(t *testing.T) {
		// A directory where the file should be: it exists but cannot be read.
		_, err := config.Load(t.TempDir(), true, nil)
		require.Error(t, err)
	})
}

func TestLoadProcess(t *testing.T) {
	// t.Chdir and t.Setenv forbid t.Parallel.
	t.Run("default_path_missing_is_fine", func(t *testing.T) {
		t.Chdir(t.TempDir())
		t.Setenv("FITLOOP_HTTP_ADDR", "127.0.0.1:7000")
		cfg, err := config.LoadProcess("")
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1:7000", cfg.HTTP.Addr)
	})
	t.Run("default_path_is_read_when_present", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, config.DefaultPath), []byte("data_dir: /srv/x\n"), 0o600))
		t.Chdir(dir)
		cfg, err := config.LoadProcess("")
		require.NoError(t, err)
		assert.Equal(t, "/srv/x", cfg.DataDir)
	})
	t.Run("explicit_path_missing_is_an_error", func(t *testing.T) {
		t.Chdir(t.TempDir())
		_, err := config.LoadProcess("other.yaml")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "other.yaml")
	})
}

func TestEnvOverrides(t *testing.T) {
	t.Parallel()
	load := func(t *testing.T, env ...string) config.Config {
		t.Helper()
		cfg, err := config.Load(missing(t), true, env)
		require.NoError(t, err)
		return cfg
	}
	t.Run("string", func(t *testing.T) {
		cfg := load(t, "FITLOOP_HTTP_ADDR=127.0.0.1:0", "FITLOOP_DATA_DIR=/tmp/x")
		assert.Equal(t, "127.0.0.1:0", cfg.HTTP.Addr)
		assert.Equal(t, "/tmp/x", cfg.DataDir)
	})
	t.Run("driver_and_dsn", func(t *testing.T) {
		cfg := load(t, "FITLOOP_DATABASE_DRIVER=postgres", "FITLOOP_DATABASE_DSN=postgres://u:p@h/db?sslmode=disable")
		assert.Equal(t, "postgres", cfg.Database.Driver)
		assert.Equal(t, "postgres://u:p@h/db?sslmode=disable", cfg.Database.DSN, "values keep their = signs")
	})
	t.Run("int", func(t *testing.T) {
		cfg := load(t, "FITLOOP_DATABASE_SQLITE_READERS=9", "FITLOOP_HTTP_MAX_BODY_BYTES=2048")
		assert.Equal(t, 9, cfg.Database.SQLite.Readers)
		assert.Equal(t, int64(2048), cfg.HTTP.MaxBodyBytes)
	})
	t.Run("bool", func(t *testing.T) {
		assert.False(t, load(t, "FITLOOP_HTTP_ACCESS_LOG=false").HTTP.AccessLog)
		assert.True(t, load(t, "FITLOOP_HTTP_ACCESS_LOG=1").HTTP.AccessLog)
	})
	t.Run("duration", func(t *testing.T) {
		cfg := load(t, "FITLOOP_HTTP_SHUTDOWN_TIMEOUT=250ms", "FITLOOP_AUTH_SESSION_TTL=1h30m")
		assert.Equal(t, 250*time.Millisecond, cfg.HTTP.ShutdownTimeout)
		assert.Equal(t, 90*time.Minute, cfg.Auth.SessionTTL)
	})
	t.Run("list_is_comma_separated_and_trimmed", func(t *testing.T) {
		assert.Equal(t, []string{"a", "b"}, load(t, "FITLOOP_HTTP_CORS_ORIGINS=a,b").HTTP.CORSOrigins)
		assert.Equal(t, []string{"https://a.example", "https://b.example"},
			load(t, "FITLOOP_HTTP_CORS_ORIGINS= https://a.example , https://b.example ,").HTTP.CORSOrigins)
		assert.Empty(t, load(t, "FITLOOP_HTTP_CORS_ORIGINS=").HTTP.CORSOrigins)
	})
	t.Run("env_beats_the_file", func(t *testing.T) {
		path := writeFile(t, "config.yaml", "http:\n  addr: \":9000\"\nlog:\n  level: debug\n")
		cfg, err := config.Load(path, false, []string{"FITLOOP_HTTP_ADDR=:9001"})
		require.NoError(t, err)
		assert.Equal(t, ":9001", cfg.HTTP.Addr)
		assert.Equal(t, "debug", cfg.Log.Level, "keys the env does not name keep the file's value")
	})
	t.Run("ignores_other_variables", func(t *testing.T) {
		cfg := load(t, "HTTP_ADDR=:1", "PATH=/bin", "FITLOOP_TEST_POSTGRES_DSN=x", "FITLOOP_HTTP_ADDR_WITHOUT_VALUE")
		assert.Equal(t, config.Default(), cfg)
	})
	t.Run("refuses_a_misspelt_fitloop_variable", func(t *testing.T) {
		_, err := config.Load(missing(t), true, []string{"FITLOOP_DATABSE_DSN=postgres://h/db", "FITLOOP_NOT_A_KEY=1"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "FITLOOP_DATABSE_DSN, FITLOOP_NOT_A_KEY")
	})
	t.Run("file_variant_reads_a_secret", func(t *testing.T) {
		key := strings.Repeat("k", 40)
		secret := writeFile(t, "key", key+"\n")
		cfg := load(t, "FITLOOP_AUTH_SIGNING_KEY_FILE="+secret)
		assert.Equal(t, key, cfg.Auth.SigningKey, "the trailing newline is trimmed")
	})
	t.Run("file_variant_works_for_the_dsn", func(t *testing.T) {
		dsn := writeFile(t, "dsn", "postgres://u:p@h/db\r\n")
		cfg := load(t, "FITLOOP_DATABASE_DRIVER=postgres", "FITLOOP_DATABASE_DSN_FILE="+dsn)
		assert.Equal(t, "postgres://u:p@h/db", cfg.Database.DSN)
	})
	t.Run("file_variant_missing_file_names_the_variable", func(t *testing.T) {
		_, err := config.Load(missing(t), true, []string{"FITLOOP_AUTH_SIGNING_KEY_FILE=" + missing(t)})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "FITLOOP_AUTH_SIGNING_KEY_FILE")
	})
}

func TestBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		env    []string
		key    string
		hidden string // must not appear in the message
	}{
		{name: "bad_duration", env: []string{"FITLOOP_HTTP_READ_TIMEOUT=soon"}, key: "http.read_timeout"},
		{name: "zero_duration", env: []string{"FITLOOP_HTTP_SHUTDOWN_TIMEOUT=0s"}, key: "http.shutdown_timeout"},
		{name: "negative_duration", env: []string{"FITLOOP_AUTH_LOGIN_WINDOW=-1m"}, key: "auth.login_window"},
		{name: "bad_int", env: []string{"FITLOOP_DATABASE_SQLITE_READERS=many"}, key: "database.sqlite.readers"},
		{name: "negative_readers", env: []string{"FITLOOP_DATABASE_SQLITE_READERS=-1"}, key: "database.sqlite.readers"},
		{name: "unknown_redis_mode", env: []string{"FITLOOP_REDIS_MODE=memcached"}, key: "redis.mode"},
		{name: "redis_without_addrs", env: []string{"FITLOOP_REDIS_MODE=single"}, key: "redis.addrs"},
		{name: "sentinel_without_master", env: []string{"FITLOOP_REDIS_MODE=sentinel", "FITLOOP_REDIS_ADDRS=h:26379"}, key: "redis.master_name"},
		{name: "schedule_without_equals", env: []string{"FITLOOP_CRON_SCHEDULES=etl.load"}, key: "cron.schedules"},
		{name: "concurrency_not_a_number", env: []string{"FITLOOP_JOBS_CONCURRENCY=media.process=two"}, key: "jobs.concurrency"},
		{name: "zero_compensation_attempts", env: []string{"FITLOOP_SAGAS_COMPENSATION_ATTEMPTS=0"}, key: "sagas.compensation_attempts"},
		{name: "zero_idempotency_ttl", env: []string{"FITLOOP_HTTP_IDEMPOTENCY_TTL=0s"}, key: "http.idempotency_ttl"},
		{name: "bad_bool", env: []string{"FITLOOP_HTTP_ACCESS_LOG=maybe"}, key: "http.access_log"},
		{name: "postgres_without_dsn", env: []string{"FITLOOP_DATABASE_DRIVER=postgres"}, key: "database.dsn"},
		{name: "unknown_driver", env: []string{"FITLOOP_DATABASE_DRIVER=mysql"}, key: "database.driver"},
		{name: "bad_log_level", env: []string{"FITLOOP_LOG_LEVEL=loud"}, key: "log.level"},
		{name: "bad_log_format", env: []string{"FITLOOP_LOG_FORMAT=xml"}, key: "log.format"},
		{name: "bad_addr", env: []string{"FITLOOP_HTTP_ADDR=8080"}, key: "http.addr"},
		{name: "empty_data_dir", env: []string{"FITLOOP_DATA_DIR= "}, key: "data_dir"},
		{name: "tiny_body_limit", env: []string{"FITLOOP_HTTP_MAX_BODY_BYTES=10"}, key: "http.max_body_bytes"},
		{name: "bad_synchronous", env: []string{"FITLOOP_DATABASE_SQLITE_SYNCHRONOUS=OFF"}, key: "database.sqlite.synchronous"},
		{name: "no_login_failures", env: []string{"FITLOOP_AUTH_LOGIN_MAX_FAILURES=0"}, key: "auth.login_max_failures"},
		{name: "no_mongo_breaker_failures", env: []string{"FITLOOP_MONGO_BREAKER_FAILURES=0"}, key: "mongo.breaker_failures"},
		{name: "zero_mongo_breaker_cooldown", env: []string{"FITLOOP_MONGO_BREAKER_COOLDOWN=0s"}, key: "mongo.breaker_cooldown"},
		{
			name: "short_signing_key", env: []string{"FITLOOP_AUTH_SIGNING_KEY=short-secret-value"},
			key: "auth.signing_key", hidden: "short-secret-value",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(missing(t), true, tt.env)
			require.Error(t, err)
			msg := err.Error()
			assert.Contains(t, msg, tt.key)
			assert.Contains(t, msg, config.EnvName(tt.key))
			if tt.hidden != "" {
				assert.NotContains(t, msg, tt.hidden, "a secret must not be echoed")
			}
		})
	}
	t.Run("every_bad_key_is_reported_at_once", func(t *testing.T) {
		_, err := config.Load(missing(t), true, []string{"FITLOOP_LOG_LEVEL=loud", "FITLOOP_DATABASE_DRIVER=mysql"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "log.level")
		assert.Contains(t, err.Error(), "database.driver")
	})
	t.Run("synchronous_is_case_insensitive", func(t *testing.T) {
		_, err := config.Load(missing(t), true, []string{"FITLOOP_DATABASE_SQLITE_SYNCHRONOUS=normal"})
		require.NoError(t, err)
	})
}

// leafFields lists the dotted yaml paths of every non-struct field of t.
func leafFields(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if prefix != "" {
			name = prefix + "." + name
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) {
			out = append(out, leafFields(f.Type, name)...)
			continue
		}
		out = append(out, name)
	}
	return out
}

func TestKeys(t *testing.T) {
	t.Parallel()
	keys := config.Keys()
	t.Run("cover_every_field", func(t *testing.T) {
		assert.Equal(t, leafFields(reflect.TypeOf(config.Config{}), ""), keys)
	})
	t.Run("every_field_has_a_yaml_tag", func(t *testing.T) {
		for _, k := range keys {
			for _, part := range strings.Split(k, ".") {
				assert.NotEmpty(t, part, "key %q", k)
				assert.Equal(t, strings.ToLower(part), part, "key %q", k)
			}
		}
	})
	t.Run("are_unique_and_so_are_their_env_names", func(t *testing.T) {
		seen := map[string]string{}
		for _, k := range keys {
			env := config.EnvName(k)
			prev, dup := seen[env]
			assert.False(t, dup, "%s and %s share %s", prev, k, env)
			seen[env] = k
			// A _FILE variable must not collide with another key's name.
			_, clash := seen[env+"_FILE"]
			assert.False(t, clash, "%s_FILE is also a key", env)
		}
	})
	t.Run("env_name_upper_cases_and_underscores", func(t *testing.T) {
		assert.Equal(t, "FITLOOP_DATABASE_SQLITE_BUSY_TIMEOUT", config.EnvName("database.sqlite.busy_timeout"))
		assert.Equal(t, "FITLOOP_DATA_DIR", config.EnvName("data_dir"))
	})
	t.Run("each_key_is_settable_from_the_env", func(t *testing.T) {
		// Every key must accept a value of its kind through its variable: a
		// field of an unsupported type would fail here.
		sample := map[reflect.Kind]string{
			reflect.String: "x", reflect.Int: "7", reflect.Int64: "7", reflect.Bool: "true", reflect.Slice: "a,b",
		}
		cfgType := reflect.TypeOf(config.Config{})
		for _, k := range keys {
			f := fieldByKey(t, cfgType, k)
			val := sample[f.Kind()]
			if f == reflect.TypeOf(time.Duration(0)) {
				val = "1s"
			}
			require.NotEmpty(t, val, "no sample for %s (%s)", k, f)
			_, err := config.Load(missing(t), true, []string{config.EnvName(k) + "=" + val})
			if err != nil {
				assert.NotContains(t, err.Error(), "unsupported type", "key %s", k)
			}
		}
	})
}

func fieldByKey(tb testing.TB, t reflect.Type, key string) reflect.Type {
	tb.Helper()
	for _, part := range strings.Split(key, ".") {
		found := false
		for i := range t.NumField() {
			if strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0] == part {
				t, found = t.Field(i).Type, true
				break
			}
		}
		require.True(tb, found, "key %s", key)
	}
	return t
}
