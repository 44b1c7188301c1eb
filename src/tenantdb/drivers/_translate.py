"""Driver exceptions → tenantdb exceptions, and the messages of the pool-level errors.

Every driver module translates its exceptions by calling ``translate`` (statements) or
``unreachable`` (connecting) from one ``except`` clause per method; nothing else in
tenantdb looks at driver exception classes. The PEP 249 kind is kept: a driver's
``IntegrityError`` becomes ``tenantdb.IntegrityError``, and so on, with the driver's error in
``orig`` and the datasource, role and physical statement attached. Messages carry the
driver's own text (PostgreSQL: the primary message only, because its DETAIL line may quote
row values) and never the statement's parameters or a URL's password.
"""

from __future__ import annotations

import sys
import urllib.parse
from collections.abc import Sequence
from types import ModuleType

from ..config import redact_url
from ..core.moves import MOVED_MESSAGE
from ..errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PoolTimeoutError,
    ProgrammingError,
    ShardUnavailableError,
    TenantMovedError,
)

ErrorKinds = Sequence[tuple[type[BaseException], type[Error]]]
"""Pairs of (driver exception class, tenantdb class), most specific first."""

# PEP 249 names, subclasses before their bases, so the first isinstance() match is the kind.
_PEP249: tuple[tuple[str, type[Error]], ...] = (
    ("IntegrityError", IntegrityError),
    ("DataError", DataError),
    ("ProgrammingError", ProgrammingError),
    ("NotSupportedError", NotSupportedError),
    ("InternalError", InternalError),
    ("OperationalError", OperationalError),
    ("DatabaseError", DatabaseError),
    ("InterfaceError", InterfaceError),
    ("Error", DatabaseError),
)


def error_kinds(driver: ModuleType) -> tuple[tuple[type[BaseException], type[Error]], ...]:
    """Pair each PEP 249 exception class a driver module defines with tenantdb's class."""
    return tuple((getattr(driver, name), ours) for name, ours in _PEP249 if hasattr(driver, name))


def translate(
    exc: BaseException,
    kinds: ErrorKinds,
    *,
    datasource: str,
    role: str,
    statement: str | None,
    message: str,
    connection_lost: bool = False,
    kind: type[Error] | None = None,
) -> Error:
    """Return the tenantdb error for driver error ``exc`` (the caller raises it ``from exc``).

    ``message`` is the driver's text for the error, already stripped of anything that may
    quote row values. ``connection_lost`` (the driver says the connection is gone) gives a
    ``ShardUnavailableError``: the statement may or may not have been applied.
    """
    where = f"datasource {datasource!r} ({role})"
    if connection_lost:
        return ShardUnavailableError(
            f"{where} lost its connection during a statement, which may or may not have "
            f"been applied: {message}",
            datasource=datasource,
            role=role,
            statement=statement,
            orig=exc,
        )
    cls: type[Error] = DatabaseError
    if MOVED_MESSAGE in message:  # a moved tenant's old place, fenced (core.moves.Capture)
        cls = TenantMovedError
    elif kind is not None:
        cls = kind
    else:
        for driver_cls, ours in kinds:
            if isinstance(exc, driver_cls):
                cls = ours
                break
    return cls(
        f"{where}: {message}", datasource=datasource, role=role, statement=statement, orig=exc
    )


def unreachable(
    exc: BaseException, *, datasource: str, role: str, url: str, reason: str
) -> ShardUnavailableError:
    """Return the error for a failed attempt to connect to ``url`` (refused, unreachable,
    rejected credentials, unknown database): the URL is shown redacted and the password is
    scrubbed from the driver's ``reason`` as well."""
    return ShardUnavailableError(
        f"datasource {datasource!r} ({role}) is unavailable at {redact_url(url)}: "
        f"{scrub_password(reason, url)}",
        datasource=datasource,
        role=role,
        orig=exc,
    )


def pool_timeout(*, datasource: str, role: str, timeout: float, max_size: int) -> PoolTimeoutError:
    """Return the error for an ``acquire`` that found no free connection in ``timeout`` s."""
    return PoolTimeoutError(
        f"no connection of datasource {datasource!r} ({role}) became free within "
        f"{timeout:g} s: all {max_size} are in use; raise pool.max_size of "
        f"{datasource!r}, shorten transactions, or run fewer statements at once",
        datasource=datasource,
        role=role,
    )


def pool_closed(*, datasource: str, role: str) -> InterfaceError:
    """Return the error for using a pool after ``close()``."""
    return InterfaceError(
        f"the pool of datasource {datasource!r} ({role}) is closed",
        datasource=datasource,
        role=role,
    )


def scrub_password(text: str, url: str) -> str:
    """Return ``text`` with the password of ``url`` (as written and decoded) replaced by ***.

    Drivers sometimes echo connection parameters in their messages; this is the last line
    of defence that keeps a password out of an error.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        raw = parts.netloc.rpartition("@")[0].partition(":")[2]
    except ValueError:
        return text
    for secret in {raw, urllib.parse.unquote(raw)}:
        if secret:
            text = text.replace(secret, "***")
    return text


# -- "no such table", as each driver says it --------------------------------------------------

_MYSQL_NO_SUCH_TABLE = 1146


def is_undefined_table(orig: BaseException | None) -> bool:
    """Whether a driver error says a table does not exist (PostgreSQL 42P01, MySQL/MariaDB
    1146, SQLite "no such table")."""
    if orig is None:
        return False
    if getattr(orig, "sqlstate", None) == "42P01":
        return True
    # Looked up, not imported: an error raised by sqlite3 means it is loaded, and a cluster
    # on another backend should not load it.
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(orig, sqlite3.OperationalError):
        return str(orig).startswith("no such table")
    args: tuple[object, ...] = getattr(orig, "args", ())
    return (
        # PyMySQL on the thread front, asyncmy on the asyncio front
        type(orig).__module__.startswith(("pymysql", "asyncmy"))
        and bool(args)
        and args[0] == _MYSQL_NO_SUCH_TABLE
    )
