# Streamflow DataOps. `make run` and `make test` work on a fresh machine with Python >= 3.12 and make.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# Tests need a key; it is never used outside the test run.
TEST_ENV := SECRET_KEY=$${SECRET_KEY:-test-only-insecure-key-0123456789abcdefghijklmnopqrstuvwxyz}
# make run is the laptop path: DEBUG on (and its development key) unless you set DEBUG=0 and a SECRET_KEY.
RUN_ENV := DEBUG=$${DEBUG:-1}

.PHONY: help install run demo test test-fast lint format migrations-check check lock bench faults load clean simulate

help:
	@echo "make run    - install, migrate, start web + worker + beat (SQLite + embedded broker by default)"
	@echo "make test   - install and run the whole test suite"
	@echo "make demo   - like run, plus a local fake USGS server, a sample catalog and two configurations"
	@echo "make lint / migrations-check / bench / faults / load / lock"
	@echo "make simulate SIM_SECONDS=600 (or SIM_EXAMPLES=500 SIM_STEPS=40) - the stateful simulation, as long as asked"

install:
	@scripts/bootstrap.sh requirements/dev.txt

run: install
	@$(RUN_ENV) $(PY) manage.py migrate --noinput -v0
	@$(RUN_ENV) $(PY) manage.py runstack

# make demo: its own SQLite file, the local fake USGS server (slowed a little so live logs are visible), a sample
# catalog and two configurations on two-minute schedules. Log in as demo / demo. Real use: `make run` + the real API.
# No request leaves the machine: the maps draw the shipped state outlines (MAP_TILE_URL empty), webhooks may go to
# this machine (ALERT_WEBHOOK_ALLOWED_HOSTS). DEMO_PORT is the fake USGS server's port; RUN_ADDR the web server's.
DEMO_PORT ?= 8765
DEMO_ENV := $(RUN_ENV) DATABASE_URL=$${DEMO_DATABASE_URL:-sqlite:///$(CURDIR)/var/demo.sqlite3} \
	USGS_API_URL=http://127.0.0.1:$(DEMO_PORT)/ogcapi/v1 USGS_API_KEY= USGS_STATISTICS_URL=http://127.0.0.1:$(DEMO_PORT)/statistics/v0 \
	ALERT_WEBHOOK_ALLOWED_HOSTS=$${ALERT_WEBHOOK_ALLOWED_HOSTS:-localhost,127.0.0.1} MAP_TILE_URL= \
	DJANGO_SUPERUSER_USERNAME=$${DJANGO_SUPERUSER_USERNAME:-demo} DJANGO_SUPERUSER_PASSWORD=$${DJANGO_SUPERUSER_PASSWORD:-demo} \
	DJANGO_SUPERUSER_EMAIL=$${DJANGO_SUPERUSER_EMAIL:-demo@localhost}
demo: install
	@$(DEMO_ENV) $(PY) manage.py migrate --noinput -v0
	@$(DEMO_ENV) $(PY) manage.py demo_setup
	@$(DEMO_ENV) $(PY) manage.py runstack --extra "fakeusgs=$(PY) -m tests.fakeusgs --port $(DEMO_PORT) --slow 0.2"

test: install
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(TEST_ENV) $(PY) -m pytest tests/test_import_graph.py -q
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

# Faults: real workers + a private redis-server on port 6390 (started and stopped by the suite) + PostgreSQL
# (FAULTS_DATABASE_URL, default database sf_faults; pytest uses test_<name>). Prints a scenario → result table.
FAULTS_DB ?= $${FAULTS_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sf_faults}
faults: install
	STREAMFLOW_FAULTS=1 DATABASE_URL=$(FAULTS_DB) CELERY_BROKER_URL=redis://127.0.0.1:6390/0 STREAMFLOW_REQUIRE_ALL=1 \
	  $(TEST_ENV) $(PY) -m pytest tests/faults -q -p no:logging $(FAULTS_ARGS)

# Simulate: random sequences of operator actions, USGS revisions, clock moves and faults against the real engine
# and the fake USGS (tests/simulation), for SIM_SECONDS or SIM_EXAMPLES sequences of up to SIM_STEPS steps; each
# failure is shrunk and printed, then sequences, steps, invariant checks and failures are counted. DATABASE_URL
# switches it to PostgreSQL. `make test` runs a fixed budget of it (SIM_CI_EXAMPLES, SIM_CI_STEPS).
SIM_STEPS ?= 30
SIM_EXAMPLES ?=
SIM_SECONDS ?= $(if $(SIM_EXAMPLES),,600)
SIM_IGNORE ?=
SIM_RULES_OFF ?=
simulate: install
	SIM_EXAMPLES=$(SIM_EXAMPLES) SIM_STEPS=$(SIM_STEPS) SIM_SECONDS=$(SIM_SECONDS) SIM_IGNORE=$(SIM_IGNORE) SIM_RULES_OFF=$(SIM_RULES_OFF) \
	  $(TEST_ENV) $(PY) -m pytest tests/simulation/test_simulation.py -q --show-capture=no $(PYTEST_ARGS)

# Load: gunicorn + PostgreSQL (database streamflow_load, recreated and dropped) under locust; prints p50/p95/p99.
LOAD_ARGS ?=
load: bench-install
	@$(PY) bench/load.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) var/broker var/*.sqlite3* var/staticfiles
