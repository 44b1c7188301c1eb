"""Fixtures for integration tests against real databases: SQLite always, PostgreSQL and
MariaDB/MySQL when their servers answer.

Fixtures
--------
``backend`` (session scope)
    Parametrized over ``"sqlite"``, ``"postgres"`` (pytest mark ``postgres``) and
    ``"mysql"`` (mark ``mysql``); test ids are those names. A ``Backend`` creates fresh,
    empty databases (``backend.new_databases(n)`` returns their URLs) and opens raw driver
    connections to them (``backend.raw_connect(url)``) so a test can check data without
    going through tenantdb. To run a test on a subset of backends, parametrize it
    indirectly, keeping the marks::

        SERVERS = [
            pytest.param("postgres", marks=pytest.mark.postgres),
            pytest.param("mysql", marks=pytest.mark.mysql),
        ]

        @pytest.mark.parametrize("backend", SERVERS, indirect=True)
        def test_something(backend: Backend) -> None: ...

``front`` (session scope)
    Parametrized over ``"sync"`` and ``"async"`` (test ids the same): a ``fronts.Front``
    whose ``connect(config, **kwargs)`` returns ``tenantdb.connect(...)`` or, on the
    asyncio front, a ``fronts.BlockingCluster`` over ``tenantdb.connect_async(...)``, so one
    sync-written test checks both fronts (see ``tests/fronts.py``). ``front.name`` says which.

``run_id`` (session scope)
    ``tdb_<8 hex digits>_<xdist worker id or "main">``, unique per test run and per
    worker process: every database a run creates is named ``<run_id>_<n>``, so concurrent
    runs and workers on one server cannot collide.

Dropping
--------
A database from ``backend.new_databases(n)`` lives until the worker leaves the test module
that created it (module-scoped fixtures end there too); it is then dropped on a background
thread while the next tests run (PostgreSQL forces a checkpoint for every ``DROP DATABASE``,
about 0.15 s each: piled up at the end of a run they cost a minute). A session-scoped
fixture asks for ``new_databases(n, for_session=True)``. Whatever is left is dropped when
the session ends (PostgreSQL: ``DROP DATABASE … WITH (FORCE)``).

Servers
-------
``TENANTDB_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) and
``TENANTDB_TEST_MYSQL_URL`` (default ``mysql://root@127.0.0.1:3306/``) name a server and
an account allowed to create databases. Each server is tried once per session; when it does
not answer, its tests are skipped with the reason shown (``-ra``), or fail when
``TENANTDB_REQUIRE_SERVICES=1`` (CI sets it after ``scripts/services.sh``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import secrets
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, Protocol

import pytest

from fronts import FRONTS, Front

PG_URL_ENV = "TENANTDB_TEST_PG_URL"
MYSQL_URL_ENV = "TENANTDB_TEST_MYSQL_URL"
REQUIRE_ENV = "TENANTDB_REQUIRE_SERVICES"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/"
CONNECT_TIMEOUT_S = 5

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", id="mysql", marks=pytest.mark.mysql),
]


class RawConnection(Protocol):
    """The part of a PEP 249 connection the helpers use."""

    def cursor(self) -> Any: ...

    def close(self) -> None: ...


class _Server(Protocol):
    """One database server (or, for SQLite, one directory) that can host test databases."""

    def create(self, name: str) -> str:
        """Create empty database ``name``; return its URL."""
        ...

    def raw_connect(self, url: str) -> RawConnection: ...

    def drop_later(self, name: str) -> None:
        """Drop database ``name`` on a background thread (see "Dropping" above)."""
        ...

    def drop_all(self) -> None:
        """Drop every database this server object created and has not dropped yet."""
        ...


class Backend:
    """One kind of database for the tests of one parametrization.

    ``name`` and ``dialect`` are ``"sqlite"``, ``"postgres"`` or ``"mysql"``;
    ``placeholder`` is the raw driver's parameter marker (``?`` or ``%s``).
    """

    def __init__(self, name: str, server: _Server, names: Iterator[str]) -> None:
        self.name = name
        self.dialect = name
        self.placeholder = "?" if name == "sqlite" else "%s"
        self._server = server
        self._names = names

    def new_databases(self, n: int, *, for_session: bool = False) -> list[str]:
        """Create ``n`` fresh, empty databases; return their URLs. They are dropped once the
        worker leaves the current test module, or with ``for_session`` at session end."""
        names = [next(self._names) for _ in range(n)]
        urls = [self._server.create(name) for name in names]
        if not for_session:
            _MODULE_DATABASES.extend((self._server, name) for name in names)
        return urls

    def new_database(self) -> str:
        """Create one fresh, empty database; return its URL."""
        return self.new_databases(1)[0]

    def raw_connect(self, url: str) -> RawConnection:
        """Open a raw driver connection (sqlite3, psycopg or PyMySQL) in autocommit mode.

        The caller closes it: ``with contextlib.closing(backend.raw_connect(url)) as c:``.
        """
        return self._server.raw_connect(url)

    def query(self, url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on a raw connection (``placeholder`` style); return its rows
        (``[]`` for a statement that returns none)."""
        with contextlib.closing(self.raw_connect(url)) as connection:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, tuple(params))
                if cursor.description is None:
                    return []
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()

    def __repr__(self) -> str:
        return f"<Backend {self.name}>"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(reason)


