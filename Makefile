# Mirrors CI: `make test` is what .ci/run runs.
PKG ?= ./...
T ?=

.PHONY: dev test test-short test-cluster test-chaos lint bench build

dev: ## run the whole platform in one process
	go run ./cmd/neru dev

test: ## all tests, with the race detector, against real Redis and embedded NATS
	go test -race -count=1 -timeout 20m $(if $(T),-run '$(T)') $(PKG)

test-cluster: ## the cluster test alone: 3 NATS nodes (R3), a Redis Cluster, 2 gateways, 2 workers, node kills (also in make test)
	go test -race -count=1 -timeout 10m -v ./cluster/

test-chaos: ## the chaos suite alone: neru dev on Redis (AOF) and NATS child processes; kill -9, NATS and Redis restarts, an app outage (also in make test)
	go test -race -count=1 -timeout 10m -v ./chaos/

test-short:
	go test -count=1 $(if $(T),-run '$(T)') $(PKG)

lint:
	gofmt -l $$(git ls-files '*.go')
	go vet ./...

BENCH_REDIS ?= redis://127.0.0.1:6379
BENCH_NATS ?= nats://127.0.0.1:4222
BENCH_SCALE ?= 1000000

bench: ## the performance table, measured from outside the platform's process; writes docs/benchmarks.md
	go build -o bin/ ./cmd/neru ./cmd/neru/bench/naive
	bin/neru bench --redis-url $(BENCH_REDIS) --nats-url $(BENCH_NATS) --naive bin/naive --rounds 3 \
		--state-ops 100000 --scale-to $(BENCH_SCALE) --markdown docs/benchmarks.md --readme README.md
	bin/neru bench --half=false --scale-to 100000 --markdown docs/benchmarks.md --append   # neru dev's own store

build:
	go build -o bin/ ./cmd/...
