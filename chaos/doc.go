// Package chaos holds the chaos suite: the platform as `neru dev` (one OS
// process, the production binary) on a redis-server with an append-only
// file and a JetStream node, both child processes, under a provider that
// posts every webhook until it gets a 2xx and an app that records every
// delivery. Each scenario breaks one thing while the webhooks flow: kill -9
// of the platform process, a NATS restart, a Redis restart, and the app
// down for a minute while 5 % of its requests fail anyway. Every scenario
// asserts that every acknowledged webhook reached the app with a 2xx, that
// each session's events were first answered 2xx in the order they were
// posted, that repeats stay within what was in flight, and (for the app
// outage) that nothing went to the DLQ.
//
// It runs with `go test ./...` (a few minutes) and on its own with
// `make test-chaos`. Everything is on loopback; it owns no Redis keys or
// NATS subjects beyond those of the servers it starts.
package chaos
