package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "FITLOOP_"

// Load builds the configuration from defaults, the YAML file at path and the
// environment. A missing file is not an error when optional is true (the
// default ./config.yaml may be absent); an explicitly named file must exist.
func Load(path string, optional bool, environ []string) (Config, error) {
	cfg := Default()
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		// An empty file decodes to io.EOF: nothing to override.
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("config: %s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist) && optional:
	default:
		return cfg, fmt.Errorf("config: %w", err)
	}
	if err := applyEnv(&cfg, envMap(environ)); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			m[k] = v
		}
	}
	return m
}

// applyEnv walks the struct by its yaml tags and sets every field whose
// environment variable (or its _FILE variant) is present. A FITLOOP_ variable
// that names no key is an error: a misspelt FITLOOP_DATABSE_DSN must not
// silently start fitloop on the default database. FITLOOP_TEST_* belong to
// the test kit and are ignored here.
func applyEnv(cfg *Config, env map[string]string) error {
	known := map[string]bool{}
	for _, key := range Keys() {
		known[EnvName(key)], known[EnvName(key)+"_FILE"] = true, true
	}
	var unknown []string
	for name := range env {
		if !known[name] && !strings.HasPrefix(name, EnvPrefix+"TEST_") {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("config: unknown environment variable(s) %s (see config.yaml for the keys)",
			strings.Join(unknown, ", "))
	}
	return walk(reflect.ValueOf(cfg).Elem(), "", func(key string, f reflect.Value) error {
		name := EnvName(key)
		val, ok := env[name]
		if file, fok := env[name+"_FILE"]; fok {
			b, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("config: %s_FILE: %w", name, err)
			}
			val, ok = strings.TrimRight(string(b), "\r\n"), true
		}
		if !ok {
			return nil
		}
		if err := setValue(f, val); err != nil {
			return fmt.Errorf("config: %s (%s): %w", name, key, err)
		}
		return nil
	})
}

// EnvName returns the environment variable that overrides a dotted key.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Keys lists every dotted configuration key, in declaration order.
func Keys() []string {
	var keys []string
	cfg := Default()
	_ = walk(reflect.ValueOf(&cfg).Elem(), "", func(key string, _ reflect.Value) error {
		keys = append(keys, key)
		return nil
	})
	return keys
}

func walk(v reflect.Value, prefix string, fn func(key string, f reflect.Value) error) error {
	t := v.Type()
	for i := range t.NumField() {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		f := v.Field(i)
		if f.Kind() == reflect.Struct {
			if err := walk(f, key, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(key, f); err != nil {
			return err
		}
	}
	return nil
}

var durationType = reflect.TypeOf(time.Duration(0))

func setValue(f reflect.Value, s string) error {
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("not a duration (like 30s or 15m): %q", s)
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(s)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", s)
		}
		f.SetBool(b)
	case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", s)
		}
		f.SetInt(n)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		f.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// DefaultPath is read when --config is not given, if it exists.
const DefaultPath = "config.yaml"

// LoadProcess loads the configuration for the running process: the file named
// by path (which must exist), or ./config.yaml when path is empty (optional),
// then the process environment.
func LoadProcess(path string) (Config, error) {
	if path == "" {
		return Load(DefaultPath, true, os.Environ())
	}
	return Load(path, false, os.Environ())
}
