# Two commands do everything on a fresh clone: `make run` and `make test`.
# With no DATABASE_URL both use an embedded PostgreSQL under .pgdata/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test lint install db-upgrade db-stop clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

db-upgrade: install
	$(BIN)/wallet db upgrade

run: db-upgrade
	exec $(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check app tests migrations
	$(BIN)/ruff format --check app tests migrations
	$(BIN)/mypy

db-stop: install
	$(BIN)/python -m app.embedded stop

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