def _address(url: str, default_port: int) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or default_port}"


def _with_database(url: str, database: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{database}"))


class _Dropper:
    """The databases one server object created and has not dropped, and the background
    thread that drops those handed to ``drop_later`` (``drop``: the server's own DROP of a
    list of names). ``drop_all`` waits for that thread, then drops the rest itself."""

    def __init__(self, drop: Callable[[list[str]], None]) -> None:
        self._drop = drop
        self._lock = threading.Lock()
        self._undropped: list[str] = []  # only touched under _lock
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="test-db-dropper", daemon=True)
        self._thread.start()
        self._closed = False
        self.failure: BaseException | None = None

    def created(self, name: str) -> None:
        with self._lock:
            self._undropped.append(name)

    def drop_later(self, name: str) -> None:
        # After drop_all (the session's last module ends with it) the name is gone already.
        if not self._closed:
            self._queue.put(name)

    def drop_all(self) -> None:
        self._closed = True
        self._queue.put(None)
        self._thread.join(_DROP_WAIT_S)  # a hang guard: it has at most a module's to drop
        with self._lock:
            rest, self._undropped = self._undropped, []
        if rest:
            self._drop(rest)
        if self.failure is not None:
            raise RuntimeError("dropping test databases in the background failed") from (
                self.failure
            )

    def _run(self) -> None:
        while (name := self._queue.get()) is not None:
            try:
                self._drop([name])
            except Exception as exc:  # drop_all tries again and reports it
                self.failure = exc
                continue
            with self._lock:
                self._undropped.remove(name)


# Databases created since the worker entered the current test module: (server, name).
_MODULE_DATABASES: list[tuple[_Server, str]] = []
_DROP_WAIT_S = 300.0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Leaving a test module (its module-scoped fixtures are gone now): its databases go to
    their servers' background droppers."""
    result = yield
    if _MODULE_DATABASES and (
        nextitem is None or nextitem.getparent(pytest.Module) is not item.getparent(pytest.Module)
    ):
        for server, name in _MODULE_DATABASES:
            server.drop_later(name)
        _MODULE_DATABASES.clear()
    return result


class _SQLiteServer:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def create(self, name: str) -> str:
        path = self._directory / f"{name}.db"
        sqlite3.connect(path).close()
        return f"sqlite:///{path}"  # path is absolute: sqlite:////abs/…

    def raw_connect(self, url: str) -> RawConnection:
        path = urllib.parse.unquote(urllib.parse.urlsplit(url).path[1:])
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def drop_later(self, name: str) -> None:
        pass  # the files live in pytest's temporary directory

    def drop_all(self) -> None:
        pass


class _PostgresServer:
    def __init__(self, admin_url: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self._admin_url = admin_url
        self._dropper = _Dropper(self._drop)

    def create(self, name: str) -> str:
        from psycopg import sql

        create = sql.SQL("CREATE DATABASE {}")
        with self.raw_connect(self._admin_url) as admin:
            admin.execute(create.format(sql.Identifier(name)))
        self._dropper.created(name)
        return _with_database(self._admin_url, name)

    def raw_connect(self, url: str) -> Any:
        return self._psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)

    def drop_later(self, name: str) -> None:
        self._dropper.drop_later(name)

    def drop_all(self) -> None:
        self._dropper.drop_all()

    def _drop(self, names: list[str]) -> None:
        from psycopg import sql

        with self.raw_connect(self._admin_url) as admin:
            for name in names:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


