// Package logging builds the platform's slog logger from NERU_LOG_LEVEL and
// NERU_LOG_FORMAT, and routes go-redis's own log lines through it, so every
// line a process writes has one format. It owns no Redis keys and no NATS
// subjects.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Environment variables read by FromEnv.
const (
	EnvLevel  = "NERU_LOG_LEVEL"  // debug | info | warn | error
	EnvFormat = "NERU_LOG_FORMAT" // json | text
)

// Format is how log lines are written.
type Format string

const (
	JSON Format = "json"
	Text Format = "text"
)

// Options is a logger's level and format.
type Options struct {
	Level  slog.Level
	Format Format
}

// FromEnv reads NERU_LOG_LEVEL and NERU_LOG_FORMAT over def (an unset or
// empty variable keeps def's value). A value it does not know is an error
// naming the variable and the values it takes, never a silent default.
func FromEnv(def Options) (Options, error) {
	o := def
	if v := strings.TrimSpace(os.Getenv(EnvLevel)); v != "" {
		l, err := ParseLevel(v)
		if err != nil {
			return def, fmt.Errorf("%s: %w", EnvLevel, err)
		}
		o.Level = l
	}
	if v := strings.TrimSpace(os.Getenv(EnvFormat)); v != "" {
		f, err := ParseFormat(v)
		if err != nil {
			return def, fmt.Errorf("%s: %w", EnvFormat, err)
		}
		o.Format = f
	}
	return o, nil
}

// ParseLevel accepts debug, info, warn (or warning) and error, in any case.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not a log level (debug, info, warn, error)", s)
}

// ParseFormat accepts json and text, in any case.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case JSON, Text:
		return f, nil
	}
	return "", fmt.Errorf("%q is not a log format (json, text)", s)
}

// New returns a logger writing to w as o says; an empty Format is JSON.
func New(w io.Writer, o Options) *slog.Logger {
	ho := &slog.HandlerOptions{Level: o.Level}
	if o.Format == Text {
		return slog.New(slog.NewTextHandler(w, ho))
	}
	return slog.New(slog.NewJSONHandler(w, ho))
}

// RouteRedis sends go-redis's own log lines (pool and reconnection
// trouble, which it otherwise prints as plain text to stderr) to log, at
// warn, with component=redis. go-redis has one process-wide logger, so the
// last call wins.
func RouteRedis(log *slog.Logger) {
	redis.SetLogger(redisLogger{log.With("component", "redis")})
}

// redisLogger adapts slog to go-redis's Printf-style logging interface.
type redisLogger struct{ log *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.log.WarnContext(ctx, strings.TrimSpace(fmt.Sprintf(format, v...)))
}
