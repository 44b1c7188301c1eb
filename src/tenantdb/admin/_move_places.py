"""Where a moving tenant's rows are on each side, by its isolation, and the objects a move
makes and drops because of it.

- ``shared``: the tenant's rows of every ``tenant`` table, chosen by the tenant column, in
  the tables of the datasource's default schema. The target's tables must exist already
  (``tenantdb ddl`` makes them on every datasource) and hold no row of the tenant.
- ``schema`` (PostgreSQL, MariaDB/MySQL): every row of the tables in the tenant's schema
  (``schema.table``) on its datasource, to the same schema on the target (or another name,
  ``target_schema``). A schema the target lacks is made there (``ensure_schema``, the path
  ``tenantdb tenants add`` and ``tenantdb ddl`` take), and a table it lacks is made like the
  source's from the source's own definition (``core.moves.postgres_table`` and its
  siblings: tenantdb keeps no DDL script to replay). The cleanup drops the source's tables
  and then its schema, if nothing else is left in it.
- ``database``: every row of the ``tenant`` tables of the datasource the tenant owns, to a
  datasource no other tenant is placed on (checked when the move is planned, again before
  the freeze, and by the registry at the cut-over). Missing tables are made as for a
  schema; the cleanup empties the source's tables and keeps them (they are the shared
  tables any tenant placed there later uses).

A table or schema the plan found missing on the target is recorded in the plan (the move
log) before it is made, so an abort drops exactly what the move made, and one a mover
made before it was killed is found and kept by the next. Moves run between datasources of
one cluster, so of one backend kind (one dialect per cluster): rows are copied by value,
never by a server-to-server mechanism of one product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._sync import Session
from ..config import Isolation, TenantRules
from ..core.moves import (
    MovedTable,
    MoveState,
    PostgresColumn,
    PostgresConstraint,
    mysql_table,
    postgres_index,
    postgres_table,
    sqlite_table,
)
from ..core.routing import quote_identifier
from ..core.sql import ObjectName
from ..core.verify import TableShape
from ..errors import NotSupportedError, ProgrammingError
from ._catalog import catalog_for, query_on
from ._ddl import ensure_schema
from ._verify_jobs import table_shape
from ._view import ClusterView

if TYPE_CHECKING:
    from ..tenants import Tenant


@dataclass(frozen=True, slots=True)
class Place:
    """What a move's plan records of where the tenant's rows are (see the module
    docstring); the fields of ``MoveState`` of the same names."""

    isolation: Isolation
    tables: tuple[MovedTable, ...]
    tenant_column: str | None = None
    source_schema: str | None = None
    target_schema: str | None = None
    creates_schema: bool = False


def plan_place(
    view: ClusterView,
    session: Session,
    tenant: Tenant,
    target: str,
    *,
    schema: str | None = None,
) -> Place:
    """Where ``tenant``'s rows are and go on ``target`` (``schema``: the target schema of a
    schema-isolated tenant, default its own). Raises ProgrammingError or
    NotSupportedError naming what to change when the move cannot start."""
    if schema is not None and tenant.isolation != "schema":
        raise ProgrammingError(
            f"tenant {tenant.id!r} has {tenant.isolation} isolation: only a schema-isolated"
            " tenant moves to a schema; leave the target schema out"
        )
    problem = TenantRules.of(view.config).own_problem(
        tenant.id, tenant.isolation, target, schema or tenant.schema
    )
    if problem is not None:
        raise ProgrammingError(f"{problem}: choose another target")
    if tenant.isolation == "shared":
        return Place(
            "shared", _shared_tables(view, session, tenant, target), view.config.tenant_column
        )
    if tenant.isolation == "schema":
        return _schema_place(view, session, tenant, target, schema)
    _refuse_company(view, tenant.id, target)
    tables = _own_tables(view, session, tenant, target, None, None, creates_schema=False)
    return Place("database", tables)


def check_target_free(view: ClusterView, state: MoveState) -> None:
    """For a database-isolated tenant's move, before its freeze and before an abort empties
    the target's tables: the target must still have no tenant placed on it (the hash ring
    may have placed a new one there meanwhile, whose rows those tables would hold)."""
    if state.isolation == "database":
        _refuse_company(view, state.tenant, state.target)


def placement(state: MoveState) -> dict[str, Any]:
    """The registry change of the cut-over: the tenant on the target (in the target
    schema, for a schema-isolated tenant)."""
    change: dict[str, Any] = {"id": state.tenant, "datasource": state.target}
    if state.isolation == "schema":
        change["schema"] = state.target_schema
    return change


def prepare_target(session: Session, dialect: str, state: MoveState) -> None:
    """Make what the plan found missing on the target: the schema, then each table (with
    its indexes; in one transaction where DDL is transactional). What an earlier, killed
    attempt made is found and kept."""
    target, schema = state.target, state.target_schema
    if state.creates_schema and schema is not None:
        ensure_schema(session, target, dialect, schema)
    query = query_on(session, target)
    catalog = catalog_for(dialect)
    for table in state.tables:
        if not table.create or catalog.table_exists(query, ObjectName(table.target, schema)):
            continue
        if dialect == "mysql":  # one statement, which commits on its own
            (statement,) = table.create
            session.execute_on(target, _literal_percent(statement))
            continue
        with session.transaction():
            if dialect == "postgres" and schema is not None:
                _search_path(session, target, schema)
            for statement in table.create:
                session.execute_on(target, _literal_percent(statement))


def undo_target(session: Session, dialect: str, state: MoveState) -> None:
    """An abort's last step: drop the tables the move made on the target (their rows with
    them), then the schema it made, unless something else was put in it meanwhile. For a
    database-isolated tenant, the caller has checked ``check_target_free`` first."""
    for table in state.tables:
        if table.create:
            name = _qualified(table.target, state.target_schema, dialect)
            session.execute_on(state.target, f"DROP TABLE IF EXISTS {name}")
    if state.creates_schema and state.target_schema is not None:
        _drop_schema_if_empty(session, state.target, dialect, state.target_schema)


def drop_source_table(state: MoveState, table: MovedTable, dialect: str) -> str | None:
    """The cleanup's statement for ``table`` on the source, when it drops the table rather
    than deleting the tenant's rows: a schema-isolated tenant's (its schema follows, by
    ``drop_source_schema``). None for the other isolations."""
    if state.isolation != "schema":
        return None
    return f"DROP TABLE IF EXISTS {_qualified(table.source, state.source_schema, dialect)}"


def drop_source_schema(session: Session, dialect: str, state: MoveState) -> None:
    """The cleanup's last step for a schema-isolated tenant: its schema on the source,
    dropped unless something other than the moved tables is left in it."""
    if state.isolation == "schema" and state.source_schema is not None:
        _drop_schema_if_empty(session, state.source, dialect, state.source_schema)


# -- planning ------------------------------------------------------------------------------


def tenant_tables(view: ClusterView) -> list[str]:
    """The physical names of the tenant-placed tables (as the catalog stores them)."""
    topology = view.topology
    names = dict.fromkeys(p.name for p in topology.tables.values() if p.kind == "tenant")
    return [n.lower() if topology.dialect == "postgres" else n for n in names]


def _shared_tables(
    view: ClusterView, session: Session, tenant: Tenant, target: str
) -> tuple[MovedTable, ...]:
    config = view.config
    assert tenant.datasource is not None
    column, dialect = config.tenant_column, config.dialect
    where = f"{quote_identifier(column, dialect)} = %s"
    tables: list[MovedTable] = []
    for name in tenant_tables(view):
        source = table_shape(query_on(session, tenant.datasource), dialect, name)
        try:
            there = table_shape(query_on(session, target), dialect, name)
        except ProgrammingError as exc:
            raise ProgrammingError(
                f"table {name!r} does not exist on {target}: create the tables there first"
                " (tenantdb ddl), then move the tenant"
            ) from exc
        _same_shape(name, tenant.datasource, target, source.key, source.columns, there)
        rows = query_on(session, target)(
            f"SELECT 1 FROM {there.qualified} WHERE {where} LIMIT 1", (tenant.id,)
        )
        if rows:
            raise ProgrammingError(
                f"{target} already holds rows of tenant {tenant.id!r} in {name!r}: remove them"
                " (or move the tenant elsewhere) before moving it there"
            )
        tables.append(MovedTable(name, name, source.key, columns=source.columns))
    return tuple(tables)


def _schema_place(
    view: ClusterView, session: Session, tenant: Tenant, target: str, schema: str | None
) -> Place:
    dialect = view.config.dialect
    if dialect == "sqlite":
        raise NotSupportedError(
            f"tenant {tenant.id!r} has schema isolation, which SQLite does not have: place it"
            " on PostgreSQL or MariaDB/MySQL datasources"
        )
    source_schema = tenant.schema
    if not source_schema or tenant.datasource is None:
        raise ProgrammingError(f"tenant {tenant.id!r} has schema isolation but no schema")
    target_schema = schema or source_schema
    for other in view.tenants.list():
        if (
            other.id != tenant.id
            and other.isolation == "schema"
            and (other.schema or "").lower() == target_schema.lower()
        ):
            raise ProgrammingError(
                f"schema {target_schema!r} is tenant {other.id!r}'s: move tenant"
                f" {tenant.id!r} to a schema of another name"
            )
    if dialect == "mysql" and target_schema.lower() == source_schema.lower():
        ask = "SELECT @@hostname, @@port, @@datadir"
        if query_on(session, tenant.datasource)(ask, ()) == query_on(session, target)(ask, ()):
            raise NotSupportedError(
                f"{tenant.datasource} and {target} are on the same MariaDB/MySQL server, where"
                f" schema {source_schema!r} is one database for both: a move there would copy"
                " its tables onto themselves. Move the tenant to a schema of another name"
                " (`start_move(..., schema=NAME)`), or change its datasource alone"
                " (`tenantdb tenants set --force`): its tables are reachable from both"
                " already"
            )
    exists = {"postgres": _PG_SCHEMA, "mysql": _MYSQL_SCHEMA}[dialect]
    creates_schema = not query_on(session, target)(exists, (target_schema,))
    tables = _own_tables(
        view, session, tenant, target, source_schema, target_schema, creates_schema=creates_schema
    )
    return Place(
        "schema",
        tables,
        source_schema=source_schema,
        target_schema=target_schema,
        creates_schema=creates_schema,
    )


_PG_SCHEMA = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s"
_MYSQL_SCHEMA = "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s"


def _refuse_company(view: ClusterView, tenant_id: str, target: str) -> None:
    others = [t.id for t in view.tenants.list() if t.datasource == target and t.id != tenant_id]
    if others:
        listed = ", ".join(repr(t) for t in others[:5]) + (" ..." if len(others) > 5 else "")
        raise ProgrammingError(
            f"tenant {tenant_id!r} has a database of its own, and {target} holds tenant(s)"
            f" {listed}: a database-isolated tenant moves only to a datasource no other"
            " tenant is placed on; choose another datasource, or move those tenants off it"
        )


def _own_tables(
    view: ClusterView,
    session: Session,
    tenant: Tenant,
    target: str,
    source_schema: str | None,
    target_schema: str | None,
    *,
    creates_schema: bool,
) -> tuple[MovedTable, ...]:
    """The tables of a tenant with a schema or database of its own: every row of each
    ``tenant`` table it has on the source; on the target, an empty table of the same
    shape, or (missing there) the statements that make it."""
    dialect = view.config.dialect
    assert tenant.datasource is not None
    source_query, target_query = query_on(session, tenant.datasource), query_on(session, target)
    catalog = catalog_for(dialect)
    tables: list[MovedTable] = []
    for name in tenant_tables(view):
        if not catalog.table_exists(source_query, ObjectName(name, source_schema)):
            continue  # the tenant has no such table: nothing to move, nothing to make
        source = table_shape(source_query, dialect, name, schema=source_schema)
        found = not creates_schema and catalog.table_exists(
            target_query, ObjectName(name, target_schema)
        )
        if found:
            there = table_shape(target_query, dialect, name, schema=target_schema)
            _same_shape(name, tenant.datasource, target, source.key, source.columns, there)
            if target_query(f"SELECT 1 FROM {there.qualified} LIMIT 1", ()):
                raise ProgrammingError(
                    f"{there.qualified} on {target} holds rows already: tenant {tenant.id!r}"
                    " moves only into empty tables; empty or drop it, or choose another"
                    " target"
                )
            create: tuple[str, ...] = ()
        else:
            create = _definition(session, tenant.datasource, dialect, name, source_schema)
            if dialect == "mysql" and target_schema is not None:
                create = mysql_table(create[0], name, target_schema)
        tables.append(
            MovedTable(
                name,
                name,
                source.key,
                columns=source.columns,
                source_schema=source_schema,
                target_schema=target_schema,
                create=create,
            )
        )
    return tuple(tables)


def _same_shape(
    name: str,
    source_datasource: str,
    target: str,
    key: Sequence[str],
    columns: Sequence[str],
    there: TableShape,
) -> None:
    if (tuple(there.key), sorted(there.columns)) != (tuple(key), sorted(columns)):
        raise ProgrammingError(
            f"table {name!r} differs between {source_datasource} and {target} (primary key"
            f" {tuple(key)} vs {there.key}, columns {tuple(columns)} vs {there.columns});"
            " make them alike before moving a tenant"
        )


def _definition(
    session: Session, datasource: str, dialect: str, table: str, schema: str | None
) -> tuple[str, ...]:
    """The statements that make ``table`` like the source's (unqualified on PostgreSQL and
    SQLite; MariaDB: as ``SHOW CREATE TABLE`` prints it). NotSupportedError for a table a
    copy cannot reproduce."""
    query = query_on(session, datasource)
    try:
        if dialect == "postgres":
            return _postgres_definition(session, datasource, table, schema)
        if dialect == "mysql":
            rows = query(f"SHOW CREATE TABLE {_qualified(table, schema, 'mysql')}", ())
            return mysql_table(str(rows[0][1]), table, None)
        catalog = catalog_for("sqlite")
        indexes = [i.sql for i in catalog.indexes(query, table) if i.sql is not None]
        return sqlite_table(table, catalog.table_definition(query, table), indexes)
    except ValueError as exc:
        where = f"schema {schema!r}" if schema else "the target's database"
        raise NotSupportedError(
            f"{exc}: the move cannot make a copy of it; create table {table!r} in {where}"
            " by hand with the definition your application uses, then start the move again"
            " (it moves into an empty table it finds)"
        ) from exc


def _postgres_definition(
    session: Session, datasource: str, table: str, schema: str | None
) -> tuple[str, ...]:
    # Read with the search path set to the schema (for this transaction only), so that the
    # catalog prints names unqualified, as the target will resolve them.
    query = query_on(session, datasource)
    relation = quote_identifier(table, "postgres")
    with session.transaction():
        if schema is not None:
            _search_path(session, datasource, schema)
        columns = [
            PostgresColumn(str(n), str(t), bool(nn), d, str(i or ""), str(g or ""), c)
            for n, t, nn, d, i, g, c in query(_PG_COLUMNS, (relation,))
        ]
        constraints = [
            PostgresConstraint(str(n), str(k), str(d))
            for n, k, d in query(_PG_CONSTRAINTS, (relation,))
        ]
        indexes = [
            postgres_index(str(definition), str(printed), table)
            for definition, printed in query(_PG_INDEXES, (relation,))
        ]
    return postgres_table(table, columns, constraints, indexes)


_PG_COLUMNS = (
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
    " pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text,"
    " CASE WHEN a.attcollation <> t.typcollation THEN c.collname END"
    " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
    " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
    " LEFT JOIN pg_collation c ON c.oid = a.attcollation"
    " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped"
    " ORDER BY a.attnum"
)
_PG_CONSTRAINTS = (
    "SELECT conname, contype::text, pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE conrelid = to_regclass(%s) ORDER BY conname"
)
_PG_INDEXES = (
    "SELECT pg_get_indexdef(i.indexrelid),"
    " quote_ident(n.nspname) || '.' || quote_ident(t.relname)"
    " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
    " JOIN pg_namespace n ON n.oid = t.relnamespace"
    " WHERE i.indrelid = to_regclass(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
    " WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)"
    " ORDER BY i.indexrelid"
)


# -- statements ----------------------------------------------------------------------------


def _qualified(table: str, schema: str | None, dialect: str) -> str:
    """The quoted, qualified name, for a statement without placeholders (``%`` doubled)."""
    name = quote_identifier(table, dialect)
    return _literal_percent(f"{quote_identifier(schema, dialect)}.{name}" if schema else name)


def _search_path(session: Session, datasource: str, schema: str) -> None:
    """PostgreSQL: unqualified names resolve in ``schema`` until the transaction ends."""
    quoted = quote_identifier(schema, "postgres")
    session.execute_on(datasource, _literal_percent(f"SET LOCAL search_path = {quoted}"))


def _literal_percent(sql: str) -> str:
    """SQL with no placeholders, as ``execute_on`` takes it: every ``%`` is a literal."""
    return sql.replace("%", "%%")


def _drop_schema_if_empty(session: Session, datasource: str, dialect: str, schema: str) -> None:
    query = query_on(session, datasource)
    if dialect == "postgres":
        left = query(
            "SELECT 1 FROM pg_class WHERE relnamespace = to_regnamespace(%s) UNION ALL"
            " SELECT 1 FROM pg_proc WHERE pronamespace = to_regnamespace(%s) LIMIT 1",
            (quote_identifier(schema, "postgres"),) * 2,
        )
        if not left:  # DROP SCHEMA without CASCADE refuses what this did not see (types)
            session.execute_on(
                datasource, f"DROP SCHEMA IF EXISTS {_qualified(schema, None, dialect)}"
            )
        return
    left = query(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s UNION ALL"
        " SELECT 1 FROM information_schema.routines WHERE routine_schema = %s LIMIT 1",
        (schema, schema),
    )
    if not left:
        session.execute_on(
            datasource, f"DROP DATABASE IF EXISTS {_qualified(schema, None, dialect)}"
        )


__all__ = [
    "Place",
    "check_target_free",
    "drop_source_schema",
    "drop_source_table",
    "placement",
    "plan_place",
    "prepare_target",
    "tenant_tables",
    "undo_target",
]
