"""tenantdb.dbapi as a PEP 249 module: a generic DB-API tool runs on it unchanged."""

from __future__ import annotations

import sqlite3
from types import ModuleType
from typing import Any

import pytest

import tenantdb
from tenantdb import dbapi

from .conftest import Backend
from .test_session import SCHEMA, TYPES, cluster_config

# -- a "tool" written only against PEP 249, as ETL or reporting tools are ---------------


def _marker(module: ModuleType, name: str) -> str:
    style = module.paramstyle
    return {"qmark": "?", "pyformat": f"%({name})s", "named": f":{name}", "format": "%s"}[style]


def load(module: ModuleType, conn: Any, table: str, rows: list[dict[str, Any]]) -> int:
    columns = list(rows[0])
    markers = ", ".join(_marker(module, c) for c in columns)
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({markers})"
    if module.paramstyle in ("qmark", "format"):
        params: list[Any] = [tuple(r[c] for c in columns) for r in rows]
    else:
        params = rows
    cursor = conn.cursor()
    cursor.executemany(statement, params)
    conn.commit()
    return int(cursor.rowcount)


def dump(module: ModuleType, conn: Any, query: str) -> list[dict[str, Any]]:
    cursor = conn.cursor()
    cursor.arraysize = 3
    try:
        cursor.execute(query)
    except module.Error as exc:  # the tool catches the module's own base class
        raise RuntimeError(f"query failed: {exc}") from exc
    names = [d[0] for d in cursor.description]
    out: list[dict[str, Any]] = []
    while batch := cursor.fetchmany():
        out.extend(dict(zip(names, row, strict=True)) for row in batch)
    cursor.close()
    return out


def test_module_globals() -> None:
    assert dbapi.apilevel == "2.0"
    assert dbapi.paramstyle == "pyformat"
    assert dbapi.threadsafety in (0, 1, 2, 3)
    for name in (
        "Warning",
        "Error",
        "InterfaceError",
        "DatabaseError",
        "DataError",
        "OperationalError",
        "IntegrityError",
        "InternalError",
        "ProgrammingError",
        "NotSupportedError",
    ):
        assert issubclass(getattr(dbapi, name), Exception)
        assert getattr(dbapi.Connection, name) is getattr(dbapi, name)
    assert issubclass(dbapi.IntegrityError, dbapi.DatabaseError)
    assert dbapi.Date(2026, 1, 2).isoformat() == "2026-01-02"


def test_generic_tool_gives_the_same_answer_as_sqlite3(backend: Backend, tmp_path: Any) -> None:
    rows = [{"item_id": i, "name": f"item {i}"} for i in range(10)]
    query = "SELECT item_id, name FROM items WHERE item_id >= 3 ORDER BY item_id"

    plain = sqlite3.connect(tmp_path / "plain.db")
    plain.execute("CREATE TABLE items (item_id INTEGER PRIMARY KEY, name TEXT)")
    assert load(sqlite3, plain, "items", rows) == 10
    expected = dump(sqlite3, plain, query)
    plain.close()

    config = cluster_config(backend, backend.new_databases(2))
    with tenantdb.connect(config) as cluster:
        with cluster.session(admin=True) as admin:
            admin.execute(SCHEMA[0].format(**TYPES[backend.name]))
        conn = dbapi.connect(cluster, admin=True)
        assert load(dbapi, conn, "items", rows) == 10
        assert dump(dbapi, conn, query) == expected
        with pytest.raises(RuntimeError, match="query failed"):
            dump(dbapi, conn, "SELECT nope FROM items WHERE item_id = 1")
        conn.close()
        assert conn.closed


def test_transactions_follow_pep_249(backend: Backend) -> None:
    urls = backend.new_databases(2)
    config = cluster_config(backend, urls)
    with tenantdb.connect(config) as cluster:
        with cluster.session(admin=True) as admin:
            admin.execute(SCHEMA[0].format(**TYPES[backend.name]))
        conn = dbapi.connect(cluster)
        cursor = conn.cursor()
        cursor.execute("INSERT INTO items (item_id, name) VALUES (%s, %s)", (1, "a"))
        assert cursor.rowcount == 1
        with pytest.raises(dbapi.ProgrammingError, match="no rows"):
            cursor.fetchone()
        conn.rollback()  # the implicit transaction is undone
        cursor.execute("SELECT COUNT(*) FROM items WHERE item_id = %s", (1,))
        assert cursor.fetchone() == (0,)
        cursor.execute("INSERT INTO items (item_id, name) VALUES (%s, %s)", (1, "a"))
        conn.commit()
        assert backend.query(urls[1], "SELECT name FROM items_1") == [("a",)]
        with conn:  # commits on success, like sqlite3
            conn.cursor().execute("INSERT INTO items (item_id) VALUES (%(id)s)", {"id": 2})
        assert backend.query(urls[0], "SELECT item_id FROM items_2") == [(2,)]
        with pytest.raises(dbapi.IntegrityError):
            cursor.execute("INSERT INTO items (item_id) VALUES (%s)", (2,))
        conn.rollback()
        conn.close()

        auto = dbapi.connect(cluster, autocommit=True)
        auto.cursor().execute("INSERT INTO items (item_id) VALUES (%s)", (3,))
        assert backend.query(urls[1], "SELECT item_id FROM items_3") == [(3,)]
        auto.close()
        with pytest.raises(dbapi.InterfaceError, match="closed"):
            auto.cursor().execute("SELECT COUNT(*) FROM items WHERE item_id = 3")


def test_connect_from_a_config_file(tmp_path: Any) -> None:
    config = tmp_path / "tenantdb.toml"
    config.write_text(f'[datasources.ds0]\nurl = "sqlite:///{tmp_path}/one.db"\n', encoding="utf-8")
    conn = dbapi.connect(str(config), autocommit=True)
    cursor = conn.cursor()
    cursor.execute("SELECT 1 + 1")
    assert cursor.fetchall() == [(2,)]
    assert cursor.description is not None
    cursor.close()
    with pytest.raises(dbapi.InterfaceError, match="cursor is closed"):
        cursor.fetchall()
    conn.close()
