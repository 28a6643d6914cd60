# Tsunagu: `make run` sets everything up and serves http://127.0.0.1:8000; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: install run test test-sqlite test-postgres bench lint messages

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: install
	$(BIN)/tsunagu demo --if-new
	$(BIN)/tsunagu serve

# The whole suite against SQLite, then against PostgreSQL when a server answers at $(PG_URL).
test: install
	$(BIN)/python -m tsunagu.core.testrun

test-sqlite: install
	$(BIN)/python -m pytest -q

test-postgres: install
	TSUNAGU_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check tsunagu bench

messages: install
	cd tsunagu && ../$(BIN)/django-admin makemessages -l en --no-obsolete && ../$(BIN)/django-admin compilemessages
