# Two commands do everything on a fresh clone: `make run` and `make test`.
# With no DATABASE_URL both use an embedded PostgreSQL under .pgdata/.
# PORT is not set here: gunicorn.conf.py reads it from the environment, then .env, then 8000.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-ha soak lint install db-upgrade db-stop clean bench bench-pooler

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

db-upgrade: install
	$(BIN)/wallet db upgrade

# app.startup checks every setting first (gunicorn's too) and, on a developer's first run,
# writes random provider secrets to .env (WALLET_ENV=production refuses to start without
# real ones instead).
run: install
	$(BIN)/python -m app.startup
	$(BIN)/wallet db upgrade
	exec $(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The failover tests (docs/high-availability.md): a primary and a synchronous standby
# built from PostgreSQL's own binaries, the product over both, the standby and then the
# primary killed under load. Left out of `make test` (marker `ha`); under two minutes.
test-ha: install
	$(BIN)/python -m pytest -m ha tests/ha $(PYTEST_ARGS)

# The reliability tests at full strength: a longer model-based run, larger torture
# workloads, more worker kills and database restarts. Figures go to $(RELIABILITY_REPORT).
RELIABILITY_REPORT ?= reliability-report.jsonl
soak: install
	WALLET_SOAK=1 WALLET_MODEL_EXAMPLES=$${WALLET_MODEL_EXAMPLES:-200} \
	WALLET_MODEL_STEPS=$${WALLET_MODEL_STEPS:-60} RELIABILITY_REPORT=$(RELIABILITY_REPORT) \
	$(BIN)/python -m pytest -o timeout=1800 -s \
	tests/test_model_based.py tests/test_torture.py tests/test_database_outage.py $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/ruff format --check app tests migrations bench
	$(BIN)/mypy

# The load test: the product under gunicorn against its stack's floor (bench/floor.py)
# and pgbench, alternating, then paced runs at 50% and 80% of its peak; wrk (installed
# with apt-get when missing; we run as root). The report goes to bench/out/benchmarks.md;
# docs/benchmarks.md is a copy kept by hand. BENCH_ARGS passes options,
# e.g. BENCH_ARGS="--duration 3 --rss-requests 0 --profile" (see bench/run.py --help).
$(VENV)/.bench-installed: pyproject.toml | $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# docs/scaling.md's PgBouncer section checked for real: two gunicorn hosts through
# PgBouncer in transaction mode (installed with apt-get when missing), the provider
# simulators over both, the same bets on both at once, then `wallet ledger verify`.
bench-pooler: $(VENV)/.bench-installed
	$(BIN)/python -m bench.pooler

db-stop: install
	$(BIN)/python -m app.db stop

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
