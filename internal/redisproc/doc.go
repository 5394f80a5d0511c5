// Package redisproc runs a real redis-server as a child process: bound to
// 127.0.0.1 on a free port, its files in one directory, stopped by Stop and
// also when this process dies (Linux: the parent-death signal), so `neru dev`
// and the tests never leave a redis-server behind. It owns no keys: it only
// starts and stops the server.
package redisproc
