"""``open_pool``: the pool of one datasource URL, with the driver chosen by the URL scheme.

Driver packages are imported here, on the first pool of their kind, so the core install
(without the ``[postgres]`` / ``[mysql]`` extras) imports and runs SQLite clusters.
The PostgreSQL and MySQL/MariaDB drivers are written once for both fronts: their pools
come from the generated ``tenantdb._sync.open_pool``, which imports psycopg or PyMySQL on
first use too. (This factory moves into the fronts next, with the SQLite driver.)
"""

from __future__ import annotations

import functools

from .._sync import ConnectionPool
from .._sync import open_pool as open_thread_front_pool
from ..config import PoolConfig, redact_url, url_dialect
from ..errors import ConfigError
from ._driver import Pool


def open_pool(name: str, url: str, config: PoolConfig, *, role: str = "primary") -> Pool:
    """Return the pool of datasource ``name`` at ``url`` (``role``: primary or replica).

    Opens no connection: the pool connects on its first ``acquire``. The driver is chosen
    by the URL scheme: ``sqlite`` → sqlite3, ``postgresql``/``postgres`` → psycopg 3 with
    psycopg_pool, ``mysql``/``mariadb`` → PyMySQL. Raises ``ConfigError`` for another
    scheme or a malformed URL, and ``InterfaceError`` when the driver package is not
    installed (the message says which extra to install).
    """
    dialect = url_dialect(url)
    if dialect == "sqlite":
        from . import _sqlite

        _sqlite.sqlite_path(url)  # reject a malformed URL now, not on first use
        return ConnectionPool(
            name,
            functools.partial(
                _sqlite.connect, url, datasource=name, role=role, timeout=config.timeout
            ),
            role=role,
            min_size=config.min_size,
            max_size=config.max_size,
            timeout=config.timeout,
            # A file on the local disk does not go stale.
            max_idle=None,
        )
    if dialect in ("postgres", "mysql"):
        return open_thread_front_pool(name, url, config, role=role)
    raise ConfigError(
        f"datasource {name!r}: unsupported URL {redact_url(url)!r}; "
        "use a sqlite:, postgresql:, postgres:, mysql: or mariadb: URL"
    )
