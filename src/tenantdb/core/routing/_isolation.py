"""The tenant boundary: what a tenant session may run, and the confined form it runs in.

A tenant session (``cluster.session(tenant=...)`` without ``admin``) is an allow-list:

- statement kinds: SELECT, INSERT, UPDATE, DELETE (one per call; DDL, SET, SHOW, ... are
  refused), and only on tables the configuration declares, written without a schema;
- standard SQL functions only (plus the config's ``allowed_functions``), no server
  variables;
- every reference to a tenant-scoped table sees only the tenant's rows (a shared-isolation
  tenant's ``tenant`` tables, and tables declared ``tenant_scoped`` for every tenant); its
  INSERTs carry the tenant id (a tenant column left out, or given as NULL, DEFAULT or a
  None parameter, gets it; another tenant's id is refused), and an UPDATE may not set the
  tenant column;
- a schema-isolated tenant's ``tenant`` tables are its schema's own: reads, updates and
  deletes get no tenant condition (the schema is the boundary, and rows stored without
  the tenant column stay its own), but its INSERTs carry the tenant id all the same, so
  its rows say whose they are wherever they are read from (an admin scan, a move);
- the tenant's status: a suspended tenant runs nothing, a read-only one only reads;
- a database-isolated tenant reaches its own datasource only.

Everything here is pure: the router calls it with the template and the tenant snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import TenantIsolationError, TenantStatusError
from ..sql import (
    Template,
    assigned_columns,
    confined_template,
    foreign_functions,
    literal_value,
    plan_hints,
    session_variables,
    shadowing_names,
    written_qualifiers,
)
from ..tenancy import Isolation, Tenant
from ._plan import RoutePlan
from ._topology import TablePlacement, Topology

_STATEMENTS = frozenset({"select", "insert", "update", "delete"})


def check_status(tenant: Tenant, template: Template) -> None:
    """Raise TenantStatusError when the tenant's status forbids this statement."""
    status = tenant.status
    if status == "active":
        return
    if status == "suspended":
        raise TenantStatusError(
            f"tenant {tenant.id!r} is suspended: it can run nothing until its status is set "
            "back to active (cluster.tenants.put({'id': ..., 'status': 'active'}))",
            status=status,
        )
    if status == "moving" and template.is_write:
        raise TenantStatusError(
            f"tenant {tenant.id!r} is being moved to another datasource: its writes are held "
            "until the move's cut-over; retry the statement (reads still work)",
            status=status,
        )
    if status == "read_only" and template.is_write:
        raise TenantStatusError(
            f"tenant {tenant.id!r} is read-only: {template.kind.upper()} is refused; reads "
            "still work",
            status=status,
        )


def tenant_view(topology: Topology, template: Template, isolation: Isolation) -> Template:
    """The template as a tenant session of this ``isolation`` runs it (the template itself
    when nothing needs confining or filling in).

    Raises TenantIsolationError (or UnsupportedSQLError) when the statement is not allowed
    in a tenant session or cannot be confined exactly.
    """
    if template.kind not in _STATEMENTS:
        what = template.ddl_kind or template.kind.upper()
        raise TenantIsolationError(
            f"{what} is refused in a tenant session; run it in an admin session "
            "(cluster.session(admin=True)) or with `tenantdb ddl`"
        )
    placements = [topology.table(ref.table) for ref in template.refs]
    for ref, placement in zip(template.refs, placements, strict=True):
        if ref.schema is not None:
            raise TenantIsolationError(
                f"{ref.schema}.{ref.written} names a schema, which a tenant session may not "
                f"do; write {ref.written!r} alone and tenantdb places it for the tenant"
            )
        if not placement.configured or (
            # PostgreSQL keeps the case of a quoted name: "ORDERS" is not orders.
            ref.quoted and topology.dialect == "postgres" and ref.table not in topology.tables
        ):
            raise TenantIsolationError(
                f"table {ref.written!r} is not declared in the configuration, and a tenant "
                "session may use declared tables only (system catalogs included); declare it "
                f"under [tables.{ref.written}] (strategy single or broadcast for shared data) "
                "or query it in an admin session"
            )
    functions = foreign_functions(template.statement, topology.allowed_functions)
    if functions:
        raise TenantIsolationError(
            f"function {', '.join(functions)} is not a standard SQL function, and a tenant "
            "session calls only those; list it in the configuration's allowed_functions if "
            "it is safe for tenants, or call it in an admin session"
        )
    for name in shadowing_names(template.statement):
        if " AS " in name:
            raise TenantIsolationError(
                f"{name} renames the table's columns, which a tenant session may not do; "
                "alias the columns in the SELECT list instead"
            )
        if topology.tables.get(name) is not None:
            raise TenantIsolationError(
                f"a WITH query named {name!r} shadows the table {name!r}, which a tenant "
                "session may not do; give the WITH query another name"
            )
    hints = plan_hints(template.statement)
    if hints:
        raise TenantIsolationError(
            f"{hints[0]} is refused in a tenant session: plan hints are for operators; "
            "remove the hint, or run the statement in an admin session"
        )
    if session_variables(template.statement):
        raise TenantIsolationError(
            "server variables (@x, @@x, :=) are refused in a tenant session: they outlive the "
            "statement on a pooled connection; pass values as parameters"
        )
    _check_shared_data(template, placements, topology.dialect)
    column = topology.tenant_column
    shared = isolation == "shared"
    scoped = [
        ref.index
        for ref, placement in zip(template.refs, placements, strict=True)
        if placement.tenant_scoped and (shared or placement.kind != "tenant")
    ]
    # A schema tenant's INSERT into its own table: the tenant column filled in, no
    # condition. A database tenant's own tables need not have the column, so its INSERTs
    # are left as written unless they name it: then its values follow the same rules
    # (NULL, DEFAULT or None is the tenant, another tenant's id is refused).
    insert = template.insert
    names_column = (
        insert is not None
        and insert.columns is not None
        and column in (name.lower() for name in insert.columns)
    )
    filled = [
        ref.index
        for ref, placement in zip(template.refs, placements, strict=True)
        if (isolation == "schema" or (isolation == "database" and names_column))
        and template.kind == "insert"
        and ref.joined == "target"
        and placement.kind == "tenant"
        and placement.tenant_scoped
    ]
    if any(placement.tenant_scoped for placement in placements) and column in (
        assigned_columns(template.statement)
    ):
        raise TenantIsolationError(
            f"this statement assigns {column}, which a tenant session may not change (a row "
            "cannot move to another tenant); leave it out of SET"
        )
    if not scoped and not filled:
        return template
    return confined_template(template, frozenset(scoped + filled), column, frozenset(filled))


