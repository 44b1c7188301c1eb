"""Reflection through logical table names: a dialect mixin that answers SQLAlchemy's
Inspector for the tables of the cluster configuration, by running the backend's own
reflection on physical tables (``raw`` on one datasource) and mapping names back.

A logical table exists when every one of its physical tables does; columns, keys and
indexes come from one of them; catalog questions that name no logical table are asked of
the default datasource as written. The backend's methods call each other (PostgreSQL's
single-table methods call their multi twins): inside a ``raw`` block every method is the
backend's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.default import DefaultDialect

from ...errors import InterfaceError
from ._logical import (
    Explains,
    PhysicalTable,
    configured_tables,
    physical_tables,
    rename_reflected,
)

if TYPE_CHECKING:
    _Base = DefaultDialect
else:
    _Base = object

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


class LogicalReflection(_Base):
    """Dialect mixin: reflection answered for logical tables (see the module docstring)."""

    tenantdb_schema_per_datasource: ClassVar[bool] = False
    """MySQL: the default schema is each datasource's database, so reflection names it."""

    _tenantdb_schemas: dict[str, str]
    """Each datasource's default schema, asked once (set by the dialect's __init__)."""

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


def _per_table_method(method: str) -> Callable[..., Any]:
    def reflect(
        self: LogicalReflection, connection: Any, table_name: str, schema: Any = None, **kw: Any
    ) -> Any:
        return self._per_table(method, connection, table_name, schema, kw)

    reflect.__name__ = method
    reflect.__doc__ = f"``{method}`` of one physical table, reported for the logical one."
    return reflect


def _on_default_method(method: str) -> Callable[..., Any]:
    def reflect(self: LogicalReflection, connection: Any, *args: Any, **kw: Any) -> Any:
        return self._on_default(method, connection, *args, **kw)

    reflect.__name__ = method
    reflect.__doc__ = f"``{method}`` asked of the default datasource."
    return reflect


def _multi_method(method: str, single: str) -> Callable[..., Any]:
    def reflect(self: LogicalReflection, connection: Any, *args: Any, **kw: Any) -> Any:
        return self._multi(method, getattr(self, single), connection, *args, **kw)

    reflect.__name__ = method
    reflect.__doc__ = f"``{single}`` for each logical table asked for."
    return reflect


for _method in _PER_TABLE:
    setattr(LogicalReflection, _method, _per_table_method(_method))
    _multi_name = _method.replace("get_", "get_multi_", 1)
    setattr(LogicalReflection, _multi_name, _multi_method(_multi_name, _method))
for _method in _ON_DEFAULT:
    setattr(LogicalReflection, _method, _on_default_method(_method))


def missing_tables(bind: Engine | Connection, table: str) -> list[PhysicalTable]:
    """The physical tables of logical ``table`` that do not exist yet (empty: the table
    exists, ``inspect(bind).has_table(table)`` is True). Each says its datasource.

    ``bind`` is an engine or connection of a tenantdb dialect (InterfaceError otherwise).
    """
    dialect: Any = bind.dialect
    if not isinstance(dialect, LogicalReflection):
        raise InterfaceError(
            f"missing_tables() needs a tenantdb engine, not {bind.dialect.name}+"
            f"{bind.dialect.driver}"
        )
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return dialect.tenantdb_missing_tables(connection, table)
    return dialect.tenantdb_missing_tables(bind, table)
