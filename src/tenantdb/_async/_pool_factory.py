"""``open_pool``: the pool of one datasource URL on this front, with the driver chosen by the
URL scheme; ``connect_postgres``: one PostgreSQL connection outside any pool.

Driver modules are imported on first use, so the core install (without the ``[postgres]``
extra) imports this package and runs SQLite clusters. Only the PostgreSQL driver is
written for both fronts so far: ``open_pool`` refuses the other schemes, and on the thread
front ``tenantdb.execution.open_pool`` still opens SQLite and MySQL pools itself and hands
``postgresql:`` URLs to this module's generated twin.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..config import PoolConfig, redact_url, url_dialect
from ..errors import ConfigError, InterfaceError, NotSupportedError
from ._driver import AsyncPool

if TYPE_CHECKING:
    from ._postgres import AsyncPostgresConnection

# dialect → (modules the driver needs, the extra that installs them)
_REQUIREMENTS = {"postgres": (("psycopg", "psycopg_pool"), "postgres")}
# Where the schemes this front cannot open yet are opened.
_ELSEWHERE = (
    "the asyncio front supports postgresql: URLs so far"  # sync: "use tenantdb.execution.open_pool"
)


def open_pool(name: str, url: str, config: PoolConfig, *, role: str = "primary") -> AsyncPool:
    """Return the pool of datasource ``name`` at ``url`` (``role``: primary or replica).

    Opens no connection: the pool connects on its first ``acquire``. ``postgresql:`` /
    ``postgres:`` URLs get psycopg 3 with psycopg_pool. Raises ``NotSupportedError`` for
    ``sqlite:`` and ``mysql:`` URLs (not on this front yet), ``ConfigError`` for another
    scheme or a malformed URL, and ``InterfaceError`` when the driver package is not
    installed (the message says which extra to install).
    """
    dialect = url_dialect(url)
    if dialect == "postgres":
        _require(name, dialect)
        from ._postgres import AsyncPostgresPool

        return AsyncPostgresPool(name, url, config, role=role)
    if dialect is not None:
        raise NotSupportedError(
            f"datasource {name!r}: {dialect} URLs cannot be opened here; {_ELSEWHERE}"
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
