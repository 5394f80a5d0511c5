// Package cluster holds the cluster test: the production binaries (two
// gateways, two workers) as separate OS processes on a three-node JetStream
// cluster (R3 streams) and a three-master Redis Cluster, under a provider
// that retries every webhook until it gets a 2xx, while a worker, a NATS
// node and a gateway are killed with kill -9 in turn. It proves that what
// the platform acknowledged reaches the app, in order per session, with
// duplicates bounded by what was in flight; and that a process started
// before its servers becomes ready when they come up.
//
// It runs with `go test ./...` and on its own with `make test-cluster`.
// Everything is on loopback; it owns no Redis keys or NATS subjects beyond
// those of the servers it starts.
package cluster
