"""Start-up cost: a fresh process to its first row, tenantdb against raw psycopg.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/startup.py [--rounds N]``). It
creates a scratch PostgreSQL database holding the one physical table the point read lands
on, writes a configuration whose ``items`` table is ``mod``-sharded over 10,000 physical
tables (the topology is what start-up pays for; the other 9,999 tables are never touched, so
they are not created), and then, in fresh interpreters started one after another with the
two sides alternating (which one goes first swaps every round):

- **fresh process**: ``import tenantdb``, ``connect`` the configuration file, open one
  tenant session and fetch one row by key, against ``import psycopg``, ``psycopg.connect``
  and the same row from the physical table. The time runs from just before the parent
  starts the child to the moment the child holds the row (``time.perf_counter`` is the
  system's monotonic clock, shared by both processes), so interpreter start-up is counted
  on both sides and tear-down on neither;
- **import**: ``import tenantdb`` against ``import psycopg`` alone, timed inside the child
  around the import statement.

The children read and write compiled bytecode in a scratch ``PYTHONPYCACHEPREFIX`` (warmed
by one unmeasured round), as an installed package would: without it an editable checkout
under ``PYTHONDONTWRITEBYTECODE`` compiles every tenantdb module from source on each start,
while psycopg's files come precompiled from the installer, and the comparison measures the
compiler instead of the import.

Prints medians over the rounds, the tenantdb child's own split (import, connect, session
and first row) and the ratios; both rows of issue 16's table go through ``_table.report``.
The machine may be shared: read the ratios and the import difference, not the times.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _table import report

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SHARDS = 10_000
KEY = 4_242  # lands on items_4242
TENANT = "acme"
IMPORT_BUDGET_MS = 150.0

# Each child prints one JSON object on its last line: perf_counter marks it took.
RAW_FIRST_ROW = """
import json, sys, time
start = time.perf_counter()
import psycopg
imported = time.perf_counter()
with psycopg.connect(sys.argv[1]) as connection:
    row = connection.execute(
        "SELECT id, amount FROM items_4242 WHERE tenant_id = %s AND id = %s", (sys.argv[2], 4242)
    ).fetchone()
    done = time.perf_counter()
    assert row is not None
print(json.dumps({"start": start, "imported": imported, "row": done}))
"""

OURS_FIRST_ROW = """
import json, sys, time
start = time.perf_counter()
import tenantdb
imported = time.perf_counter()
cluster = tenantdb.connect(sys.argv[1])
connected = time.perf_counter()
with cluster.session(tenant=sys.argv[2]) as session:
    row = session.execute("SELECT id, amount FROM items WHERE id = %s", (4242,)).fetchone()
    done = time.perf_counter()
    assert row is not None
cluster.close()
print(json.dumps({"start": start, "imported": imported, "connected": connected, "row": done}))
"""

IMPORT_ONLY = """
import json, time
start = time.perf_counter()
import {module}
print(json.dumps({{"start": start, "imported": time.perf_counter()}}))
"""


def child_environment(pycache: str) -> dict[str, str]:
    """The children's environment: bytecode cached under ``pycache``, as when installed."""
    environment = {**os.environ, "PYTHONPYCACHEPREFIX": pycache}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def child(
    environment: dict[str, str], code: str, *arguments: str
) -> tuple[float, dict[str, float]]:
    """Run ``code`` in a fresh interpreter; the launch mark and the marks the child printed."""
    launched = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-c", code, *arguments],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"child failed:\n{finished.stderr}")
    return launched, json.loads(finished.stdout.strip().splitlines()[-1])


