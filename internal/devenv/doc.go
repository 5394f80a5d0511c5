// Package devenv runs the servers `neru dev` needs on this machine: an
// embedded nats-server with JetStream, and a Redis reached through the same
// go-redis client as production — a redis-server child process when one is
// installed (internal/redisproc), an in-process Redis-protocol server
// (miniredis) otherwise. Nothing here is for production use.
//
// Dev state is consistent as a whole, because JetStream holds deliveries
// that point at listeners and sessions in Redis:
//
//   - persistent (the default, needs redis-server): <data dir>/jetstream and
//     <data dir>/redis (append-only file) both survive a restart;
//   - ephemeral (Options.Ephemeral, or no redis-server installed, since
//     miniredis cannot persist): both live in a temporary directory that
//     Close removes.
//
// It owns no Redis keys or NATS subjects; the platform does.
package devenv
