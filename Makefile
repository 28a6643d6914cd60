# Tsunagu: `make run` sets everything up and serves http://127.0.0.1:8000; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: install run test test-fast test-sqlite test-postgres bench lint messages

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: install
	$(BIN)/tsunagu demo --if-new
	$(BIN)/tsunagu serve

# The linters, then the whole suite against SQLite and PostgreSQL at once (PostgreSQL when a server answers
# at $(PG_URL)). `make test-fast`: the linters and the SQLite suite without the slow end-to-end and browser tests.
test: lint
	$(BIN)/python -m tsunagu.core.testrun

test-fast: lint
	$(BIN)/python -m tsunagu.core.testrun --fast

test-sqlite: install
	$(BIN)/python -m pytest -q

test-postgres: install
	TSUNAGU_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench

# ruff, and import-linter for the architecture (the contracts in pyproject.toml).
lint: install
	$(BIN)/ruff check tsunagu bench
	$(BIN)/lint-imports

messages: install
	cd tsunagu && ../$(BIN)/django-admin makemessages -l en --no-obsolete && ../$(BIN)/django-admin compilemessages
