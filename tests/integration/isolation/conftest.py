"""Fixtures for the tenant-isolation suite.

``iso`` (function scope, built once per backend and reused) is an ``IsolationEnv``: a
cluster over one datasource ``ds0`` holding the tables and rows of ``statements.SEED``
(tenant tables ``orders`` and ``order_items``, ``notes``: a single table declared
``tenant_scoped``, broadcast ``countries``, single ``settings`` declared shared, plus an undeclared
application table ``secrets``), the static tenants ``a``,
``b``, the unusual ids and their collation twins, and a *mirror* database with A's rows
only (tenant_id defaulting to ``a``) on which a statement's raw result is what tenantdb
must answer for tenant ``a``.

Everything the suite checks is read through raw driver connections, never through
tenantdb. ``restore()`` puts both databases back to the seed (it reads every table and
rewrites only what changed, so a read-only statement costs a few SELECTs);
``rebuild()`` starts over on fresh databases when a statement that should have been
refused ran (it may have dropped a table, attached a database or changed a pooled
connection's settings).

The cluster is opened on first use on the env's ``front``: the thread front, or the test's
``front`` when the test takes that fixture (its suite runs on both fronts); each front keeps
a cluster of its own over the same databases.
"""

from __future__ import annotations

import contextlib
import decimal
import re
import urllib.parse
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

import tenantdb
from fronts import FRONTS, SYNC, Front

from ..conftest import Backend, RawConnection
from .statements import (
    COLUMNS,
    SEED,
    TABLES,
    TENANT,
    TENANT_TABLES,
    TWIN_IDS,
    UNDECLARED,
    UNUSUAL_IDS,
    Params,
    Row,
)

BACKEND_MARKS = {
    "sqlite": (),
    "postgres": (pytest.mark.postgres,),
    "mysql": (pytest.mark.mysql,),
}
ALL_TENANTS = ("a", "b", *UNUSUAL_IDS, *TWIN_IDS)

Snapshot = dict[str, Any]


def backend_param(name: str, *values: object, id: str | None = None) -> Any:
    """``pytest.param(name, *values)`` with the backend's mark, for indirect ``backend``."""
    return pytest.param(name, *values, marks=BACKEND_MARKS[name], id=id or name)


def on_fronts(params: list[Any], *, async_every: int = 1) -> list[Any]:
    """``params`` (from ``backend_param``) on the thread front, and about one in
    ``async_every`` of them on the asyncio front too, each with the front added as its last
    value and to its id: for ``parametrize((..., "front"), on_fronts(...), indirect=["backend",
    "front"])``. The sample is chosen by a hash of the id, so it is the same in every run and
    follows none of the axes the generators step through."""
    spread = []
    for param in params:
        sampled = zlib.crc32(param.id.encode("utf-8")) % async_every == 0
        spread += [
            pytest.param(*param.values, front, marks=param.marks, id=f"{param.id}-{front}")
            for front in (FRONTS if sampled else ("sync",))
        ]
    return spread


def schema(*, default_tenant: str | None = None) -> list[str]:
    default = f" DEFAULT '{default_tenant}'" if default_tenant else ""
    return [
        "CREATE TABLE orders (id INT PRIMARY KEY, "
        f"tenant_id VARCHAR(64) NOT NULL{default}, amount INT, note VARCHAR(100))",
        "CREATE TABLE order_items (id INT PRIMARY KEY, "
        f"tenant_id VARCHAR(64) NOT NULL{default}, order_id INT, sku VARCHAR(20))",
        "CREATE TABLE notes (id INT PRIMARY KEY, "
        f"tenant_id VARCHAR(64) NOT NULL{default}, body VARCHAR(100))",
        "CREATE TABLE countries (code VARCHAR(8) PRIMARY KEY, name VARCHAR(64))",
        "CREATE TABLE settings (name VARCHAR(32) PRIMARY KEY, value VARCHAR(64))",
    ]


