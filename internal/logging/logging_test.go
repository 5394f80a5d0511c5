package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	def := Options{Level: slog.LevelInfo, Format: JSON}
	tests := []struct {
		level, format string
		want          Options
		err           string
	}{
		{"", "", def, ""},
		{"debug", "text", Options{Level: slog.LevelDebug, Format: Text}, ""},
		{"WARN", "JSON", Options{Level: slog.LevelWarn, Format: JSON}, ""},
		{"error", "", Options{Level: slog.LevelError, Format: JSON}, ""},
		{"verbose", "", def, "NERU_LOG_LEVEL"},
		{"", "logfmt", def, "NERU_LOG_FORMAT"},
	}
	for _, tt := range tests {
		t.Setenv(EnvLevel, tt.level)
		t.Setenv(EnvFormat, tt.format)
		got, err := FromEnv(def)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("level %q format %q: err %v, want one naming %s", tt.level, tt.format, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("level %q format %q: %+v, %v; want %+v", tt.level, tt.format, got, err, tt.want)
		}
	}
}

func TestNewHonoursLevelAndFormat(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, Options{Level: slog.LevelWarn, Format: Text})
	log.Info("hidden")
	log.Warn("shown", "k", "v")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "level=WARN msg=shown k=v") {
		t.Fatalf("text logger at warn wrote %q", out)
	}
	buf.Reset()
	New(&buf, Options{Level: slog.LevelDebug}).Debug("d")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["msg"] != "d" {
		t.Fatalf("default format should be JSON at the given level: %q (%v)", buf.String(), err)
	}
}

// go-redis's Printf lines come out as one JSON line each, at warn, tagged
// component=redis.
func TestRedisLoggerWritesJSON(t *testing.T) {
	var buf bytes.Buffer
	r := redisLogger{New(&buf, Options{Level: slog.LevelInfo}).With("component", "redis")}
	r.Printf(context.Background(), "redis: %s:%d: connection pool: %v\n", "pool.go", 42, "timeout")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not JSON: %q (%v)", buf.String(), err)
	}
	if line["level"] != "WARN" || line["component"] != "redis" || line["msg"] != "redis: pool.go:42: connection pool: timeout" {
		t.Fatalf("line %v", line)
	}
}
