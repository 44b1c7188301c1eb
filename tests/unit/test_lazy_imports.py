"""What a fresh process loads: ``import tenantdb`` loads nothing of the package, and a
cluster that is connected and plans a statement loads one dialect and no driver, front,
command line or console it does not use.

Each check runs in a new interpreter, since this test process has imported everything;
a failure names the module that became eager, and ``python -X importtime -c "import
tenantdb"`` shows who imports it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import tenantdb

# Drivers, the command line and the console: never needed to import, connect or plan.
DRIVERS = ("psycopg", "psycopg_pool", "pymysql", "asyncmy", "aiomysql", "aiosqlite", "redis")
TOOLS = ("typer", "rich", "click", "tenantdb.cli", "tenantdb.demo", "tenantdb.console")
OTHER_DIALECTS = (
    "sqlglot.dialects.mysql",
    "sqlglot.dialects.sqlite",
    "sqlglot.dialects.bigquery",
    "sqlglot.dialects.duckdb",
    "sqlglot.dialects.snowflake",
)


def modules_after(code: str) -> set[str]:
    """The names in ``sys.modules`` once ``code`` has run in a fresh interpreter."""
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    finished = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert finished.returncode == 0, finished.stderr
    return set(json.loads(finished.stdout.splitlines()[-1]))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` (packages count with their submodules) are among ``modules``."""
    return sorted(m for m in modules for n in names if m == n or m.startswith(n + "."))


def test_import_loads_nothing_of_the_package() -> None:
    modules = modules_after("import tenantdb")
    assert [m for m in modules if m.startswith("tenantdb.")] == []
    heavy = ("sqlglot", "pydantic", "pydantic_core", "asyncio", "sqlite3", "ssl")
    assert loaded(modules, DRIVERS + TOOLS + heavy) == []


def test_a_postgres_cluster_plans_with_its_dialect_only() -> None:
    modules = modules_after(
        """
        import tenantdb
        cluster = tenantdb.connect({
            "datasources": {"ds0": {"url": "postgresql://app@127.0.0.1:1/none"}},
            "tables": {"items": {"strategy": "mod", "key": "id", "shards": 10000}},
            "tenants": {"acme": {"datasource": "ds0"}},
        })
        cluster.explain("SELECT id FROM items WHERE id = %s", (7,), tenant="acme")
        cluster.close()
        """
    )
    assert "sqlglot.dialects.postgres" in modules  # the statement was parsed for postgres
    # sqlite3 is the SQLite driver: a PostgreSQL cluster does not need it either.
    assert loaded(modules, (*DRIVERS, "sqlite3", *TOOLS, *OTHER_DIALECTS)) == []
    assert loaded(modules, ("tenantdb._async",)) == []  # the asyncio front: not used here


def test_a_sqlite_cluster_plans_with_its_dialect_only() -> None:
    modules = modules_after(
        """
        import tenantdb
        cluster = tenantdb.connect({
            "datasources": {"main": {"url": "sqlite:///never-opened.db"}},
            "tables": {"items": {"strategy": "tenant"}},
            "tenants": {"acme": {"datasource": "main"}},
        })
        cluster.explain("SELECT id FROM items WHERE id = %s", (7,), tenant="acme")
        cluster.close()
        """
    )
    assert "sqlglot.dialects.sqlite" in modules
    postgres = ("sqlglot.dialects.postgres",)
    assert loaded(modules, DRIVERS + TOOLS + postgres + OTHER_DIALECTS[:1]) == []


def test_every_public_name_resolves_in_a_fresh_process() -> None:
    script = """
        import tenantdb
        names = {}
        exec("from tenantdb import *", names)
        print(json.dumps({n: f"{type(v).__name__} {getattr(v, '__module__', '')}"
                          for n, v in names.items() if n != "__builtins__"}))
        """
    finished = subprocess.run(
        [sys.executable, "-c", "import json\n" + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    resolved = json.loads(finished.stdout)
    assert sorted(resolved) == sorted(tenantdb.__all__)
    for name in tenantdb.__all__:
        value = getattr(tenantdb, name)
        assert resolved[name] == f"{type(value).__name__} {getattr(value, '__module__', '')}"


def test_a_misspelt_name_is_an_attribute_error() -> None:
    assert not hasattr(tenantdb, "conect")
    assert "connect" in dir(tenantdb)


def test_sqlalchemy_is_loaded_only_by_the_dialects() -> None:
    # The integration is an optional extra: the package and its DB-API module never need it.
    modules = modules_after("import tenantdb, tenantdb.dbapi")
    assert loaded(modules, ("sqlalchemy", "tenantdb.integrations")) == []
    # The entry point loads the dialects (and SQLAlchemy), still no driver of another backend.
    modules = modules_after(
        """
        import sqlalchemy
        engine = sqlalchemy.create_engine("tenantdb+sqlite:///?config=never-read.toml")
        """
    )
    assert "tenantdb.integrations.sqlalchemy" in modules
    assert loaded(modules, ("psycopg", "pymysql", "asyncmy", "aiosqlite")) == []
