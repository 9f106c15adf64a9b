# smsgateway — every target does its own set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUF := node_modules/.bin/buf
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup run run-ha test lint proto proto-check fmt bench clean tools redis-server

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

test: setup tools ## Lint, then run every test.
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup ## ruff, mypy (hand-written code), buf lint, buf format, generated-code drift.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(BUF) lint
	$(BUF) format --exit-code --diff
	$(PY) scripts/gen_proto.py --check

fmt: setup ## Format Python and proto sources.
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	$(BUF) format -w

proto: setup ## Regenerate server/smsgateway/v1 from proto/.
	$(PY) scripts/gen_proto.py

bench: setup ## Run the benchmarks under bench/ (they print numbers).
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean: ## Remove the virtualenv, node_modules and caches.
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
