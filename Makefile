# Every target installs what it needs into .venv itself, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck format bench bench-more services clean sqla-suite

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tenantdb demo

# Test processes: the suite mostly waits on databases and replicas, so more workers than
# cores pays (measured on a busy 2-core machine); `make test TEST_WORKERS=0` runs in one process.
# --dist loadgroup keeps each xdist_group (the tests of the shared standby) in one worker.
# Then SQLAlchemy's dialect suite on its two SQLite layouts (seconds; it runs in one process);
# its PostgreSQL and MariaDB layouts: `make sqla-suite SQLA_DB=postgresql` etc.
TEST_WORKERS ?= 4

test: $(STAMP)
	$(BIN)/python scripts/async_to_sync.py --check
	$(BIN)/ruff check src tests benchmarks scripts examples
	$(BIN)/ruff format --check src tests benchmarks scripts examples
	$(BIN)/mypy
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup
	$(MAKE) --no-print-directory sqla-suite SQLA_DB=sqlite
	$(MAKE) --no-print-directory sqla-suite SQLA_DB=sqlite_sharded

# SQLAlchemy's own dialect suite against tenantdb: SQLA_DB is sqlite, postgresql, mysql or
# one of them with _sharded; one process. Counts and exclusions: tests/sqlalchemy_suite/EXCLUSIONS.md.
SQLA_DB ?= sqlite

sqla-suite: $(STAMP)
	cd tests/sqlalchemy_suite && rm -f suite.db suite_1.db && \
		../../$(BIN)/python reset_databases.py $(SQLA_DB) && ../../$(BIN)/pytest -q --db $(SQLA_DB)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts examples
	$(BIN)/ruff format --check src tests benchmarks scripts examples

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/python scripts/async_to_sync.py
	$(BIN)/ruff format src tests benchmarks scripts examples
	$(BIN)/ruff check --fix src tests benchmarks scripts examples

# `make bench` prints issue 16's whole table (each row tenantdb ÷ raw, both sides measured in
# one process); `make bench-more` adds the benchmarks outside it.
bench: $(STAMP)
	$(BIN)/python benchmarks/table.py

bench-more: $(STAMP)
	$(BIN)/python benchmarks/replication.py
	$(BIN)/python benchmarks/guard.py
	$(BIN)/python benchmarks/fronts.py
	$(BIN)/python benchmarks/registry.py --only get
	$(BIN)/python benchmarks/limits.py
	$(BIN)/python benchmarks/resilience.py
	$(BIN)/python benchmarks/telemetry.py
	$(BIN)/python benchmarks/move.py
	$(BIN)/python benchmarks/move_routing.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build src/*.egg-info
