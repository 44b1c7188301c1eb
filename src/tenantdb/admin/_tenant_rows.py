"""Does a tenant have rows where it is placed? A placement change must not orphan them.

Changing a tenant's datasource, isolation or schema in the registry moves no rows: its
sessions would then look in the new place and see nothing, while the old rows stay behind.
The cluster installs ``refuse_orphaning`` as the registry's placement guard, so such a
change is refused while the tenant's ``tenant`` tables hold rows on the old placement,
unless the caller forces it. The registry itself does no database I/O; this module reads
the datasource's primary through an admin session (one catalog query and one small query
per table).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.routing import quote_identifier
from ..core.sql import ObjectName
from ..errors import Error, InvalidTenantError, OperationalError
from ._catalog import catalog_for, query_on
from ._view import ClusterView, admin_session

if TYPE_CHECKING:
    from ..tenants import Tenant

MOVE_HINT = (
    "move its rows first (`tenantdb move-tenant TENANT --to DATASOURCE` moves a tenant of any"
    " isolation to another datasource; for a new isolation or schema copy its rows yourself),"
    " or force the change (`tenantdb"
    " tenants set --force`, `cluster.tenants.put(..., force=True)`) to leave them where they"
    " are"
)


def placement(tenant: Tenant) -> str:
    """Where a tenant's ``tenant`` tables are, in words: ``ds0``, ``schema t_b on ds1``."""
    where = tenant.datasource or "no datasource"
    if tenant.isolation == "schema":
        return f"schema {tenant.schema} on {where}"
    if tenant.isolation == "database":
        return f"{where} (its own database)"
    return where


def same_placement(old: Tenant, new: Tenant) -> bool:
    """Whether ``old`` and ``new`` find their ``tenant`` tables in the same place."""
    return (old.datasource, old.isolation, old.schema) == (
        new.datasource,
        new.isolation,
        new.schema,
    )


def tenant_tables_with_rows(cluster: ClusterView, tenant: Tenant) -> list[str]:
    """The ``tenant`` tables holding rows of ``tenant`` where it is placed now.

    Shared isolation: rows with its id in the tenant column; schema isolation: any row in
    its schema's tables; database isolation: any row. A table that does not exist there
    holds nothing. Raises the driver's error when the datasource cannot be read.
    """
    topology = cluster.topology
    names = list(dict.fromkeys(p.name for p in topology.tables.values() if p.kind == "tenant"))
    if tenant.datasource is None or not names:
        return []
    dialect = topology.dialect
    catalog = catalog_for(dialect)
    schema = tenant.schema if tenant.isolation == "schema" else None
    found: list[str] = []
    with admin_session(cluster) as session:
        query = query_on(session, tenant.datasource)
        for name in names:
            stored = name.lower() if dialect == "postgres" else name
            if not catalog.table_exists(query, ObjectName(stored, schema)):
                continue
            table = quote_identifier(stored, dialect)
            if schema is not None:
                table = f"{quote_identifier(schema, dialect)}.{table}"
            if tenant.isolation == "shared":
                column = quote_identifier(topology.tenant_column, dialect)
                sql = f"SELECT 1 FROM {table} WHERE {column} = %s LIMIT 1"
                params: tuple[object, ...] = (tenant.id,)
            else:
                sql, params = f"SELECT 1 FROM {table} LIMIT 1", ()
            if query(sql, params):
                found.append(name)
    return found


def refuse_orphaning(cluster: ClusterView) -> Callable[[Tenant, Tenant], None]:
    """The registry's placement guard: refuse a placement change that leaves rows behind."""

    def guard(stored: Tenant, new: Tenant) -> None:
        if same_placement(stored, new):
            return
        try:
            tables = tenant_tables_with_rows(cluster, stored)
        except Error as exc:
            raise OperationalError(
                f"cannot tell whether tenant {stored.id!r} has rows on {placement(stored)},"
                f" so its placement is not changed: {exc}; once its rows are known to be"
                " elsewhere, force the change"
            ) from exc
        if tables:
            raise InvalidTenantError(
                f"tenant {stored.id!r} has rows in {', '.join(tables)} on"
                f" {placement(stored)}; placing it on {placement(new)} moves no rows, so"
                f" its sessions would see none of them: {MOVE_HINT}",
                tenant_id=stored.id,
                field=_changed_field(stored, new),
            )

    return guard


def _changed_field(old: Tenant, new: Tenant) -> str:
    if old.datasource != new.datasource:
        return "datasource"
    return "isolation" if old.isolation != new.isolation else "schema"


__all__ = ["placement", "refuse_orphaning", "same_placement", "tenant_tables_with_rows"]
