// Command seed runs the seed scenario app (package seedapp) on
// 127.0.0.1:$NERU_APP_PORT (default 3000) against `neru dev`: start
// `neru dev`, `source .neru/dev.env`, then `go run ./examples/seed`.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/neru-dev/neru/examples/seed/seedapp"
	"github.com/neru-dev/neru/sdk"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, log); err != nil {
		log.Error("seed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	c := sdk.New(sdk.Config{
		Endpoint: env("NERU_ENDPOINT", "http://127.0.0.1:3001"), InstanceID: env("INSTANCE_ID", "dev"),
		AccountID: os.Getenv("API_ACCOUNT_ID"), ApplicationID: os.Getenv("API_APPLICATION_ID"),
		InstanceServiceName: os.Getenv("INSTANCE_SERVICE_NAME"), PrivateKey: os.Getenv("PRIVATE_KEY"),
	})
	app := seedapp.New(c, log)
	srv := &http.Server{Addr: "127.0.0.1:" + env("NERU_APP_PORT", "3000"), Handler: app}
	go func() { <-ctx.Done(); _ = srv.Shutdown(context.Background()) }()
	if err := app.Start(ctx); err != nil {
		return err
	}
	log.Info("seed app listening", "addr", srv.Addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
