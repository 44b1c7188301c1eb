"""SQLite database files: the path a ``sqlite:`` URL names, and switching a file to WAL.

Shared by both fronts' SQLite driver, the SQLite tenant store and the admin checks. Both
helpers are blocking; the asyncio front calls them on a connection's own thread.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:  # the driver is loaded by whoever opens a SQLite file, not by this module
    import sqlite3


def sqlite_path(url: str) -> str:
    """Return the file path of a ``sqlite:`` URL (``:memory:`` for an in-memory database).

    ``sqlite:///relative/path.db`` is relative to the working directory,
    ``sqlite:////abs/path.db`` absolute. Raises ``ConfigError`` for a URL with a host or
    query part, which SQLite does not use, or one that names no file.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "sqlite" or parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"invalid SQLite URL {url!r}: use 'sqlite:///relative/path.db', "
            "'sqlite:////absolute/path.db' or 'sqlite:///:memory:'"
        )
    path = urllib.parse.unquote(parts.path[1:])
    if not path:
        raise ConfigError(f"invalid SQLite URL {url!r}: it names no database file")
    return path


def enable_wal(raw: sqlite3.Connection, timeout: float) -> None:
    """Put the database file in WAL mode (once per file; later calls only read the mode).

    Switching needs the file to itself, and SQLite answers "database is locked" at once,
    without waiting on the busy timeout, while another connection uses it: so the switch
    is retried until ``timeout`` seconds have passed. Raises ``sqlite3.OperationalError``
    after that (the caller translates it).
    """
    import sqlite3  # loaded already: ``raw`` is one of its connections

    deadline = time.monotonic() + timeout
    while True:
        try:
            mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                raw.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
