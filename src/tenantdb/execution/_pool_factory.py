"""``open_pool``: the pool of one datasource URL, with the driver chosen by the URL scheme.

Every driver is written once for both fronts: the pools come from the generated
``tenantdb._sync.open_pool``, which imports each driver package on the first pool of its
kind, so the core install (without the ``[postgres]`` / ``[mysql]`` extras) imports and
runs SQLite clusters. (This name stays until the rest of ``execution`` moves into the
fronts.)
"""

from __future__ import annotations

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
    if dialect in ("sqlite", "postgres", "mysql"):
        return open_thread_front_pool(name, url, config, role=role)
    raise ConfigError(
        f"datasource {name!r}: unsupported URL {redact_url(url)!r}; "
        "use a sqlite:, postgresql:, postgres:, mysql: or mariadb: URL"
    )
