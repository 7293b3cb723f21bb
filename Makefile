# gantry: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

GO      ?= go
LISTEN  ?= 127.0.0.1:4566
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all setup install build run test e2e bench fmt vet

all: build

# setup installs the Debian packages gantry needs (quick when they are there) and builds.
setup:
	scripts/setup.sh

# install: the packages only.
install:
	scripts/setup.sh install

build:
	# Static (no cgo): gantry-shim is bind-mounted into containers as their init.
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o bin/gantry ./cmd/gantry
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o bin/gantry-shim ./cmd/gantry-shim

# run: install what is missing, build, and start the server in the foreground.
run: install build
	bin/gantry server --listen $(LISTEN)

# test: install what the tests need, then the whole suite, race detector on, as root.
test:
	scripts/setup.sh install --with-gvisor
	$(GO) test -race -count=1 -timeout 60m ./...

e2e:
	$(GO) test -race -count=1 -timeout 30m ./internal/e2e/

# bench: task definition requests per second, gantry against moto_server, same client.
BENCH_FLAGS ?=
bench: build
	$(GO) run ./bench/cmd/taskdefs -gantry bin/gantry $(BENCH_FLAGS)

fmt:
	gofmt -l -w cmd internal bench

vet:
	$(GO) vet ./...

# bench-tasks, bench-burst, bench-density: RunTask to RUNNING latency, a 200-task burst, and memory
# per idle task, each gantry against raw runc running the same OCI bundle (as root; BENCH_FLAGS
# passes flags such as -n).
.PHONY: bench-tasks bench-burst bench-density
bench-tasks: build
	$(GO) run ./bench/cmd/tasklatency -gantry bin/gantry $(BENCH_FLAGS)

bench-burst: build
	$(GO) run ./bench/cmd/taskburst -gantry bin/gantry $(BENCH_FLAGS)

bench-density: build
	$(GO) run ./bench/cmd/density -gantry bin/gantry $(BENCH_FLAGS)

# bench-netsetup: a task's network setup through the VPC data plane against a script doing the
# same ip and nft steps, same run; rule-change propagation with 200 interfaces attached (root).
.PHONY: bench-netsetup
bench-netsetup:
	$(GO) run ./bench/cmd/netsetup $(BENCH_FLAGS)

# bench-logs: PutLogEvents ingest rate in-process and over HTTP (4 workers, batches of 10,000) and
# FilterLogEvents latency over a million events in one stream; moto_server as the peer.
.PHONY: bench-logs
bench-logs: build
	$(GO) run ./bench/cmd/logs -gantry bin/gantry $(BENCH_FLAGS)

# bench-logtasks: log ingest from 4 running tasks writing 250,000 lines each through the awslogs
# driver (first RUNNING to last event readable, every line checked), against raw `runc run` to a file.
.PHONY: bench-logtasks
bench-logtasks: build
	$(GO) run ./bench/cmd/logtasks -gantry bin/gantry $(BENCH_FLAGS)

# bench-lb: the ALB data plane (internal/lb) against HAProxy in front of the same Go backends:
# requests/s keep-alive and not, added p99 at a fixed rate, health-check failover time.
.PHONY: bench-lb
bench-lb:
	$(GO) run ./bench/cmd/lb $(BENCH_FLAGS)
