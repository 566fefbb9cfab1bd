# leadflow — `make run` starts everything, `make test` tests everything. Both set themselves up.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

.PHONY: help setup run test lint audit fmt bench kafka-up kafka-down topics postgres-up postgres-down clean deploy-check

help:
	@echo "make run      Kafka + the four services on SQLite (dev), prints URLs and the admin token"
	@echo "make test     every test: unit, SQLite and PostgreSQL, real Kafka, end to end"
	@echo "make lint     ruff + mypy (strict) + make audit"
	@echo "make audit    pip-audit: known vulnerabilities in every package uv.lock pins"
	@echo "make bench    benchmarks (printed figures and ratios)"
	@echo "make kafka-up / kafka-down   the local single-node Kafka (deploy/kafka)"

setup:
	@# Where pip refuses system installs (PEP 668), uv goes to the user's site (`python3 -m uv`).
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv 2>/dev/null || python3 -m pip install --quiet --user --break-system-packages uv
	@# Bytecode compiled once: every service process and test subprocess starts faster, even
	@# where PYTHONDONTWRITEBYTECODE keeps Python from caching it on the fly.
	@$(UV) sync --frozen --quiet --compile-bytecode
	@$(UV) run --frozen python -m compileall -q services/*/src >/dev/null
	@deploy/kafka/kafka.sh fetch

kafka-up: setup
	@deploy/kafka/kafka.sh start
	@$(UV) run --frozen python -m leadflow.topics

kafka-down:
	@deploy/kafka/kafka.sh stop

topics: setup
	@$(UV) run --frozen python -m leadflow.topics

postgres-up:
	@scripts/postgres.sh start

postgres-down:
	@scripts/postgres.sh stop

run: setup
	@UV="$(UV)" scripts/run.sh

test: setup
	@UV="$(UV)" scripts/test.sh $(PYTEST_ARGS)

lint: setup
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy services/common/src services/marketing-intake/src services/lead-scoring/src services/sales-assignment/src services/feedback/src
	MYPYPATH=tests $(UV) run --frozen mypy bench  # the benches use tests/support
	@# Not strict here: where PyPI's per-version JSON API is not served (this project's CI
	@# machines), pip-audit can check nothing and says so per package; `make audit` is strict.
	@$(MAKE) --no-print-directory audit AUDIT_STRICT=

# Every package uv.lock pins (dev tools too), checked against PyPI's advisories. --strict:
# a package that could not be checked fails too (AUDIT_STRICT= to accept that, e.g. behind
# a mirror without PyPI's per-version JSON API). Fix a finding by upgrading the pin
# (`uv lock --upgrade-package <name>`).
AUDIT_STRICT ?= --strict
audit: setup
	set -o pipefail; $(UV) export --format requirements-txt --frozen --no-emit-workspace --quiet \
	  | $(UV) run --frozen pip-audit $(AUDIT_STRICT) --require-hashes --disable-pip \
	      --progress-spinner off -r /dev/stdin

fmt: setup
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

bench: setup
	@UV="$(UV)" scripts/bench.sh

deploy-check: setup
	@UV="$(UV)" deploy/check.sh

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
