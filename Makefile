# smsgateway — every target does its own set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUF := node_modules/.bin/buf
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup run run-ha test lint proto proto-check fmt bench clean tools redis-server \
	proto-tools clients-setup test-clients test-go test-node test-java

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# Three distributions, all editable: the client (which pulls in a copy of the API
# package), then the API package editable over that copy, then the server.
$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml clients/python/api/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e './clients/python[sandbox,tracing]'
	$(PY) -m pip install --quiet --no-deps -e ./clients/python/api
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(BUF): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

# The protoc plugins of `make proto`, pinned: Go's from the Go module proxy into .tools/bin;
# ts-proto comes with package.json, the Python one with the venv's grpcio-tools.
PROTOC_GEN_GO := v1.36.12
PROTOC_GEN_GO_GRPC := v1.6.2
GO_PLUGINS := .tools/go-plugins-$(PROTOC_GEN_GO)-$(PROTOC_GEN_GO_GRPC)
# The previous release of the API: `make lint` fails on a breaking change against it.
BUF_BASELINE := proto/releases/v0.1.0.binpb

$(GO_PLUGINS):
	GOBIN=$(CURDIR)/.tools/bin go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO)
	GOBIN=$(CURDIR)/.tools/bin go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC)
	touch $@

clients/node/node_modules/.installed: clients/node/package.json clients/node/package-lock.json
	cd clients/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# redis-server (Debian package) for the Redis tests and `make run-ha`, which start their own
# on other ports. Without it those fail with a clear message (they never skip).
redis-server:
	@command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing redis-server (Debian package redis-server)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null) \
	      || echo "error: could not install redis-server; the Redis tests and make run-ha need it"; \
	  else echo "error: redis-server missing and not root (apt-get install redis-server); the Redis tests and make run-ha need it"; fi; }

# promtool (Debian package `prometheus`) checks metrics and alert rules; best effort:
# the tests that need it skip with a clear reason when it cannot be installed.
tools: redis-server
	@command -v promtool >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing promtool (Debian package prometheus)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null) \
	      || echo "warning: could not install promtool; its checks will be skipped"; \
	  else echo "warning: promtool missing and not root; its checks will be skipped"; fi; }

setup: $(VENV)/.installed $(BUF) ## Create .venv and install every dependency.

run: setup ## Run the service on the embedded default (sandbox provider + SQLite).
	$(VENV)/bin/smsgateway serve

run-ha: setup redis-server ## Local HA demo: a Redis, the sandbox and three gateways sharing it.
	$(PY) scripts/run_ha.py

test: setup tools ## Lint, then run every test (Python, then the Go, Node and Java clients).
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-clients

proto-tools: setup $(GO_PLUGINS) ## Install the pinned protoc plugins (buf, ts-proto, Go).

clients-setup: setup clients/node/node_modules/.installed ## Install the clients' packages (Go modules and Maven artifacts come with their builds).

# Each suite runs clients/conformance/scenarios.md against a live `smsgateway serve`
# (clients/conformance/gateway.py); Python's runs in pytest (tests/client).
test-clients: test-go test-node test-java ## The Go, TypeScript and Java client suites.

test-go: setup ## The Go client: go test (conformance against a live gateway).
	cd clients/go && go test -count=1 ./...

test-node: setup clients/node/node_modules/.installed ## The TypeScript client: npm test.
	cd clients/node && npm test

test-java: setup ## The Java client: mvn verify (stubs generated at build time).
	cd clients/java && mvn -B -ntp verify

lint: setup proto-tools ## ruff, mypy, buf lint/format/breaking, generated-code drift (every language).
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(BUF) lint
	$(BUF) format --exit-code --diff
	$(BUF) breaking --against $(BUF_BASELINE)
	$(PY) scripts/gen_proto.py --check

fmt: setup ## Format Python and proto sources.
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	$(BUF) format -w

proto: proto-tools ## Regenerate the Go, TypeScript and Python code (buf.gen.yaml) from proto/.
	$(PY) scripts/gen_proto.py

bench: setup ## Run the benchmarks under bench/ (they print numbers).
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean: ## Remove the virtualenv, node_modules, tools and caches.
	rm -rf $(VENV) node_modules .tools clients/node/node_modules clients/node/dist \
	  clients/java/target .pytest_cache .mypy_cache .ruff_cache