def _check_shared_data(
    template: Template, placements: Sequence[TablePlacement], dialect: str
) -> None:
    """Tables that are not tenant-scoped hold data every tenant shares (reference data,
    configuration): a tenant session reads them, but may not change or lock their rows."""
    shared = {
        ref.index: ref
        for ref, placement in zip(template.refs, placements, strict=True)
        if not placement.tenant_scoped
    }
    if not shared:
        return
    names = ", ".join(sorted({ref.written for ref in shared.values()}))
    if template.locking:
        raise TenantIsolationError(
            f"FOR UPDATE/FOR SHARE would lock rows of {names}, which every tenant shares; "
            "lock only the tenant's own tables (FOR UPDATE OF <alias> is not enough: "
            "name shared tables in a separate, unlocked read)"
        )
    if not template.is_write:
        return
    written = [ref for ref in shared.values() if ref.joined == "target"]
    if dialect == "mysql" and template.kind in ("update", "delete"):
        # MySQL's multi-table UPDATE/DELETE may write any table it names at its top level.
        top = [ref for ref in template.refs if ref.scope == 0]
        if len(top) > 1:
            targets = written_qualifiers(template.statement)
            written += [
                ref
                for ref in shared.values()
                if ref.scope == 0 and (targets is None or ref.qualifier in targets)
            ]
    if written:
        table = written[0].written
        raise TenantIsolationError(
            f"{template.kind.upper()} would change {table}, which is not tenant-scoped: its "
            "rows are shared by every tenant, so a tenant session may read but not write "
            "them; change shared data in an admin session (cluster.session(admin=True))"
        )


def fill_tenant(
    view: Template, values: tuple[object, ...], tenant: Tenant, column: str
) -> tuple[object, ...]:
    """``values`` with the session's tenant id where an INSERT passes None for its tenant
    column (``view.tenant_fills``); ``values`` itself when none is None.

    The parameter values change per execution (an ``executemany`` may pass None in some
    rows and the id in others) while the template is shared, so this happens each time
    parameters are bound. A named parameter takes the id in every place the statement
    uses it, so it means one thing throughout; when one of those places is not the tenant
    column (or a comparison with it) the statement is refused rather than given a value
    its author did not pass there.
    """
    missing = [index for index in view.tenant_fills if values[index] is None]
    if not missing:
        return values
    filled = list(values)
    names = view.param_names
    for index in missing:
        name = names[index]
        uses = [index] if name is None else [i for i, n in enumerate(names) if n == name]
        if any(i not in view.tenant_slots for i in uses):
            raise TenantIsolationError(
                f"parameter {name!r} is None in the {column} column, which a tenant session "
                "fills with its tenant, but the statement also uses it elsewhere, where None "
                f"would then mean the tenant too; pass the tenant's id, or give the {column} "
                "value a parameter of its own"
            )
        for i in uses:
            filled[i] = tenant.id
    return tuple(filled)


def check_written(view: Template, values: Sequence[object], tenant: Tenant, column: str) -> None:
    """Refuse an INSERT whose own tenant-column values are not the session's tenant."""
    if not view.tenant_values:
        return
    for ref in view.tenant_values:
        value = literal_value(ref, tuple(values))
        if value is None:
            raise TenantIsolationError(
                f"INSERT sets {column} to NULL in a UNION, where tenantdb cannot fill in the "
                f"tenant exactly; leave {column} out of the column list (tenantdb fills it "
                "in) or pass the tenant's own id"
            )
        if not _same_tenant(value, tenant.id):
            raise TenantIsolationError(
                f"INSERT sets {column} to a tenant other than the session's; leave {column} "
                "out (tenantdb fills it in) or open a session for that tenant"
            )


def check_reach(plan: RoutePlan, tenant: Tenant) -> None:
    """A database-isolated tenant reaches only its own datasource."""
    if tenant.isolation != "database":
        return
    for target in plan.targets:
        if target.datasource != tenant.datasource:
            raise TenantIsolationError(
                f"tenant {tenant.id!r} has a database of its own ({tenant.datasource}) and "
                f"this statement reaches {target.datasource}; query shared data in a session "
                "without a tenant"
            )


def _same_tenant(value: object, tenant_id: str) -> bool:
    if isinstance(value, str):
        return value == tenant_id
    # An integer tenant column holding the id "42": 42 is the same tenant; True is not.
    return isinstance(value, int) and not isinstance(value, bool) and str(value) == tenant_id


__all__ = ["check_reach", "check_status", "check_written", "fill_tenant", "tenant_view"]