class _MySQLServer:
    def __init__(self, admin_url: str) -> None:
        import pymysql

        self._pymysql = pymysql
        self._admin_url = admin_url
        self._dropper = _Dropper(self._drop)

    def create(self, name: str) -> str:
        self._admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        self._dropper.created(name)
        return _with_database(self._admin_url, name)

    def raw_connect(self, url: str) -> Any:
        parts = urllib.parse.urlsplit(url)
        return self._pymysql.connect(
            host=parts.hostname or "localhost",
            port=parts.port or 3306,
            user=urllib.parse.unquote(parts.username or "root"),
            password=urllib.parse.unquote(parts.password or ""),
            database=urllib.parse.unquote(parts.path.lstrip("/")) or None,
            autocommit=True,
            charset="utf8mb4",
            connect_timeout=CONNECT_TIMEOUT_S,
        )

    def drop_later(self, name: str) -> None:
        self._dropper.drop_later(name)

    def drop_all(self) -> None:
        self._dropper.drop_all()

    def _drop(self, names: list[str]) -> None:
        with (
            contextlib.closing(self.raw_connect(self._admin_url)) as admin,
            admin.cursor() as cursor,
        ):
            for name in names:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")

    def _admin(self, statement: str) -> None:
        with (
            contextlib.closing(self.raw_connect(self._admin_url)) as admin,
            admin.cursor() as cursor,
        ):
            cursor.execute(statement)


@pytest.fixture(scope="session")
def run_id() -> str:
    """``tdb_<8 hex>_<worker>``: the prefix of every database this test run creates.

    Under pytest-xdist each worker process is a session of its own and gets its own
    prefix (its worker id, ``gw0``, ``gw1``, ..., ``main`` without xdist), so workers
    never share or drop each other's databases, keys or tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"tdb_{secrets.token_hex(4)}_{worker}"


@pytest.fixture(scope="session")
def _database_names(run_id: str) -> Iterator[str]:
    return (f"{run_id}_{n}" for n in itertools.count(1))


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory, run_id: str) -> _SQLiteServer:
    return _SQLiteServer(tmp_path_factory.mktemp(run_id))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[_PostgresServer]:
    """The PostgreSQL server of ``TENANTDB_TEST_PG_URL``, checked once per session."""
    url = os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)
    address = _address(url, 5432)
    try:
        server = _PostgresServer(url)
    except ImportError as exc:
        _unavailable(f"PostgreSQL tests need psycopg: pip install 'tenantdb[postgres]' ({exc})")
    try:
        server.raw_connect(url).close()
    except Exception as exc:  # any failure to connect means "not reachable"
        _unavailable(f"PostgreSQL not reachable at {address}: {exc}".strip())
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[_MySQLServer]:
    """The MariaDB/MySQL server of ``TENANTDB_TEST_MYSQL_URL``, checked once per session."""
    url = os.environ.get(MYSQL_URL_ENV, DEFAULT_MYSQL_URL)
    address = _address(url, 3306)
    try:
        server = _MySQLServer(url)
    except ImportError as exc:
        _unavailable(f"MySQL tests need PyMySQL: pip install 'tenantdb[mysql]' ({exc})")
    try:
        server.raw_connect(url).close()
    except Exception as exc:  # any failure to connect means "not reachable"
        _unavailable(f"MariaDB/MySQL not reachable at {address}: {exc}")
    yield server
    server.drop_all()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, _database_names: Iterator[str]) -> Backend:
    """One kind of database (see the module docstring); skipped when its server is down."""
    name: str = request.param
    server: _Server = request.getfixturevalue(f"{name}_server")
    return Backend(name, server, _database_names)


@pytest.fixture(scope="session", params=FRONTS, ids=FRONTS)
def front(request: pytest.FixtureRequest) -> Front:
    """The front a behaviour test runs on (see the module docstring)."""
    return Front(request.param)
