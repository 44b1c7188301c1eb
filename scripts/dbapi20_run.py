"""Run the DB-SIG ``dbapi20.py`` compliance suite against ``tenantdb.dbapi`` (issue 20).

The suite is not ours and is not in this repository: fetch it outside the repo, e.g.
``pip download --no-deps -d /tmp/dbapi20 dbapi-compliance`` and unzip it, then::

    .venv/bin/python scripts/dbapi20_run.py /tmp/dbapi20/dbapi-compliance-1.15.0 [BACKEND ...]

It imports ``dbapi20`` from the directory given and runs its ``DatabaseAPI20Test`` in an
admin connection on each backend (the local services: PostgreSQL 127.0.0.1:5432 as
``postgres``, MariaDB 127.0.0.1:3306 as ``root``; fresh databases, dropped afterwards) in
four layouts:

``single``           one datasource, the suite's tables undeclared (``single``);
``sharded``          two datasources, both tables ``hash_mod`` on ``name`` over 4 shards;
``sharded+columns``  the same, with the suite's INSERTs given their column list by this
                     script (``INSERT INTO t VALUES`` names no sharding key, which a sharded
                     table needs), to count everything else;
``broadcast``        two datasources, both tables ``broadcast``.

The suite's ``test_nextset`` and ``test_setoutputsize`` are stubs that tell a driver to
override them; they are overridden here with empty tests, so of each layout's 36 tests 34
check something. Prints a table of run/passed/failed/errored per backend and layout.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import unittest
import uuid
from typing import Any

from tenantdb import dbapi

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
LAYOUTS = ("single", "sharded", "sharded+columns", "broadcast")
_COLUMNS = {"booze": "(name)", "barflys": "(name, drink)"}
_ORIGINAL = (dbapi.Cursor.execute, dbapi.Cursor.executemany)


def make_databases(backend: str, names: list[str], directory: str) -> list[str]:
    if backend == "sqlite":
        return [f"sqlite:///{os.path.join(directory, name)}.db" for name in names]
    if backend == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            for name in names:
                connection.execute(f"CREATE DATABASE {name}")
        return [f"postgresql://postgres@127.0.0.1:5432/{name}" for name in names]
    import pymysql

    server = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    with server:
        for name in names:
            server.cursor().execute(f"CREATE DATABASE {name}")
    return [f"mysql://root@127.0.0.1:3306/{name}" for name in names]


def drop_databases(backend: str, names: list[str]) -> None:
    if backend == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            for name in names:
                connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    elif backend == "mysql":
        import pymysql

        server = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
        with server:
            for name in names:
                server.cursor().execute(f"DROP DATABASE IF EXISTS {name}")


def config(backend: str, layout: str, urls: list[str], prefix: str) -> dict[str, Any]:
    datasources = {f"ds{i}": {"url": url} for i, url in enumerate(urls)}
    tables: dict[str, Any] = {}
    for table in ("booze", "barflys"):
        if layout == "broadcast":
            tables[prefix + table] = {"strategy": "broadcast"}
        elif layout.startswith("sharded"):
            tables[prefix + table] = {
                "strategy": "hash_mod",
                "key": "name",
                "key_type": "text",
                "shards": 4,
                "datasources": list(datasources),
                "tenant_scoped": False,
            }
    dialect = {"sqlite": "sqlite", "postgres": "postgres", "mysql": "mysql"}[backend]
    return {"dialect": dialect, "datasources": datasources, "tables": tables}


def list_columns(on: bool, prefix: str) -> None:
    """Give the suite's ``INSERT INTO <table> VALUES`` its column list (or stop)."""
    execute, executemany = _ORIGINAL
    if not on:
        dbapi.Cursor.execute, dbapi.Cursor.executemany = execute, executemany  # type: ignore[method-assign]
        return
    pattern = re.compile(rf"(into {prefix}(booze|barflys)) values", re.IGNORECASE)

    def listed(sql: str) -> str:
        return pattern.sub(lambda m: f"{m.group(1)} {_COLUMNS[m.group(2)]} values", sql)

    dbapi.Cursor.execute = lambda self, sql, params=None: execute(self, listed(sql), params)  # type: ignore[method-assign,assignment]
    dbapi.Cursor.executemany = lambda self, sql, seq: executemany(self, listed(sql), seq)  # type: ignore[method-assign,assignment]


def suite_class(base: type, name: str, cfg: dict[str, Any]) -> type:
    def skip_stub(self: unittest.TestCase) -> None:
        """The suite leaves this test for each driver to write."""

    return type(
        name,
        (base,),
        {
            "driver": dbapi,
            "connect_args": (cfg,),
            "connect_kw_args": {"admin": True},
            "test_nextset": skip_stub,
            "test_setoutputsize": skip_stub,
        },
    )


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    sys.path.insert(0, sys.argv[1])
    import dbapi20  # type: ignore[import-not-found]  # the DB-SIG suite, from the path given

    base = dbapi20.DatabaseAPI20Test
    prefix = base.table_prefix
    run = uuid.uuid4().hex[:6]
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for backend in sys.argv[2:] or ["sqlite", "postgres", "mysql"]:
            for layout in LAYOUTS:
                names = [
                    f"dbapi20_{run}_{layout[:4]}_{i}" for i in range(1 if layout == "single" else 2)
                ]
                urls = make_databases(backend, names, directory)
                list_columns(layout == "sharded+columns", prefix)
                try:
                    cls = suite_class(
                        base, f"{backend}_{layout}", config(backend, layout, urls, prefix)
                    )
                    print(f"=== {backend} {layout}", flush=True)
                    suite = unittest.defaultTestLoader.loadTestsFromTestCase(cls)
                    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=1).run(suite)
                finally:
                    list_columns(False, prefix)
                    drop_databases(backend, names)
                bad = [test.id().rsplit(".", 1)[1] for test, _ in result.failures + result.errors]
                failed, errored = len(result.failures), len(result.errors)
                passed = result.testsRun - failed - errored - len(result.skipped)
                rows.append((backend, layout, result.testsRun, passed, failed, errored, bad))
    header = f"{'backend':9}{'layout':17}{'run':>4}{'passed':>7}{'failed':>7}{'errored':>8}"
    print(f"\n{header}  not passing")
    for backend, layout, total, passed, failed, errored, bad in rows:
        print(f"{backend:9}{layout:17}{total:4}{passed:7}{failed:7}{errored:8}  {', '.join(bad)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
