"""``open_pool``: the pool of one datasource URL on this front, with the driver chosen by the
URL scheme; ``connect_postgres`` and ``connect_mysql``: one connection outside any pool.

Driver modules are imported on first use, so the core install (without the ``[postgres]``
extra) imports this package and runs SQLite clusters. Every driver is written once for
both fronts.
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING

from ..config import PoolConfig, redact_url, url_dialect
from ..drivers import endpoint, sqlite_path
from ..errors import ConfigError, InterfaceError
from ._driver import AsyncPool
from ._pool import AsyncConnectionPool

if TYPE_CHECKING:
    from ._mysql import AsyncMySQLConnection
    from ._postgres import AsyncPostgresConnection

# dialect → (modules the driver needs, the extra that installs them)
_REQUIREMENTS = {
    "postgres": (("psycopg", "psycopg_pool"), "postgres"),
    "mysql": (("asyncmy",), "mysql-async"),  # sync: "mysql": (("pymysql",), "mysql"),
}


def open_pool(
    name: str, url: str, config: PoolConfig, *, role: str = "primary", create_dirs: bool = False
) -> AsyncPool:
    """Return the pool of datasource ``name`` at ``url`` (``role``: primary or replica).

    ``create_dirs`` (SQLite only): create the file's missing parent directories on the first
    connection; without it that connection raises ShardUnavailableError naming the path.

    Opens no connection: the pool connects on its first ``acquire``. ``postgresql:`` /
    ``postgres:`` URLs get psycopg 3 with psycopg_pool, ``sqlite:`` URLs the standard
    library's sqlite3 (on the asyncio front, a thread of its own per connection),
    ``mysql:`` / ``mariadb:`` URLs this front's MySQL driver (asyncmy) with the generic pool.
    Raises ``ConfigError`` for another scheme or a malformed URL, and ``InterfaceError``
    when the driver package is not installed (the message says which extra to install).
    """
    dialect = url_dialect(url)
    if dialect == "sqlite":
        from ._sqlite import connect

        sqlite_path(url)  # reject a malformed URL now, not on first use
        return AsyncConnectionPool(
            name,
            functools.partial(
                connect,
                url,
                datasource=name,
                role=role,
                timeout=config.timeout,
                create_dirs=create_dirs,
            ),
            role=role,
            min_size=config.min_size,
            max_size=config.max_size,
            timeout=config.timeout,
            # A file on the local disk does not go stale.
            max_idle=None,
        )
    if dialect == "postgres":
        _require(name, dialect)
        from ._postgres import AsyncPostgresPool

        return AsyncPostgresPool(name, url, config, role=role)
    if dialect == "mysql":
        _require(name, dialect)
        from . import _mysql

        params = _mysql.connect_params(url, timeout=config.connect_timeout_s)
        return AsyncConnectionPool(
            name,
            functools.partial(_mysql.connect, url, params, datasource=name, role=role),
            role=role,
            min_size=config.min_size,
            max_size=config.max_size,
            timeout=config.timeout,
            endpoint=endpoint(url),
        )
    raise ConfigError(
        f"datasource {name!r}: unsupported URL {redact_url(url)!r}; "
        "use a sqlite:, postgresql:, postgres:, mysql: or mariadb: URL"
    )


async def connect_postgres(
    url: str, *, datasource: str, role: str = "primary", timeout: float = 30.0
) -> AsyncPostgresConnection:
    """Open one connection to the PostgreSQL ``url`` outside any pool (replica probes);
    the caller closes it with ``close()``. Raises ``ShardUnavailableError`` when the server
    cannot be reached, ``InterfaceError`` when psycopg is not installed."""
    _require(datasource, "postgres")
    from ._postgres import connect

    return await connect(url, datasource=datasource, role=role, timeout=timeout)


async def connect_mysql(
    url: str, *, datasource: str, role: str = "primary", timeout: float = 30.0
) -> AsyncMySQLConnection:
    """Open one connection to the MySQL/MariaDB ``url`` outside any pool (replica probes);
    the caller closes it with ``close()``. Raises ``ConfigError`` for a malformed URL,
    ``ShardUnavailableError`` when the server cannot be reached, ``InterfaceError`` when
    the driver is not installed."""
    _require(datasource, "mysql")
    from ._mysql import connect, connect_params

    params = connect_params(url, timeout=timeout)
    return await connect(url, params, datasource=datasource, role=role)


def _require(name: str, dialect: str) -> None:
    modules, extra = _REQUIREMENTS[dialect]
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise InterfaceError(
                f"datasource {name!r} needs the {module} package, which is not installed: "
                f"pip install 'tenantdb[{extra}]'",
                datasource=name,
            ) from exc
