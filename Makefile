# Streamflow DataOps. `make run` and `make test` work on a fresh machine with Python >= 3.12 and make.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# Tests need a key; it is never used outside the test run.
TEST_ENV := SECRET_KEY=$${SECRET_KEY:-test-only-insecure-key-0123456789abcdefghijklmnopqrstuvwxyz}
# make run is the laptop path: DEBUG on (and its development key) unless you set DEBUG=0 and a SECRET_KEY.
RUN_ENV := DEBUG=$${DEBUG:-1}

.PHONY: help install run demo test test-fast lint format migrations-check check lock bench faults load clean

help:
	@echo "make run    - install, migrate, start web + worker + beat (SQLite + embedded broker by default)"
	@echo "make test   - install and run the whole test suite"
	@echo "make demo   - like run, plus a local fake USGS server, a sample catalog and two configurations"
	@echo "make lint / migrations-check / bench / faults / load / lock"

install:
	@scripts/bootstrap.sh requirements/dev.txt

run: install
	@$(RUN_ENV) $(PY) manage.py migrate --noinput -v0
	@$(RUN_ENV) $(PY) manage.py runstack

test: install
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check . || echo "(formatting differences are reported, not enforced)"

migrations-check: install
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run

check: lint migrations-check test

lock:
	$(PY) -m pip install -q pip-tools
	$(VENV)/bin/pip-compile -q --generate-hashes --no-emit-index-url --no-emit-find-links --strip-extras -o requirements/base.txt pyproject.toml
	$(VENV)/bin/pip-compile -q --generate-hashes --no-emit-index-url --no-emit-find-links --strip-extras --extra dev -c requirements/base.txt -o requirements/dev.txt pyproject.toml
	$(VENV)/bin/pip-compile -q --generate-hashes --no-emit-index-url --no-emit-find-links --strip-extras --extra dev --extra bench -c requirements/dev.txt -o requirements/bench.txt pyproject.toml

bench-install:
	@scripts/bootstrap.sh requirements/bench.txt

# Benchmarks need PostgreSQL: BENCH_DATABASE_URL (default: the local server, database streamflow_bench).
BENCH_DB ?= $${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/streamflow_bench}
bench: bench-install
	@for b in search ingest poll chart; do \
	  if [ -f bench/$$b.py ]; then echo "== bench/$$b.py"; $(TEST_ENV) $(PY) bench/$$b.py --database-url "$(BENCH_DB)" || exit 1; fi; \
	done

clean:
	rm -rf $(VENV) var/broker var/*.sqlite3* var/staticfiles
