// Package redisproc is the one place that starts a real redis-server as a
// child process: bound to 127.0.0.1 on a free (or given) port, its files in
// one directory, optionally persisted in an append-only file, stopped by
// Stop or Kill and also when this process dies (Linux: the parent-death
// signal), so `neru dev` (internal/devenv) and the tests (internal/testenv,
// internal/proctest and its Redis Clusters) never leave a redis-server
// behind. Restart brings a server back on its port with its files. It owns
// no keys: it only starts and stops the server.
package redisproc
