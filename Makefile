# Mirrors CI: `make test` is what .ci/run runs.
PKG ?= ./...
T ?=

.PHONY: dev test test-short lint bench build

dev: ## run the whole platform in one process
	go run ./cmd/neru dev

test: ## all tests, with the race detector, against real Redis and embedded NATS
	go test -race -count=1 -timeout 20m $(if $(T),-run '$(T)') $(PKG)

test-short:
	go test -count=1 $(if $(T),-run '$(T)') $(PKG)

lint:
	gofmt -l $$(git ls-files '*.go')
	go vet ./...

bench: ## end-to-end throughput: gateway → JetStream → worker → app
	go run ./cmd/neru bench

build:
	go build -o bin/ ./cmd/...
