"""What every tenantdb dialect changes in its backend's SQLAlchemy dialect: the connection
(one Cluster per engine), the server probes, the isolation levels and reflection through
logical table names. SQL compilation, types and the rest stay the backend's own.

A dialect class is ``class X(TenantdbDialect, <backend dialect>)``: this mixin comes first
so its methods run, and ``super()`` reaches the backend's.
"""

from __future__ import annotations

import string
import threading
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine
from sqlalchemy.engine.default import DefaultDialect, DefaultExecutionContext
from sqlalchemy.sql.compiler import InsertmanyvaluesSentinelOpts

from ... import dbapi
from ..._cluster import Cluster, ConfigSource
from ..._cluster import connect as connect_cluster
from ...core.routing import Topology
from ._connection import Connection
from ._logical import (
    Explains,
    PhysicalTable,
    configured_tables,
    physical_tables,
    rename_reflected,
)
from ._scope import scope_of

if TYPE_CHECKING:
    _Base = DefaultDialect
    _ContextBase = DefaultExecutionContext
else:
    _Base = object
    _ContextBase = object

# The methods that read one table: answered by the backend's own reflection run on one
# physical table of the logical one, names mapped back.
_PER_TABLE = (
    "get_columns",
    "get_pk_constraint",
    "get_foreign_keys",
    "get_indexes",
    "get_unique_constraints",
    "get_check_constraints",
    "get_table_comment",
    "get_table_options",
)
# Catalog questions that name no logical table: asked of the default datasource, as written.
_ON_DEFAULT = (
    "get_schema_names",
    "has_schema",
    "has_sequence",
    "get_sequence_names",
    "get_view_names",
    "get_temp_view_names",
    "get_temp_table_names",
    "get_materialized_view_names",
    "get_view_definition",
)


class RawCapable(Protocol):
    """The DB-API connection side reflection needs (sync Connection and the async one)."""

    cluster: Explains

    @property
    def raw_datasource(self) -> str | None: ...

    def raw(self, datasource: str) -> Any: ...


def dbapi_connection_of(connection: Any) -> RawCapable:
    """The tenantdb DB-API connection behind a SQLAlchemy Connection."""
    raw: RawCapable = connection.connection.dbapi_connection
    return raw


# tenantdb's %(name)s placeholders take Python identifiers only: every other ASCII
# character of a bound parameter's name is written as its code (SQLAlchemy translates the
# parameter dictionaries the same way), distinct for each character so no two names meet.
BIND_NAME_ESCAPES = {ch: f"_{ord(ch):02x}" for ch in string.punctuation + " " if ch != "_"}


class _BindNames:
    """Compiler mixin: a bound name that is still no identifier once its characters are
    escaped (``1param``, ``42numbers``) gets a ``p_`` prefix, recorded as SQLAlchemy records
    its own escapes so parameter dictionaries follow."""

    _bind_translate_re: Any
    _bind_translate_chars: Any

    def bindparam_string(self, name: str, **kw: Any) -> str:
        if not kw.get("escaped_from"):
            escaped = self._bind_translate_re.sub(
                lambda m: self._bind_translate_chars[m.group(0)], name
            )
            if not escaped.isidentifier():
                escaped = f"p_{escaped}"
            if escaped != name:
                kw["escaped_from"] = name
                name = escaped
        result: str = super().bindparam_string(name, **kw)  # type: ignore[misc]
        return result


def escaping_compiler(base: type[Any]) -> type[Any]:
    """``base`` (a backend's SQL compiler) with bound parameter names tenantdb accepts."""
    return type(
        f"Tenantdb{base.__name__}",
        (_BindNames, base),
        {"bindname_escape_characters": BIND_NAME_ESCAPES},
    )


class ScopedExecutionContext(_ContextBase):
    """Gives each statement's cursor the Scope of its execution options (see ``_scope``)."""

    def create_default_cursor(self) -> Any:
        scope = scope_of(self.execution_options, ddl=bool(self.isddl))
        return self._dbapi_connection.cursor(scope)