def alternate(
    environment: dict[str, str], rounds: int, raw: tuple[str, ...], ours: tuple[str, ...]
) -> tuple[list[tuple[float, dict[str, float]]], list[tuple[float, dict[str, float]]]]:
    """``rounds`` runs of each child, the order swapped every round so both see the same load."""
    raw_runs, our_runs = [], []
    for index in range(rounds):
        if index % 2:
            our_runs.append(child(environment, *ours))
            raw_runs.append(child(environment, *raw))
        else:
            raw_runs.append(child(environment, *raw))
            our_runs.append(child(environment, *ours))
    return raw_runs, our_runs


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def scratch_database(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE items_4242 (id bigint PRIMARY KEY, tenant_id text NOT NULL,"
            " amount numeric NOT NULL)"
        )
        connection.execute("INSERT INTO items_4242 VALUES (%s, %s, 9.5)", (KEY, TENANT))
    return url


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write_config(directory: str, url: str) -> str:
    path = Path(directory) / "tenantdb.toml"
    path.write_text(
        f"""dialect = "postgres"

[datasources.ds0]
url = "{url}"

[tables.items]
strategy = "mod"
key = "id"
shards = {SHARDS}
datasources = ["ds0"]

[tenants.{TENANT}]
datasource = "ds0"
""",
        encoding="utf-8",
    )
    return str(path)


def measure(environment: dict[str, str], rounds: int, url: str, config: str) -> None:
    first_row = (RAW_FIRST_ROW, url, TENANT), (OURS_FIRST_ROW, config, TENANT)
    alternate(environment, 1, *first_row)  # writes the bytecode cache
    raw_runs, our_runs = alternate(environment, rounds, *first_row)
    raw_total = median_ms([marks["row"] - launched for launched, marks in raw_runs])
    our_total = median_ms([marks["row"] - launched for launched, marks in our_runs])
    split = {
        "import": median_ms([m["imported"] - m["start"] for _, m in our_runs]),
        "connect": median_ms([m["connected"] - m["imported"] for _, m in our_runs]),
        "session + first row": median_ms([m["row"] - m["connected"] for _, m in our_runs]),
    }
    raw_split = {
        "import": median_ms([m["imported"] - m["start"] for _, m in raw_runs]),
        "connect + first row": median_ms([m["row"] - m["imported"] for _, m in raw_runs]),
    }
    print(f"fresh process to first row, {SHARDS:,} physical tables, median of {rounds}:")
    print(f"  psycopg  {raw_total:7.1f} ms  ({_split_text(raw_split)})")
    print(f"  tenantdb {our_total:7.1f} ms  ({_split_text(split)})")
    report(
        "fresh process: import + connect + first row",
        raw=raw_total,
        ours=our_total,
        unit="ms",
        target="import <= 150 ms over psycopg's (next row)",
        met=None,
        detail=_split_text(split),
    )

    psycopg_runs, tenantdb_runs = alternate(
        environment,
        rounds,
        (IMPORT_ONLY.format(module="psycopg"),),
        (IMPORT_ONLY.format(module="tenantdb"),),
    )
    raw_import = median_ms([m["imported"] - m["start"] for _, m in psycopg_runs])
    our_import = median_ms([m["imported"] - m["start"] for _, m in tenantdb_runs])
    over = our_import - raw_import
    print(f"import alone, median of {rounds}:")
    print(f"  import psycopg  {raw_import:7.1f} ms")
    print(f"  import tenantdb {our_import:7.1f} ms  ({over:+.1f} ms)")
    report(
        "import tenantdb over import psycopg",
        raw=raw_import,
        ours=our_import,
        unit="ms",
        target=f"<= {IMPORT_BUDGET_MS:.0f} ms over",
        met=over <= IMPORT_BUDGET_MS,
        detail=f"{over:+.0f} ms",
    )


def _split_text(split: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.0f} ms" for name, value in split.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="fresh processes per side")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 rounds")
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    name = f"tdb_bench_{secrets.token_hex(3)}_startup"
    try:
        url = scratch_database(name)
    except Exception as exc:
        print(f"PostgreSQL: skipped ({type(exc).__name__}: {exc})")
        return 0
    try:
        with tempfile.TemporaryDirectory(prefix="tenantdb-bench-startup-") as directory:
            environment = child_environment(str(Path(directory) / "pycache"))
            measure(environment, rounds, url, write_config(directory, url))
    finally:
        drop_database(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