def normalize(value: Any) -> Any:
    """Driver values made comparable across backends (MariaDB sums are Decimals)."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    return value


def norm_rows(rows: Any) -> list[Row]:
    return [tuple(normalize(v) for v in row) for row in rows]


def multiset(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=repr)


_PYFORMAT = re.compile(r"%\((\w+)\)s|%s|%%")


def raw_sql(backend: Backend, sql: str, params: Params) -> tuple[str, Any]:
    """``sql`` with ``%s``/``%(name)s`` placeholders as the raw driver wants them."""
    if params is None:
        return sql, None
    if backend.name != "sqlite":
        return sql, params if isinstance(params, Mapping) else tuple(params)

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "%%":
            return "%"
        return f":{match.group(1)}" if match.group(1) else "?"

    return _PYFORMAT.sub(replace, sql), params if isinstance(params, Mapping) else tuple(params)


@dataclass
class Outcome:
    """What one statement returned: rows (None for a statement without rows)."""

    rows: list[Row] | None
    columns: list[str]
    rowcount: int


def execute_raw(backend: Backend, connection: RawConnection, sql: str, params: Params) -> Outcome:
    text, args = raw_sql(backend, sql, params)
    cursor = connection.cursor()
    try:
        if args is None:
            cursor.execute(text)
        else:
            cursor.execute(text, args)
        if cursor.description is None:
            return Outcome(None, [], cursor.rowcount)
        columns = [d[0] for d in cursor.description]
        return Outcome(norm_rows(cursor.fetchall()), columns, cursor.rowcount)
    finally:
        cursor.close()


class IsolationEnv:
    """A seeded cluster for one backend plus raw connections to check it (module doc)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.dialect = backend.dialect
        self.url = ""
        self.mirror_url = ""
        self.front: Front = SYNC
        """The front ``cluster`` runs on (set by the fixtures for each test)."""
        self._clusters: dict[str, tenantdb.Cluster] = {}
        self._main: RawConnection | None = None
        self._mirror: RawConnection | None = None
        self.rebuild()

    @property
    def cluster(self) -> tenantdb.Cluster:
        """The cluster over the seeded databases on ``front``, opened on first use."""
        cluster = self._clusters.get(self.front.name)
        if cluster is None:
            cluster = self._clusters[self.front.name] = self.front.connect(self.config())
        return cluster

    # --- set-up -------------------------------------------------------------------------
    def config(self, **extra: Any) -> dict[str, Any]:
        """The cluster configuration (a fresh dict; ``extra`` adds top-level keys)."""
        return {
            "dialect": self.dialect,
            "tenant_column": "tenant_id",
            "datasources": {"ds0": {"url": self.url, "pool": {"min_size": 0, "max_size": 4}}},
            "tables": {
                "orders": {"strategy": "tenant"},
                "order_items": {"strategy": "tenant"},
                "notes": {"strategy": "single", "tenant_scoped": True},
                "countries": {"strategy": "broadcast"},
                "settings": {"strategy": "single", "tenant_scoped": False},
            },
            "tenants": {t: {"datasource": "ds0", "isolation": "shared"} for t in ALL_TENANTS},
            **extra,
        }

    def rebuild(self) -> None:
        """Fresh main and mirror databases, seeded; clusters over them open on first use."""
        self.close()
        self.url, self.mirror_url = self.backend.new_databases(2, for_session=True)
        self._main = self.backend.raw_connect(self.url)
        self._mirror = self._connect_mirror()
        undeclared, columns, rows = UNDECLARED
        for statement in [
            *schema(),
            f"CREATE TABLE {undeclared} (id INT PRIMARY KEY, value VARCHAR(64))",
        ]:
            self._exec(self._main, statement)
        self._insert(self._main, undeclared, columns, rows)
        for statement in schema(default_tenant=TENANT):
            self._exec(self._mirror, statement)
        for table in TABLES:
            self._insert(self._main, table, COLUMNS[table], SEED[table])
            self._insert(self._mirror, table, COLUMNS[table], self._mirror_seed(table))

    def _connect_mirror(self) -> RawConnection:
        """The mirror's raw connection counts rows as tenantdb's own connections do: MySQL's
        ``FOUND_ROWS`` makes an UPDATE report the rows it matched, not those it changed."""
        if self.backend.name != "mysql":
            return self.backend.raw_connect(self.mirror_url)
        import pymysql
        from pymysql.constants import CLIENT

        parts = urllib.parse.urlsplit(self.mirror_url)
        return pymysql.connect(
            host=parts.hostname or "localhost",
            port=parts.port or 3306,
            user=urllib.parse.unquote(parts.username or "root"),
            password=urllib.parse.unquote(parts.password or ""),
            database=urllib.parse.unquote(parts.path.lstrip("/")),
            autocommit=True,
            charset="utf8mb4",
            client_flag=CLIENT.FOUND_ROWS,
        )

    def reset_cluster(self) -> None:
        """A new cluster (new pools) over the same databases, on ``front``."""
        cluster = self._clusters.pop(self.front.name, None)
        if cluster is not None:
            cluster.close()

    def close(self) -> None:
        clusters, self._clusters = self._clusters, {}
        for cluster in clusters.values():
            cluster.close()
        for connection in (self._main, self._mirror):
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
        self._main = self._mirror = None

    @staticmethod
    def _mirror_seed(table: str) -> list[Row]:
        if table in TENANT_TABLES:
            return [row for row in SEED[table] if row[1] == TENANT]
        return SEED[table]

    def _exec(self, connection: RawConnection | None, sql: str, params: Any = None) -> None:
        assert connection is not None
        cursor = connection.cursor()
        try:
            cursor.execute(sql) if params is None else cursor.execute(sql, params)
        finally:
            cursor.close()

    def _insert(
        self, connection: RawConnection | None, table: str, columns: tuple[str, ...], rows: Any
    ) -> None:
        assert connection is not None
        if not rows:
            return
        marks = ", ".join([self.backend.placeholder] * len(columns))
        cursor = connection.cursor()
        try:
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [tuple(r) for r in rows],
            )
        finally:
            cursor.close()

    # --- reading ------------------------------------------------------------------------
    def _table(self, connection: RawConnection | None, table: str) -> list[Row] | str:
        """Every row of ``table`` in column order, or an error text (missing, reshaped)."""
        assert connection is not None
        cursor = connection.cursor()
        try:
            cursor.execute(f"SELECT * FROM {table}")
            names = tuple(d[0].lower() for d in cursor.description)
            rows = norm_rows(cursor.fetchall())
        except Exception as exc:  # a dropped table is a finding, reported by comparison
            return f"unreadable: {type(exc).__name__}: {exc}"
        finally:
            with contextlib.suppress(Exception):
                cursor.close()
        if names != COLUMNS[table]:
            return f"columns changed: {names}"
        return multiset(rows)

    def state(self) -> dict[str, list[Row] | str]:
        """Every row of every declared table in the main database."""
        return {table: self._table(self._main, table) for table in TABLES}

    def others(self, tenant: str = TENANT) -> Snapshot:
        """Everything ``tenant`` must not change: other tenants' rows (compared exactly, in
        Python, so collations play no part), the non-tenant tables, the undeclared table."""
        snapshot: Snapshot = {}
        for table, rows in self.state().items():
            if table in TENANT_TABLES and not isinstance(rows, str):
                rows = [row for row in rows if row[1] != tenant]
            snapshot[table] = rows
        snapshot[UNDECLARED[0]] = self._table_any(UNDECLARED[0])
        return snapshot

    def _table_any(self, table: str) -> list[Row] | str:
        assert self._main is not None
        try:
            return multiset(
                execute_raw(self.backend, self._main, f"SELECT * FROM {table}", None).rows or []
            )
        except Exception as exc:
            return f"unreadable: {type(exc).__name__}: {exc}"

    def own(self, tenant: str = TENANT) -> dict[str, list[Row] | str]:
        """``tenant``'s rows in the tenant tables of the main database."""
        own: dict[str, list[Row] | str] = {}
        for table in TENANT_TABLES:
            rows = self._table(self._main, table)
            own[table] = rows if isinstance(rows, str) else [r for r in rows if r[1] == tenant]
        return own

    def mirror_own(self) -> dict[str, list[Row] | str]:
        return {table: self._table(self._mirror, table) for table in TENANT_TABLES}

    def raw(self, sql: str, params: Params = None) -> Outcome:
        """Run a statement on the main database with a raw driver connection."""
        assert self._main is not None
        return execute_raw(self.backend, self._main, sql, params)

    def on_mirror(self, sql: str, params: Params = None) -> Outcome:
        """Run a statement on the mirror (A's rows only) with a raw driver connection."""
        assert self._mirror is not None
        return execute_raw(self.backend, self._mirror, sql, params)

    def on_mirror_many(self, sql: str, rows: list[Params]) -> None:
        """``executemany`` of a statement on the mirror with a raw driver connection."""
        assert self._mirror is not None
        cursor = self._mirror.cursor()
        try:
            text, _ = raw_sql(self.backend, sql, rows[0])
            cursor.executemany(text, [raw_sql(self.backend, sql, row)[1] for row in rows])
        finally:
            cursor.close()

    # --- writing ------------------------------------------------------------------------
    def restore(self) -> None:
        """Both databases back to the seed; rewrites only the tables that changed."""
        try:
            for connection, seed_of in (
                (self._main, lambda t: SEED[t]),
                (self._mirror, self._mirror_seed),
            ):
                for table in TABLES:
                    rows = self._table(connection, table)
                    expected = multiset(norm_rows(seed_of(table)))
                    if isinstance(rows, str):
                        raise RuntimeError(rows)
                    if rows != expected:
                        self._exec(connection, f"DELETE FROM {table}")
                        self._insert(connection, table, COLUMNS[table], seed_of(table))
            if self._table_any(UNDECLARED[0]) != multiset(UNDECLARED[2]):
                raise RuntimeError("undeclared table changed")
        except Exception:
            self.rebuild()

    # --- running through tenantdb -------------------------------------------------------
    def run(
        self, sql: str, params: Params = None, *, tenant: str | None = TENANT, admin: bool = False
    ) -> Outcome:
        """Run one statement through tenantdb in a new session; read every row."""
        with self.cluster.session(tenant=tenant, admin=admin) as session:
            result = session.execute(sql, params)
            if result.description is None:
                return Outcome(None, [], result.rowcount)
            columns = [d[0] for d in result.description]
            rows = norm_rows(result.fetchall())
            return Outcome(rows, columns, result.rowcount)