class TenantdbDialect(_Base):
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

    tenantdb_schema_per_datasource: ClassVar[bool] = False
    """MySQL: the default schema is each datasource's database, so reflection names it."""

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

    def has_table(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> bool:
        """A logical table exists when every one of its physical tables does."""
        if schema is not None:  # a schema names no logical table: asked as written
            return bool(self._on_default("has_table", connection, table_name, schema, **kw))
        if dbapi_connection_of(connection).raw_datasource is not None:
            return bool(super().has_table(connection, table_name, schema=schema, **kw))
        return not self.tenantdb_missing_tables(connection, table_name)

    def tenantdb_missing_tables(self, connection: Any, table: str) -> list[PhysicalTable]:
        """The physical tables of logical ``table`` that do not exist (none: it exists)."""
        raw = dbapi_connection_of(connection)
        return [
            physical
            for physical in physical_tables(raw.cluster, table)
            if not self._on_physical("has_table", connection, physical)
        ]

    def get_table_names(self, connection: Any, schema: Any = None, **kw: Any) -> Any:
        """The logical tables that exist: configured tables whose every physical table
        exists, and the default datasource's other tables (``single`` there)."""
        raw = dbapi_connection_of(connection)
        if schema is not None:
            return self._on_default("get_table_names", connection, schema, **kw)
        if raw.raw_datasource is not None:
            return super().get_table_names(connection, schema=schema, **kw)
        cluster = raw.cluster
        default = cluster.topology.default_datasource
        with raw.raw(default):
            found = super().get_table_names(connection)
        configured = configured_tables(cluster.topology)
        hidden = {self._fold(name) for name in configured}
        for table in configured:
            hidden.update(
                self._fold(p.name) for p in physical_tables(cluster, table) if p.schema is None
            )
        names = [name for name in found if self._fold(name) not in hidden]
        names += [t for t in configured if not self.tenantdb_missing_tables(connection, t)]
        return sorted(names)

    def _fold(self, name: str) -> str:
        return name.lower()

    def _per_table(self, method: str, connection: Any, table: str, schema: Any, kw: Any) -> Any:
        raw = dbapi_connection_of(connection)
        base = getattr(super(), method)
        if schema is not None:
            return self._on_default(method, connection, table, schema, **kw)
        if raw.raw_datasource is not None:
            return base(connection, table, schema=schema, **kw)
        placed = physical_tables(raw.cluster, table)
        missing = [p for p in placed if not self._on_physical("has_table", connection, p)]
        if missing:
            raise exc.NoSuchTableError(
                f"{table} (missing physical table(s): {', '.join(map(str, missing))})"
            )
        physical = placed[0]
        answer = self._on_physical(method, connection, physical, **kw)
        others = {
            p.name: name
            for name in configured_tables(raw.cluster.topology)
            for p in physical_tables(raw.cluster, name)
            if p.datasource == physical.datasource
        }
        renamed = rename_reflected(answer, physical.name, table, others)
        return renamed if self.supports_comments else _without_comments(renamed)

    def _on_physical(self, method: str, connection: Any, physical: PhysicalTable, **kw: Any) -> Any:
        # No info_cache: one physical name on two datasources would share a cache entry.
        kw.pop("info_cache", None)
        with dbapi_connection_of(connection).raw(physical.datasource):
            schema = physical.schema
            if schema is None and self.tenantdb_schema_per_datasource:
                schema = self._schema_of(connection, physical.datasource)
            answer = getattr(super(), method)(connection, physical.name, schema=schema, **kw)
        if schema is not None and physical.schema is None:
            answer = _unqualified(answer, schema)
        return answer

    def _schema_of(self, connection: Any, datasource: str) -> str:
        """The default schema of ``datasource`` (its database on MySQL), asked once."""
        schema = self._tenantdb_schemas.get(datasource)
        if schema is None:
            schema = self._tenantdb_schemas[datasource] = self._get_default_schema_name(connection)
        return schema

    def _on_default(self, method: str, connection: Any, *args: Any, **kw: Any) -> Any:
        raw = dbapi_connection_of(connection)
        base = getattr(super(), method)
        if raw.raw_datasource is not None:
            return base(connection, *args, **kw)
        with raw.raw(raw.cluster.topology.default_datasource):
            return base(connection, *args, **kw)

    def _multi(
        self, method: str, single: Callable[..., Any], connection: Any, *args: Any, **kw: Any
    ) -> Any:
        # The backend's own single-table methods call their multi twin (PostgreSQL, with
        # positional arguments): on a physical table that is the backend's code.
        if args or dbapi_connection_of(connection).raw_datasource is not None:
            return getattr(super(), method)(connection, *args, **kw)
        return self._default_multi_reflect(single, connection, **kw)  # type: ignore[no-untyped-call]


def _without_comments(answer: Any) -> Any:
    """A reflection answer without ``comment`` keys (a dialect that keeps no comments)."""
    if isinstance(answer, list):
        return [_without_comments(item) for item in answer]
    if isinstance(answer, dict):
        return {key: value for key, value in answer.items() if key != "comment"}
    return answer


def _unqualified(answer: Any, schema: str) -> Any:
    """Foreign keys into the datasource's own default schema, reported without it."""
    if isinstance(answer, list):
        return [_unqualified(item, schema) for item in answer]
    if isinstance(answer, dict) and answer.get("referred_schema") == schema:
        return {**answer, "referred_schema": None}
    return answer


def _close_cluster_of(engine: Engine) -> None:
    dialect = engine.dialect
    if isinstance(dialect, TenantdbDialect):
        dialect.tenantdb_close()


def _per_table_method(method: str) -> Callable[..., Any]:
    def reflect(
        self: TenantdbDialect, connection: Any, table_name: str, schema: Any = None, **kw: Any
    ) -> Any:
        return self._per_table(method, connection, table_name, schema, kw)

    reflect.__name__ = method
    reflect.__doc__ = f"``{method}`` of one physical table, reported for the logical one."
    return reflect


def _on_default_method(method: str) -> Callable[..., Any]:
    def reflect(self: TenantdbDialect, connection: Any, *args: Any, **kw: Any) -> Any:
        return self._on_default(method, connection, *args, **kw)

    reflect.__name__ = method
    reflect.__doc__ = f"``{method}`` asked of the default datasource."
    return reflect


def _multi_method(method: str, single: str) -> Callable[..., Any]:
    def reflect(self: TenantdbDialect, connection: Any, *args: Any, **kw: Any) -> Any:
        return self._multi(method, getattr(self, single), connection, *args, **kw)

    reflect.__name__ = method
    reflect.__doc__ = f"``{single}`` for each logical table asked for."
    return reflect


for _method in _PER_TABLE:
    setattr(TenantdbDialect, _method, _per_table_method(_method))
    _multi_name = _method.replace("get_", "get_multi_", 1)
    setattr(TenantdbDialect, _multi_name, _multi_method(_multi_name, _method))
for _method in _ON_DEFAULT:
    setattr(TenantdbDialect, _method, _on_default_method(_method))
