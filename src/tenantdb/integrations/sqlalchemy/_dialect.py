"""What every tenantdb dialect changes in its backend's SQLAlchemy dialect: the connection
(one Cluster per engine), the server probes and the isolation levels, with reflection
through logical table names from ``LogicalReflection``. SQL compilation, types and the
rest stay the backend's own.

A dialect class is ``class X(TenantdbDialect, <backend dialect>)``: this mixin comes first
so its methods run, and ``super()`` reaches the backend's.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.sql.compiler import InsertmanyvaluesSentinelOpts

from ... import dbapi
from ..._cluster import Cluster, ConfigSource
from ..._cluster import connect as connect_cluster
from ...core.routing import Topology
from ._connection import Connection
from ._logical_reflection import LogicalReflection, RawCapable, dbapi_connection_of
from ._scope import scope_of

if TYPE_CHECKING:
    _ContextBase = DefaultExecutionContext
else:
    _ContextBase = object


class ScopedExecutionContext(_ContextBase):
    """Gives each statement's cursor the Scope of its execution options (see ``_scope``)."""

    def create_default_cursor(self) -> Any:
        scope = scope_of(self.execution_options, ddl=bool(self.isddl))
        return self._dbapi_connection.cursor(scope)


class TenantdbDialect(LogicalReflection):
    """The tenantdb side of a dialect; see the module docstring."""

    driver = "tenantdb"
    default_paramstyle = "pyformat"
    supports_statement_cache = True
    # No implicit sentinel for "insertmanyvalues": the rows of a multi-row INSERT ...
    # RETURNING come back from several shards in no promised order, and the sentinel form
    # (INSERT ... SELECT ... FROM (VALUES ...) ORDER BY) sets the tenant column from an
    # expression, which a tenant session refuses. The ORM then inserts the rows whose
    # server-generated keys it needs one statement each.
    insertmanyvalues_implicit_sentinel = InsertmanyvaluesSentinelOpts.NOT_SUPPORTED
    tenantdb_dialect: ClassVar[str]
    """The cluster dialect this SQLAlchemy dialect serves (``postgres``, ``mysql``, ``sqlite``)."""
    tenantdb_isolation_level: ClassVar[str]
    """The backend's default isolation level, which tenantdb's pools leave in place."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tenantdb_schemas: dict[str, str] = {}
        self._tenantdb_cluster: Any = None
        self._tenantdb_owned = False
        self._tenantdb_lock = threading.Lock()

    @classmethod
    def import_dbapi(cls) -> ModuleType:
        return dbapi

    # -- the connection: one cluster per engine --------------------------------------------

    def create_connect_args(self, url: URL) -> Any:
        """``tenantdb+<backend>:///?config=PATH``: the URL names only the configuration
        (or nothing, with ``connect_args={"config": ...}`` or ``{"cluster": ...}``)."""
        if url.host or url.database or url.username or url.port:
            raise exc.ArgumentError(
                f"a tenantdb URL names no server ({url.render_as_string(hide_password=True)}): "
                f"the configuration does; write tenantdb+{self.name}:///?config=tenantdb.toml"
            )
        unknown = sorted(set(url.query) - {"config"})
        if unknown:
            raise exc.ArgumentError(
                f"unknown tenantdb URL parameter(s) {', '.join(unknown)}; the URL takes only "
                "config=PATH (settings belong in the configuration file)"
            )
        config = url.query.get("config")
        if isinstance(config, tuple):
            raise exc.ArgumentError("give config= once in a tenantdb URL")
        return [], ({} if config is None else {"config": config})

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        return Connection(self.tenantdb_cluster(cparams))

    def tenantdb_cluster(self, cparams: Mapping[str, Any]) -> Any:
        """The engine's one cluster, built on the first connection from ``config`` (closed
        by ``engine.dispose()``) or given as ``cluster`` (the caller's to close)."""
        with self._tenantdb_lock:
            if self._tenantdb_cluster is None:
                cluster, owned = self._new_cluster(cparams)
                self._check_backend(cluster.topology)
                self._tenantdb_cluster, self._tenantdb_owned = cluster, owned
            return self._tenantdb_cluster

    def _new_cluster(self, cparams: Mapping[str, Any]) -> tuple[Any, bool]:
        unknown = sorted(set(cparams) - {"config", "cluster"})
        if unknown:
            raise exc.ArgumentError(
                f"unknown tenantdb connect argument(s) {', '.join(unknown)}; pass config= "
                "(a path, mapping or tenantdb.Config) or cluster= (an open cluster)"
            )
        if "cluster" in cparams:
            return self._given_cluster(cparams["cluster"]), False
        if "config" not in cparams:
            raise exc.ArgumentError(
                f"no tenantdb configuration: use tenantdb+{self.name}:///?config=tenantdb.toml "
                "or connect_args={'config': ...}"
            )
        return self._open_cluster(cparams["config"]), True

    def _given_cluster(self, cluster: Any) -> Any:
        if not isinstance(cluster, Cluster):
            raise exc.ArgumentError(
                f"connect_args cluster= takes a tenantdb.Cluster, not {type(cluster).__name__}"
            )
        return cluster

    def _open_cluster(self, config: ConfigSource) -> Any:
        return connect_cluster(config)

    def _check_backend(self, topology: Topology) -> None:
        if topology.dialect != self.tenantdb_dialect:
            scheme = {"postgres": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}
            raise exc.ArgumentError(
                f"the tenantdb configuration's dialect is {topology.dialect}; use "
                f"tenantdb+{scheme[topology.dialect]}:// instead of tenantdb+{self.name}://"
            )

    def tenantdb_close(self) -> None:
        """Close the cluster this engine built (the next connection builds a new one)."""
        with self._tenantdb_lock:
            cluster, self._tenantdb_cluster = self._tenantdb_cluster, None
            owned, self._tenantdb_owned = self._tenantdb_owned, False
        if cluster is not None and owned:
            self._close_cluster(cluster)

    def _close_cluster(self, cluster: Any) -> None:
        cluster.close()

    @classmethod
    def engine_created(cls, engine: Engine) -> None:
        # engine.dispose() closes the pool's connections, then the cluster under them.
        event.listen(engine, "engine_disposed", _close_cluster_of)
        # A connection idle in SQLAlchemy's pool holds no connection of tenantdb's pools
        # (else SQLAlchemy's pool_size + max_overflow idle objects could hold them all).
        event.listen(engine, "checkin", _release_on_checkin)

    # -- probes ----------------------------------------------------------------------------

    def initialize(self, connection: Any) -> None:
        # The backend's first-connect probes (version, encoding, standard_conforming_strings,
        # sql_mode, default schema ...) are catalog questions, not routed statements: they
        # run as written on the default datasource.
        raw = dbapi_connection_of(connection)
        with raw.raw(raw.cluster.topology.default_datasource):
            super().initialize(connection)

    def get_isolation_level_values(self, dbapi_conn: Any) -> Any:
        # tenantdb's pools run every transaction at the server's default level.
        return [self.tenantdb_isolation_level, "AUTOCOMMIT"]

    def get_isolation_level(self, dbapi_connection: Any) -> Any:
        return "AUTOCOMMIT" if dbapi_connection.autocommit else self.tenantdb_isolation_level

    def get_default_isolation_level(self, dbapi_conn: Any) -> Any:
        return self.tenantdb_isolation_level

    def set_isolation_level(self, dbapi_connection: Any, level: Any) -> None:
        dbapi_connection.autocommit = level == "AUTOCOMMIT"

    def detect_autocommit_setting(self, dbapi_conn: Any) -> bool:
        return bool(dbapi_conn.autocommit)

    def is_disconnect(self, e: Any, connection: Any, cursor: Any) -> bool:
        return isinstance(e, dbapi.InterfaceError) and "closed" in str(e)

    def do_ping(self, dbapi_connection: Any) -> bool:
        raw: RawCapable = dbapi_connection
        with raw.raw(raw.cluster.topology.default_datasource):
            return bool(super().do_ping(dbapi_connection))

    # -- reflection through logical names ---------------------------------------------------


def _release_on_checkin(dbapi_connection: Any, connection_record: Any) -> None:
    if dbapi_connection is not None and not dbapi_connection.closed:
        dbapi_connection.release()


def _close_cluster_of(engine: Engine) -> None:
    dialect = engine.dialect
    if isinstance(dialect, TenantdbDialect):
        dialect.tenantdb_close()
