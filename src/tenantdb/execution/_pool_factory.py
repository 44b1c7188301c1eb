"""``open_pool``: the pool of one datasource URL, with the driver chosen by the URL scheme.

Driver packages are imported here, on the first pool of their kind, so the core install
(without the ``[postgres]`` / ``[mysql]`` extras) imports and runs SQLite clusters.
PostgreSQL's driver is written once for both fronts: its pools come from the generated
``tenantdb._sync.open_pool``, which imports psycopg on first use too. (This factory moves
into the fronts next, with the SQLite and MySQL drivers.)
"""

from __future__ import annotations

import functools
import importlib

from .._sync import ConnectionPool
from .._sync import open_pool as open_thread_front_pool
from ..config import PoolConfig, redact_url, url_dialect
from ..drivers import endpoint
from ..errors import ConfigError, InterfaceError
from ._driver import Pool

# dialect → (modules the driver needs, the extra that installs them); PostgreSQL's are
# checked by the front's own factory.
_REQUIREMENTS = {"mysql": (("pymysql",), "mysql")}


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
    if dialect == "postgres":
        return open_thread_front_pool(name, url, config, role=role)
    if dialect == "mysql":
        _require(name, dialect)
        from . import _mysql

        params = _mysql.connect_params(url, timeout=config.timeout)
        return ConnectionPool(
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