class _Envs:
    def __init__(self) -> None:
        self.by_backend: dict[str, IsolationEnv] = {}

    def get(self, backend: Backend) -> IsolationEnv:
        env = self.by_backend.get(backend.name)
        if env is None:
            env = self.by_backend[backend.name] = IsolationEnv(backend)
        return env

    def close(self) -> None:
        for env in self.by_backend.values():
            env.close()


@pytest.fixture(scope="session")
def _iso_envs() -> Iterator[_Envs]:
    envs = _Envs()
    yield envs
    envs.close()


def _front(request: pytest.FixtureRequest) -> Front:
    """The test's ``front`` when it takes one (it runs on both fronts), else the thread front."""
    return request.getfixturevalue("front") if "front" in request.fixturenames else SYNC


@pytest.fixture
def iso(backend: Backend, _iso_envs: _Envs, request: pytest.FixtureRequest) -> IsolationEnv:
    """The seeded isolation environment of ``backend``, restored to the seed, its cluster on
    the test's front (see the module docstring)."""
    env = _iso_envs.get(backend)
    env.front = _front(request)
    env.restore()
    return env


# --- the attack environment: indexes, statistics and a registry table ---------------------------

REGISTRY_TABLE = "tenantdb_tenants"


class AttackEnv(IsolationEnv):
    """``IsolationEnv`` plus what the generated attacks (``generators.py``) need: an index on
    the tenant column of every tenant table (main and mirror, statistics gathered, so a
    planner may read B's rows through either index), and the registry's table
    ``tenantdb_tenants(id, version, data)`` in the main database with a record per tenant,
    laid out as the registry stores write it. ``others()`` includes the registry table."""

    def rebuild(self) -> None:
        super().rebuild()
        for connection in (self._main, self._mirror):
            for table in TENANT_TABLES:
                self._exec(connection, f"CREATE INDEX ix_tenant_{table} ON {table} (tenant_id)")
            if self.backend.name == "mysql":
                self._exec(connection, f"ANALYZE TABLE {', '.join(TABLES)}")
            else:
                self._exec(connection, "ANALYZE")
        # Byte-exact ids on MariaDB: 'a', 'A' and 'a ' are three tenants.
        exact = " COLLATE utf8mb4_nopad_bin" if self.backend.name == "mysql" else ""
        self._exec(
            self._main,
            f"CREATE TABLE {REGISTRY_TABLE} (id VARCHAR(64){exact} PRIMARY KEY, "
            "version BIGINT NOT NULL, data TEXT NOT NULL)",
        )
        self._insert(self._main, REGISTRY_TABLE, ("id", "version", "data"), self.registry_seed())

    @staticmethod
    def registry_seed() -> list[Row]:
        return [
            (t, 1, '{"datasource": "ds0", "isolation": "shared", "status": "active"}')
            for t in ALL_TENANTS
        ]

    @property
    def database(self) -> str:
        """The main database's name (MySQL spells schema-qualified names with it)."""
        return urllib.parse.unquote(urllib.parse.urlsplit(self.url).path.lstrip("/"))

    def others(self, tenant: str = TENANT) -> Snapshot:
        snapshot = super().others(tenant)
        snapshot[REGISTRY_TABLE] = self._table_any(REGISTRY_TABLE)
        return snapshot

    def restore(self) -> None:
        super().restore()
        if self._table_any(REGISTRY_TABLE) != multiset(norm_rows(self.registry_seed())):
            self.rebuild()


class _AttackEnvs(_Envs):
    def get(self, backend: Backend) -> IsolationEnv:
        env = self.by_backend.get(backend.name)
        if env is None:
            env = self.by_backend[backend.name] = AttackEnv(backend)
        return env


@pytest.fixture(scope="session")
def _attack_envs() -> Iterator[_AttackEnvs]:
    envs = _AttackEnvs()
    yield envs
    envs.close()


@pytest.fixture
def attack(
    backend: Backend, _attack_envs: _AttackEnvs, request: pytest.FixtureRequest
) -> AttackEnv:
    """The seeded attack environment of ``backend`` (``AttackEnv``), restored to the seed,
    its cluster on the test's front (see the module docstring)."""
    env = _attack_envs.get(backend)
    assert isinstance(env, AttackEnv)
    env.front = _front(request)
    env.restore()
    return env
