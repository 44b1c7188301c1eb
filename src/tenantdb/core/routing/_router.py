"""The router: a pure function from (template, parameters, tenant, topology) to a RoutePlan.

Precedence, from strongest to weakest, when deciding where a statement goes:

1. ``admin=True`` lifts the single-tenant and single-shard write restrictions; it never
   changes where a given key lives.
2. The session's tenant places ``tenant`` tables (its datasource, its schema when the
   tenant is schema-isolated).
3. Sharding-key conditions in the statement (``=``, ``IN``, ``BETWEEN``, comparisons,
   through AND and OR) prune the shards of sharded tables; without them a read scans every
   shard and a write is refused outside admin sessions.
4. Tables the configuration does not name live on the default datasource.

Per template, the work that does not depend on parameters (resolving tables, checking that
co-located tables are joined on their key, projecting predicates onto the key) is done once
per topology and cached on the template; routing a cached statement evaluates the key
predicate and joins precomputed SQL pieces.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ...errors import ProgrammingError, RoutingError, UnsupportedSQLError
from ..sql import (
    PLACEHOLDER,
    AllOf,
    AnyOf,
    Atom,
    MergeShape,
    Param,
    Predicate,
    Rendered,
    Template,
    TemplateCache,
    ValueRef,
    bind_values,
    check_statement_size,
    coalesced_rendering,
    merge_shape,
    owner_literal,
)
from ..tenancy import Tenant
from ._flow import Flow
from ._isolation import check_reach, check_status, check_written, fill_tenant, tenant_view
from ._layout import SchemaLayout
from ._plan import MergePlan, Role, RoutePlan, Target
from ._skeleton import LIMIT, OWNER, Part, Recipe, Skeleton, Spread, SpreadCache
from ._topology import TablePlacement, Topology, quote_identifier
from .strategies import ShardId, Strategy

Params = Sequence[object] | Mapping[str, object] | None

_GENERATION = itertools.count(1)
_TOKENS = itertools.count(1)
_MAX_PARTS = 200_000
_Pick = Callable[[tuple[object, ...]], tuple[object, ...]]
_Memo = tuple[Template, Template, "_Program"]
"""(template, the template as the session runs it, its program) of one memoised text."""
_ALL: frozenset[ShardId] | None = None  # "every shard": pruning found no constraint


@dataclass(frozen=True, slots=True)
class _Group:
    """The sharded tables of a statement: one strategy shared by co-located tables."""

    strategy: Strategy | None
    """``None`` for an admin scan over ``tenant`` tables: one 'shard' per datasource."""
    refs: tuple[int, ...]
    predicates: tuple[Predicate, ...]
    """Key predicate per result scope (UNION branches are unioned)."""


@dataclass(slots=True)
class _Program:
    """Everything about a template that depends on the topology but not on parameters."""

    placements: tuple[TablePlacement, ...]
    group: _Group | None
    fixed: dict[str, str]
    """Datasource required by a single table → the table that requires it."""
    tenant_refs: tuple[int, ...]
    broadcast_refs: tuple[int, ...]
    insert_key: int | None
    key_assignment: ValueRef | None
    assigns_key: bool
    split_error: str | None = None
    """Why this statement cannot run on several shards at once (checked when it would)."""
    merge: MergeShape | None = None
    """The multi-target variant of a SELECT, built when a plan first needs it."""
    merge_error: str | None = None
    """Why this SELECT cannot be merged, once building its variant failed."""
    token: int = field(default_factory=_TOKENS.__next__)
    """Identifies this program in the router's cache of plan skeletons."""
    pick: _Pick | None = None
    """The parameters of the unsplit text from the bound values (None: the values as
    they are): the fast paths' only per-call work on parameters."""
    point_key: Param | None = None
    """Set when the statement is pinned by one ``key = %s`` and nothing else varies: the
    fast path routes it by that parameter alone, with the SQL of each shard cached."""
    point_targets: dict[ShardId, tuple[str, Role, str, Mapping[str, str]]] | None = None
    point_strategy: Strategy | None = None
    tenant_targets: dict[tuple[str | None, str | None], Target] | None = None
    """Fast path for statements on ``tenant`` tables alone: one cached target per
    (datasource, schema), since nothing else about the statement varies by tenant."""
    tenant_scoped: str | None = None
    """A tenant-scoped table the statement names (outside admin sessions it needs a tenant)."""
    datasources: dict[ShardId, str] = field(default_factory=dict)
    """The datasource of each shard a multi-target plan reached."""
    parts: dict[object, Part] = field(default_factory=dict)
    """Targets without parameters, per (shard, datasource, scan schema, tenant schema,
    merged): reused by every skeleton that reaches the shard. (A statement without
    sharded tables is "shard" 0 on whichever datasource the tenant or a table pins.)"""
    coalesced: dict[bool, Rendered | None] | None = None
    """For admin scans over schema tenants: the text whose tenant column reads COALESCE
    (per merged or not), built on first use; None inside when the statement names none."""


@dataclass(frozen=True, slots=True)
class _Parts:
    """The table references of a statement by how they are placed."""

    sharded: tuple[int, ...]
    """Sharded tables (one co-located group at most)."""
    tenant_refs: tuple[int, ...]
    broadcast_refs: tuple[int, ...]
    fixed: dict[str, str]
    """Datasource required by a single table → the table that requires it (one at most)."""

    @classmethod
    def of(cls, template: Template, placements: tuple[TablePlacement, ...]) -> _Parts:
        """Raises RoutingError for sharded tables that are not co-located, or single tables
        on different datasources."""
        sharded: dict[tuple[object, ...], list[int]] = {}
        tenant_refs: list[int] = []
        broadcast_refs: list[int] = []
        fixed: dict[str, str] = {}
        for ref, placement in zip(template.refs, placements, strict=True):
            if placement.kind == "sharded":
                assert placement.strategy is not None
                sharded.setdefault(placement.strategy.colocation_key, []).append(ref.index)
            elif placement.kind == "tenant":
                tenant_refs.append(ref.index)
            elif placement.kind == "broadcast":
                broadcast_refs.append(ref.index)
            else:
                assert placement.datasource is not None
                fixed.setdefault(placement.datasource, placement.name)
        if len(sharded) > 1:
            names = sorted({placements[refs[0]].describe() for refs in sharded.values()})
            raise RoutingError(
                f"{' and '.join(names)} are sharded differently, so this statement would need "
                "a cross-shard join; join tables that share strategy, shard count and "
                "datasources (binding tables) on their key, or query them separately"
            )
        if len(fixed) > 1:
            raise RoutingError(
                "this statement joins tables on different datasources ("
                + ", ".join(f"{table} on {ds}" for ds, table in sorted(fixed.items()))
                + "); query them separately"
            )
        group = tuple(next(iter(sharded.values()))) if sharded else ()
        return cls(group, tuple(tenant_refs), tuple(broadcast_refs), fixed)


class Router:
    """Routes statements against one topology snapshot; thread-safe and free of I/O.

    ``max_cached_targets`` bounds the plan skeletons kept for multi-target routes (scans,
    ranges, IN lists): targets without their parameters, re-bound on every call.
    """

    def __init__(
        self,
        topology: Topology,
        *,
        templates: TemplateCache | None = None,
        max_cached_targets: int = 100_000,
    ) -> None:
        self.topology = topology
        self.templates = templates if templates is not None else TemplateCache()
        self._generation = next(_GENERATION)
        self._dialect = topology.dialect
        self._placeholder = PLACEHOLDER[topology.dialect]
        # Texts this short are under max_statement_bytes whatever their characters.
        self._short = topology.max_statement_bytes // 4
        self._names: dict[tuple[str, str | None], str] = {}
        self._spreads = SpreadCache(max_cached_targets)
        # Per kind of session (admin or not; a tenant session by its isolation): SQL text →
        # what routing it again starts from, so a repeated text skips the template cache.
        self._memos: dict[object, dict[str, _Memo]] = {}

    def __repr__(self) -> str:
        return f"<Router {self.topology!r} {self.templates!r} {self._spreads!r}>"

    def template(self, sql: str) -> Template:
        """The cached template of ``sql`` in the cluster's dialect."""
        if len(sql) > self._short:
            check_statement_size(sql, self.topology.max_statement_bytes)
        try:
            return self.templates.get(sql, self._dialect)
        except RecursionError:
            raise _too_deep() from None

    def route(
        self,
        sql: str | Template,
        params: Params = None,
        *,
        tenant: Tenant | None = None,
        admin: bool = False,
        schemas: Mapping[str, Sequence[str]] | None = None,
    ) -> RoutePlan:
        """Decide where one statement runs.

        ``schemas`` (datasource → schemas of its schema-isolated tenants: the registry's
        :class:`SchemaLayout`) lets an admin scan of tenant tables visit those tenants'
        tables too. There the tenant column of a ``tenant`` table reads
        ``COALESCE(<column>, '<the schema's tenant>')`` wherever the statement names it
        (rows a schema tenant stored before its INSERTs carried the id hold NULL), which
        needs the layout's owners: a plain mapping serves statements that do not name it.

        A ``tenant`` without ``admin`` makes this a tenant session, confined to that
        tenant (see ``_isolation``): the plan's SQL carries the tenant condition, with the
        tenant id as its last parameter.

        Raises RoutingError when the statement cannot be placed without risking a wrong
        answer, UnsupportedSQLError for SQL shapes tenantdb refuses, TenantIsolationError
        / TenantStatusError for what a tenant session may not run, and ProgrammingError
        when the parameters do not match the placeholders.
        """
        try:
            mode: object = admin if tenant is None or admin else tenant.isolation
            memos = self._memos.get(mode)
            memo = memos.get(sql) if memos is not None and type(sql) is str else None
            if memo is None:
                return self._route_new(sql, params, tenant, admin, schemas)
            template, view, program = memo
            values = bind_values(template.param_names, params)
            if tenant is None or admin:
                return self._run(view, program, values, tenant, admin, schemas)
            if tenant.status != "active":
                check_status(tenant, template)
            return self._run_confined(template, view, program, values, tenant, schemas)
        except RecursionError:
            raise _too_deep() from None

    def _route_new(
        self,
        sql: str | Template,
        params: Params,
        tenant: Tenant | None,
        admin: bool,
        schemas: Mapping[str, Sequence[str]] | None,
    ) -> RoutePlan:
        """Route a text not memoised yet (or a Template): the same checks in the same
        order, then remember what the next call of the text can start from."""
        template = sql if isinstance(sql, Template) else self.template(sql)
        values = bind_values(template.param_names, params)
        if tenant is None or admin:
            program = self._program(template, admin)
            self._memoize(sql, admin, (template, template, program))
            return self._run(template, program, values, tenant, admin, schemas)
        check_status(tenant, template)
        view = self._tenant_view(template, tenant)
        program = self._program(view, False)
        self._memoize(sql, tenant.isolation, (template, view, program))
        return self._run_confined(template, view, program, values, tenant, schemas)

    def _memoize(self, sql: str | Template, mode: object, memo: _Memo) -> None:
        if type(sql) is not str:
            return
        memos = self._memos.get(mode)
        if memos is None:
            memos = self._memos.setdefault(mode, {})
        if len(memos) >= self.templates.max_size:
            memos.clear()  # a new working set: start over rather than track recency
        memos[sql] = memo

    def _run_confined(
        self,
        template: Template,
        view: Template,
        program: _Program,
        values: tuple[object, ...],
        tenant: Tenant,
        schemas: Mapping[str, Sequence[str]] | None,
    ) -> RoutePlan:
        """Route in a tenant session (its status already checked): the statement's own
        tenant values, the tenant as the view's last parameter, the tenant's reach."""
        if view is not template:
            if view.tenant_values:
                column = self.topology.tenant_column
                if view.tenant_fills:
                    values = fill_tenant(view, values, tenant, column)
                check_written(view, values, tenant, column)
            values = (*values, tenant.id)
        plan = self._run(view, program, values, tenant, False, schemas)
        if tenant.isolation == "database":
            check_reach(plan, tenant)
        return plan

    def _compiled(self, template: Template) -> dict[object, Any]:
        """This router's cache on ``template``: tenant views by isolation, programs by
        admin. Templates outlive routers (a topology reload keeps the template cache)."""
        programs = template.programs
        cache = programs.get(self._generation)
        if cache is None:
            if len(programs) >= 8:
                programs.clear()
            cache = programs[self._generation] = {}
        return cache

    def _tenant_view(self, template: Template, tenant: Tenant) -> Template:
        """The confined template for this tenant's isolation, cached on the template."""
        cache = template.programs.get(self._generation)
        view = cache.get(tenant.isolation) if cache is not None else None
        if view is None:
            view = tenant_view(self.topology, template, tenant.isolation)
            self._compiled(template)[tenant.isolation] = view
        assert isinstance(view, Template)
        return view

    def _run(
        self,
        template: Template,
        program: _Program,
        values: tuple[object, ...],
        tenant: Tenant | None,
        admin: bool,
        schemas: Mapping[str, Sequence[str]] | None,
    ) -> RoutePlan:
        """Route a compiled statement: a fast path when one applies, else ``_plan``."""
        if program.tenant_scoped is not None and tenant is None:
            raise RoutingError(
                f"{program.tenant_scoped} is tenant-scoped; open the session with tenant=... "
                "(or admin=True to work across tenants); if every tenant shares its rows, "
                f"declare it tenant_scoped = false under [tables.{program.tenant_scoped}]"
            )
        if program.point_key is not None:
            value = values[program.point_key.index]
            if value is not None:
                return self._point_plan(template, program, value, values, tenant, admin)
        elif program.tenant_targets is not None and tenant is not None:
            return self._tenant_plan(template, program, values, tenant, admin)
        return self._plan(template, program, values, tenant, admin, schemas)

    def _tenant_plan(
        self,
        template: Template,
        program: _Program,
        values: tuple[object, ...],
        tenant: Tenant,
        admin: bool,
    ) -> RoutePlan:
        """The fast path for tenant tables: the target's text is cached per placement."""
        assert program.tenant_targets is not None
        key = (tenant.datasource, tenant.schema if tenant.isolation == "schema" else None)
        cached = program.tenant_targets.get(key)
        if cached is None:
            plan = self._plan(template, program, values, tenant, admin)
            program.tenant_targets[key] = plan.targets[0]
            return plan
        params = values if program.pick is None else program.pick(values)
        target = _make_tuple(
            Target, (cached.datasource, cached.role, cached.sql, params, cached.tables)
        )
        return _make_tuple(RoutePlan, (template.kind, (target,), None, tenant.id, admin, None))

    def _point_plan(
        self,
        template: Template,
        program: _Program,
        value: object,
        values: tuple[object, ...],
        tenant: Tenant | None,
        admin: bool,
    ) -> RoutePlan:
        """The fast path: one shard chosen by one parameter, its SQL text cached per shard."""
        strategy = program.point_strategy
        assert strategy is not None and program.point_targets is not None
        shard = strategy.shard_for(value)
        cached = program.point_targets.get(shard)
        if cached is None:
            names, qualifiers, tables = self._names_for(template, program, shard, None)
            sql, _ = self._render(template, template.rendered, names, qualifiers)
            datasource = strategy.datasource_of(shard)
            role = self._role(template, datasource)
            cached = (datasource, role, sql, MappingProxyType(tables))
            program.point_targets[shard] = cached
        params = values if program.pick is None else program.pick(values)
        target = _make_tuple(Target, (*cached[:3], params, cached[3]))
        tenant_id = tenant.id if tenant is not None else None
        return _make_tuple(RoutePlan, (template.kind, (target,), None, tenant_id, admin, None))

    def _role(self, template: Template, datasource: str) -> Role:
        """ "replica" for a plain read on a datasource with replicas: the session may serve
        it there (outside transactions, when a replica is fresh enough), else "primary"."""
        if (
            template.kind == "select"
            and not template.locking
            and not template.opaque_calls
            and datasource in self.topology.replicated
        ):
            return "replica"
        return "primary"

    # -- per template ---------------------------------------------------------------

    def _program(self, template: Template, admin: bool) -> _Program:
        cache = template.programs.get(self._generation)
        program = cache.get(admin) if cache is not None else None
        if program is None:
            program = self._compile(template, admin)
            self._compiled(template)[admin] = program
        assert isinstance(program, _Program)
        return program

    def _compile(self, template: Template, admin: bool) -> _Program:
        """Everything about ``template`` that depends on the topology, not on parameters."""
        placements = tuple(self.topology.table(ref.table) for ref in template.refs)
        self._check_names(template, placements, admin)
        parts = _Parts.of(template, placements)
        group, flow = self._group(template, placements, parts, admin)
        insert_key: int | None = None
        if template.insert is not None:
            insert_key = self._insert_key(template, placements, group)
        if flow is not None and group is not None:
            flow.check_joined("sharded tables" if group.strategy is not None else "tenant tables")
        key_assignment, assigns_key = self._key_assignment(template, placements, group)
        split_error = None
        if flow is not None:
            merged_root = 0 if template.kind == "select" and not template.set_operation else None
            writes = template.kind if template.kind in ("update", "delete") else None
            split_error = flow.split_error(merged_root, writes)
        program = _Program(
            placements=placements,
            group=group,
            fixed=parts.fixed,
            tenant_refs=parts.tenant_refs,
            broadcast_refs=parts.broadcast_refs,
            insert_key=insert_key,
            key_assignment=key_assignment,
            assigns_key=assigns_key,
            split_error=split_error,
        )
        if not admin:
            program.tenant_scoped = next(
                (p.name for p in placements if p.tenant_scoped and p.kind != "tenant"), None
            )
        self._fast_paths(template, program)
        if template.kind == "select" and group is None and _only_broadcast(program):
            # Refused whatever the parameters, as a read of sharded tables would be when it
            # reaches several shards (its variant is built then: see _merge_of).
            program.merge = merge_shape(template.marked, template.dialect, template.sql)
        program.pick = _picker(template.rendered, template.param_count)
        return program

    @staticmethod
    def _check_names(
        template: Template, placements: tuple[TablePlacement, ...], admin: bool
    ) -> None:
        """DDL only in admin sessions; configured tables by their logical name alone."""
        if template.kind == "ddl" and not admin:
            raise RoutingError(
                f"{template.ddl_kind} changes every shard of a table; run it in an admin "
                "session (cluster.session(admin=True)) or with `tenantdb ddl`"
            )
        for ref, placement in zip(template.refs, placements, strict=True):
            if ref.schema is not None and placement.configured:
                raise RoutingError(
                    f"{ref.schema}.{ref.table} names a schema; write the logical table name "
                    f"{ref.table!r} alone, tenantdb chooses the physical place"
                )

    def _group(
        self,
        template: Template,
        placements: tuple[TablePlacement, ...],
        parts: _Parts,
        admin: bool,
    ) -> tuple[_Group | None, Flow | None]:
        """The statement's sharded tables (or, in an admin scan, its tenant tables, joined
        on the tenant column) with the key conditions that restrict their rows."""

        def key_of(ref: int) -> str | None:
            return self._key_of(placements, ref)

        if parts.sharded:
            flow = Flow(template, parts.sharded, key_of)
            strategy = placements[parts.sharded[0]].strategy
            return _Group(strategy, parts.sharded, flow.predicates()), flow
        if parts.tenant_refs and admin:
            # Admin scans of tenant tables visit every datasource, joined on the tenant column.
            flow = Flow(template, parts.tenant_refs, key_of)
            return _Group(None, parts.tenant_refs, ()), flow
        return None, None

    @staticmethod
    def _fast_paths(template: Template, program: _Program) -> None:
        """Set up the fast paths that apply: one shard by one ``key = %s``, or one tenant's
        tables only."""
        group = program.group
        if (
            group is not None
            and group.strategy is not None
            and len(group.predicates) == 1
            and isinstance(group.predicates[0], Atom)
            and group.predicates[0].op == "eq"
            and isinstance(group.predicates[0].values[0], Param)
            and program.insert_key is None
            and not program.assigns_key
            and not program.fixed
            and not program.tenant_refs
            and not program.broadcast_refs
            and template.kind != "ddl"
        ):
            program.point_key = group.predicates[0].values[0]
            program.point_targets = {}
            program.point_strategy = group.strategy
        if (
            program.tenant_refs
            and group is None
            and not program.fixed
            and not program.broadcast_refs
            and template.insert is None
            and template.kind != "ddl"
        ):
            program.tenant_targets = {}

    def _key_of(self, placements: tuple[TablePlacement, ...], ref: int) -> str | None:
        placement = placements[ref]
        if placement.kind == "tenant":
            return self.topology.tenant_column
        return placement.key

    def _insert_key(
        self, template: Template, placements: tuple[TablePlacement, ...], group: _Group | None
    ) -> int | None:
        insert = template.insert
        assert insert is not None
        target = template.refs[0] if template.refs else None
        if target is None or target.joined != "target":
            return None
        placement = placements[target.index]
        if placement.kind != "sharded":
            if insert.from_query and group is not None and group.strategy is not None:
                raise UnsupportedSQLError(
                    "INSERT ... SELECT from a sharded table is not supported; read the rows, "
                    "then insert them"
                )
            return None
        if insert.from_query:
            raise UnsupportedSQLError(
                f"INSERT ... SELECT into sharded table {placement.name} is not supported; "
                "insert the rows with VALUES so each row is placed by its key"
            )
        key = placement.key
        assert key is not None
        if insert.columns is None or key not in insert.columns:
            raise RoutingError(
                f"INSERT into {placement.name} must set its sharding key column {key!r}; "
                "list the columns and give a value for it"
            )
        if key in {c.name for c in insert.upsert_sets}:
            raise RoutingError(
                f"the upsert assigns {placement.name}.{key}, which would move the row to "
                "another shard; leave the sharding key out of the update clause"
            )
        return insert.columns.index(key)

    def _key_assignment(
        self, template: Template, placements: tuple[TablePlacement, ...], group: _Group | None
    ) -> tuple[ValueRef | None, bool]:
        if template.kind != "update" or group is None or group.strategy is None:
            return None, False
        target = template.refs[0]
        key = self._key_of(placements, target.index)
        for column, value in template.assignments:
            if column.name == key and column.qualifier in (None, target.qualifier):
                if value is None:
                    raise RoutingError(
                        f"UPDATE sets the sharding key {key} of {placements[0].name} to an "
                        "expression, which could move rows to another shard; delete and "
                        "re-insert the rows instead"
                    )
                return value, True
        return None, False

    # -- per statement ----------------------------------------------------------------

    def _plan(
        self,
        template: Template,
        program: _Program,
        values: tuple[object, ...],
        tenant: Tenant | None,
        admin: bool,
        schemas: Mapping[str, Sequence[str]] | None = None,
    ) -> RoutePlan:
        """Route one statement the general way: choose the shards, apply every guard, then
        bind the targets (built once per shard set and cached as a skeleton)."""
        tenant_ds = self._tenant_datasource(template, program, tenant, admin)
        needed = self._needed_datasource(program, tenant_ds)
        spread, constrained, rows_by_shard = self._spread(
            template, program, values, tenant, tenant_ds, needed
        )
        shards = spread.shards
        self._check_write(template, program, len(shards), constrained, admin)
        if program.assigns_key:
            self._check_key_move(template, program, values, shards)
        # An admin scan of tenant tables also visits each schema-isolated tenant's tables:
        # one target per (shard, schema), merged like shards even on a single datasource.
        group = program.group
        layout = None
        if group is not None and group.strategy is None and tenant is None and schemas:
            layout = schemas
        units = len(shards) + sum(len(layout.get(ds, ())) for _, ds in shards) if layout else 0
        units = units or len(shards)
        if units > 1 and program.split_error is not None:
            raise UnsupportedSQLError(program.split_error)
        merged = units > 1 and template.kind == "select"
        shape = self._merge_of(template, program) if merged else None
        limit_value = self._limit_value(shape, values)
        if rows_by_shard is not None:
            skeleton = self._skeleton(template, program, shards, tenant, None, shape, rows_by_shard)
        else:
            skeleton = self._cached_skeleton(template, program, spread, tenant, layout, shape)
        return RoutePlan(
            kind=template.kind,
            targets=skeleton.bind(values, limit_value),
            merge=None if shape is None else _merge_plan(template, shape, values),
            tenant=tenant.id if tenant is not None else None,
            admin=admin,
        )

    def _tenant_datasource(
        self, template: Template, program: _Program, tenant: Tenant | None, admin: bool
    ) -> str | None:
        """The tenant's datasource when the statement names ``tenant`` tables; refuses what
        needs a tenant and has none."""
        if not program.tenant_refs:
            return None
        if tenant is None and not admin:
            table = program.placements[program.tenant_refs[0]].name
            raise RoutingError(
                f"{table} is placed per tenant; open the session with tenant=... "
                "(or admin=True to scan every tenant)"
            )
        if tenant is None and template.insert is not None:
            written = [i for i in program.tenant_refs if template.refs[i].written]
            if written:
                table = program.placements[written[0]].name
                raise RoutingError(
                    f"INSERT into {table} needs the tenant's placement, which an admin session "
                    "does not have; insert through cluster.session(tenant=...)"
                )
        if tenant is None:
            return None
        if tenant.datasource is None:
            raise RoutingError(
                f"tenant {tenant.id!r} has no datasource; place it "
                "(cluster.tenants.put({'id': ..., 'datasource': ...})) before use"
            )
        return tenant.datasource

    @staticmethod
    def _needed_datasource(program: _Program, tenant_ds: str | None) -> str | None:
        """The one datasource single tables and the tenant pin the statement to, if any."""
        required = set(program.fixed)
        if tenant_ds is not None:
            required.add(tenant_ds)
        if len(required) > 1:
            raise RoutingError(
                "this statement needs tables on different datasources ("
                + ", ".join(sorted(required))
                + "); query them separately"
            )
        return next(iter(required)) if required else None

    def _spread(
        self,
        template: Template,
        program: _Program,
        values: tuple[object, ...],
        tenant: Tenant | None,
        tenant_ds: str | None,
        needed: str | None,
    ) -> tuple[Spread, bool, dict[ShardId, list[int]] | None]:
        """The shards the statement reaches, whether key conditions chose them, and for a
        sharded INSERT the rows each shard gets."""
        group = program.group
        if group is None:
            shards = self._direct_shards(template, program, tenant, needed)
            return self._checked(template, program, Spread(shards), needed), True, None
        strategy = group.strategy
        if strategy is None:  # an admin scan of tenant tables: one 'shard' per datasource
            ids = tuple(range(len(self.topology.datasources)))
            return self._cached_spread(template, program, None, ids, needed), False, None
        if tenant_ds is not None:
            raise RoutingError(
                "this statement mixes tenant-placed tables with sharded tables; query them "
                "separately"
            )
        if program.insert_key is not None:
            rows = self._split_rows(template, program, strategy, values)
            shards = tuple((s, strategy.datasource_of(s)) for s in sorted(rows))
            return self._checked(template, program, Spread(shards), needed), True, rows
        ids, constrained = self._shard_ids(group, strategy, values)
        return self._cached_spread(template, program, strategy, ids, needed), constrained, None

    def _shard_ids(
        self, group: _Group, strategy: Strategy, values: tuple[object, ...]
    ) -> tuple[tuple[ShardId, ...], bool]:
        """The shards the key conditions allow, ascending, and whether any condition did."""
        today = self.topology.today()
        found = self._evaluate(group, strategy, values, today)
        if found is _ALL:
            return tuple(strategy.all_shards(today)), False
        if not found:
            # Contradictory key conditions: no row can match; any one shard answers.
            return tuple(strategy.all_shards(today))[:1], True
        return tuple(sorted(found)), True

    def _direct_shards(
        self, template: Template, program: _Program, tenant: Tenant | None, needed: str | None
    ) -> tuple[tuple[ShardId, str], ...]:
        """Where a statement without sharded tables runs."""
        if needed is not None:
            return ((0, needed),)
        if program.broadcast_refs:
            copies = program.placements[program.broadcast_refs[0]].datasources
            if template.is_write:
                return tuple(enumerate(copies))
            if tenant is not None and tenant.datasource in copies:
                return ((0, tenant.datasource),)  # the tenant's own copy: no other hop
            return ((0, copies[0]),)
        return ((0, self.topology.default_datasource),)

    def _cached_spread(
        self,
        template: Template,
        program: _Program,
        strategy: Strategy | None,
        ids: tuple[ShardId, ...],
        needed: str | None,
    ) -> Spread:
        """The checked spread of these shards, from the cache or built and cached."""
        key = (program.token, ids, needed)
        spread = self._spreads.get(key)
        if spread is None:
            known = program.datasources
            if len(known) >= _MAX_PARTS:
                known.clear()
            datasources = self.topology.datasources
            shards = []
            for s in ids:
                datasource = known.get(s)
                if datasource is None:
                    datasource = strategy.datasource_of(s) if strategy else datasources[s]
                    known[s] = datasource
                shards.append((s, datasource))
            spread = self._checked(template, program, Spread(tuple(shards)), needed)
            self._spreads.put(key, spread)
        return spread

    @staticmethod
    def _checked(
        template: Template, program: _Program, spread: Spread, needed: str | None
    ) -> Spread:
        """``spread`` when every table can be reached together there; else RoutingError.

        A pure function of the shards and the pinned datasource: a cached spread passed it."""
        shards = spread.shards
        group = program.group
        if needed is not None and group is not None:
            stray = sorted({ds for _, ds in shards if ds != needed})
            if stray:
                raise RoutingError(
                    f"this statement joins tables on {needed} with sharded tables that also "
                    f"live on {', '.join(stray)}; add a sharding-key condition that keeps it on "
                    f"{needed}, or query them separately"
                )
        for ref in program.broadcast_refs:
            copies = program.placements[ref].datasources
            missing = sorted({ds for _, ds in shards if ds not in copies})
            if missing and not (template.is_write and group is None and needed is None):
                raise RoutingError(
                    f"broadcast table {program.placements[ref].name} has no copy on "
                    f"{', '.join(missing)}; add the datasource to its datasources"
                )
        return spread

    def _check_write(
        self, template: Template, program: _Program, count: int, constrained: bool, admin: bool
    ) -> None:
        """A tenant or user session writes to several shards only when its key conditions
        chose them (broadcast writes go to every copy by design)."""
        if not template.is_write or count <= 1 or admin or constrained:
            return
        group = program.group
        assert group is not None  # only a scan of sharded or tenant tables is unconstrained
        table = program.placements[group.refs[0]]
        key = table.key or self.topology.tenant_column
        raise RoutingError(
            f"{template.kind.upper()} on {table.name} without {key} would touch "
            f"{count} shards; add `{key} = ...` or run it in an admin session"
        )

    def _merge_of(self, template: Template, program: _Program) -> MergeShape:
        """The multi-target variant of a SELECT, built on first use; raises the reason a
        SELECT cannot be merged."""
        shape = program.merge
        if shape is None:
            if program.merge_error is not None:
                raise UnsupportedSQLError(program.merge_error)
            try:
                shape = merge_shape(template.marked, template.dialect, template.sql)
            except UnsupportedSQLError as exc:
                program.merge_error = str(exc)
                raise
            program.merge = shape
        return shape

    def _cached_skeleton(
        self,
        template: Template,
        program: _Program,
        spread: Spread,
        tenant: Tenant | None,
        layout: Mapping[str, Sequence[str]] | None,
        shape: MergeShape | None,
    ) -> Skeleton:
        # Names depend on the tenant only through the schema of its ``tenant`` tables.
        schema = None
        if program.tenant_refs and tenant is not None and tenant.isolation == "schema":
            schema = tenant.schema
        key = (schema, shape is not None)
        skeleton = spread.skeletons.get(key)
        if skeleton is None or skeleton.layout is not layout:
            skeleton = self._skeleton(template, program, spread.shards, tenant, layout, shape)
            spread.skeletons[key] = skeleton
        return skeleton

    def _skeleton(
        self,
        template: Template,
        program: _Program,
        shards: tuple[tuple[ShardId, str], ...],
        tenant: Tenant | None,
        layout: Mapping[str, Sequence[str]] | None,
        shape: MergeShape | None,
        rows_by_shard: dict[ShardId, list[int]] | None = None,
    ) -> Skeleton:
        """Name every table and join the text of each target (per shard, and per schema
        of an admin scan's ``layout``)."""
        units: list[tuple[ShardId, str, str | None]] = [(i, ds, None) for i, ds in shards]
        if layout is not None:
            units = [(i, ds, schema) for i, ds in shards for schema in (None, *layout.get(ds, ()))]
        rendered = shape.rendered if shape is not None else template.rendered
        coalesced = None
        if layout is not None and any(schema is not None for _, _, schema in units):
            coalesced = self._coalesced(template, program, shape is not None)
        # Parts of plain targets are kept per shard: when the clock adds a period, the
        # next skeleton reuses every part but the new period's.
        schema = tenant.schema if tenant is not None and tenant.isolation == "schema" else None
        known = program.parts if rows_by_shard is None else {}
        if len(known) >= _MAX_PARTS:
            known.clear()
        parts = []
        for shard, datasource, scan_schema in units:
            owned = scan_schema is not None and coalesced is not None
            key = (shard, datasource, scan_schema, schema, shape is not None)
            part = None if owned else known.get(key)
            if part is None:
                row_ids = rows_by_shard[shard] if rows_by_shard is not None else None
                text_of = rendered
                owner = None
                if scan_schema is not None and coalesced is not None:
                    text_of = coalesced
                    column = self.topology.tenant_column
                    owner = _owner(layout, datasource, scan_schema, column)
                part = self._part(
                    template,
                    program,
                    shard,
                    datasource,
                    tenant,
                    scan_schema,
                    text_of,
                    row_ids,
                    owner,
                )
                if not owned:
                    known[key] = part
            parts.append(part)
        return Skeleton(parts, layout)

    def _part(
        self,
        template: Template,
        program: _Program,
        shard: ShardId,
        datasource: str,
        tenant: Tenant | None,
        scan_schema: str | None,
        rendered: Rendered,
        row_ids: list[int] | None,
        owner: str | None,
    ) -> Part:
        """One target without its parameters: the names of one shard (and schema) put in
        ``rendered``; ``owner``: the schema's tenant that a coalesced text reads."""
        names, qualifiers, tables = self._names_for(template, program, shard, tenant, scan_schema)
        literal = None
        if owner is not None:
            text = owner_literal(owner, self.topology.dialect)
            literal = None if text is None else (template.param_count, text)
        sql, recipe = self._render(template, rendered, names, qualifiers, row_ids, literal)
        role = self._role(template, datasource)
        return _make_tuple(Part, (datasource, role, sql, MappingProxyType(tables), recipe, owner))

    def _evaluate(
        self, group: _Group, strategy: Strategy, values: tuple[object, ...], today: Any
    ) -> frozenset[ShardId] | None:
        if not group.predicates:
            return _ALL  # DDL: no WHERE, every physical table
        result: set[ShardId] = set()
        for predicate in group.predicates:
            found = _shards(predicate, strategy, values, today)
            if found is None:
                return _ALL
            result |= found
        return frozenset(result)

    def _split_rows(
        self,
        template: Template,
        program: _Program,
        strategy: Strategy,
        values: tuple[object, ...],
    ) -> dict[ShardId, list[int]]:
        insert = template.insert
        assert insert is not None and program.insert_key is not None
        by_shard: dict[ShardId, list[int]] = {}
        for row_index, row in enumerate(insert.rows):
            ref = row[program.insert_key]
            if ref is None:
                placement = program.placements[0]
                raise RoutingError(
                    f"the value for {placement.name}.{placement.key} must be a parameter or a "
                    "literal so tenantdb can place the row"
                )
            by_shard.setdefault(strategy.shard_for(_value(ref, values)), []).append(row_index)
        return by_shard

    def _check_key_move(
        self,
        template: Template,
        program: _Program,
        values: tuple[object, ...],
        shards: tuple[tuple[ShardId, str], ...],
    ) -> None:
        group = program.group
        assert group is not None and group.strategy is not None
        assert program.key_assignment is not None
        placement = program.placements[template.refs[0].index]
        new_shard = group.strategy.shard_for(_value(program.key_assignment, values))
        if len(shards) != 1 or shards[0][0] != new_shard:
            raise RoutingError(
                f"UPDATE sets {placement.name}.{placement.key} to a value that lives on another "
                "shard (or the rows are not pinned to one shard); delete and re-insert the rows "
                "instead"
            )

    def _limit_value(self, shape: MergeShape | None, values: tuple[object, ...]) -> int | None:
        if shape is None or not shape.shard_limit:
            return None
        limit = _int_value(shape.limit, values, "LIMIT")
        offset = _int_value(shape.offset, values, "OFFSET") or 0
        return None if limit is None else limit + offset

    def _names_for(
        self,
        template: Template,
        program: _Program,
        shard: ShardId,
        tenant: Tenant | None,
        scan_schema: str | None = None,
    ) -> tuple[list[str], list[str], dict[str, str]]:
        dialect = self.topology.dialect
        group = program.group
        names: list[str] = []
        qualifiers: list[str] = []
        tables: dict[str, str] = {}
        for ref, placement in zip(template.refs, program.placements, strict=True):
            schema: str | None = None
            if placement.kind == "sharded" and group is not None and group.strategy is not None:
                physical = group.strategy.physical_table(placement.name, shard)
            elif placement.configured:
                physical = placement.name
                if placement.kind == "tenant":
                    if tenant is not None and tenant.isolation == "schema":
                        schema = tenant.schema
                    elif tenant is None:
                        schema = scan_schema
            else:
                written = _written(ref.written, ref.quoted, dialect)
                schema_text = (
                    f"{_written(ref.schema_written, ref.schema_quoted, dialect)}."
                    if ref.schema_written
                    else ""
                )
                names.append(schema_text + written)
                qualifiers.append(written)
                tables[ref.table] = schema_text + written
                continue
            qualifier = self._quoted(physical, None)
            full = self._quoted(physical, schema)
            names.append(full)
            qualifiers.append(qualifier)
            tables[placement.name] = f"{schema}.{physical}" if schema else physical
        return names, qualifiers, tables

    def _coalesced(self, template: Template, program: _Program, merged: bool) -> Rendered | None:
        """The statement's text for a schema tenant's target of an admin scan (see
        ``coalesced_rendering``), cached on the program; None: the plain text serves."""
        cache = program.coalesced
        if cache is None:
            cache = program.coalesced = {}
        if merged not in cache:
            refs = [r for r in program.tenant_refs if program.placements[r].tenant_scoped]
            cache[merged] = coalesced_rendering(
                template, refs, self.topology.tenant_column, merged=merged
            )
        return cache[merged]

    def _index_name(self, template: Template, names: list[str], slot: int) -> str:
        """Index and constraint names are unique per schema: each physical table's copy
        gets the table's suffix (``ix_orders_3`` for ``orders_3``)."""
        index = template.ddl_names[slot]
        logical = template.refs[0].table if template.refs else ""
        physical = names[0] if names else logical
        bare = physical.rsplit(".", 1)[-1].strip('"`')
        suffix = bare[len(logical) :] if bare.startswith(logical) else ""
        return quote_identifier(index + suffix, self.topology.dialect)

    def _quoted(self, name: str, schema: str | None) -> str:
        key = (name, schema)
        text = self._names.get(key)
        if text is None:
            dialect = self.topology.dialect
            text = quote_identifier(name, dialect)
            if schema:
                text = f"{quote_identifier(schema, dialect)}.{text}"
            if len(self._names) < 100_000:
                self._names[key] = text
        return text

    def _render(
        self,
        template: Template,
        rendered: Rendered,
        names: list[str],
        qualifiers: list[str],
        row_ids: list[int] | None = None,
        literal: tuple[int, str] | None = None,
    ) -> tuple[str, Recipe]:
        """Join the pieces of ``rendered`` with names and placeholders; returns the text
        and where each of its parameters comes from (see ``_skeleton``). ``literal``
        (placeholder index, text): that placeholder is written as the text instead. The
        placeholder after the statement's own is the schema's tenant of a coalesced text."""
        placeholder = self._placeholder
        owner = template.param_count
        pieces = rendered.pieces
        out = [pieces[0]]
        recipe: list[int] = []
        for position, (kind, index) in enumerate(rendered.slots, start=1):
            if kind == "param":
                if literal is not None and index == literal[0]:
                    out.append(literal[1])
                else:
                    out.append(placeholder)
                    recipe.append(OWNER if index == owner else index)
            elif kind == "table":
                out.append(names[index])
            elif kind == "qualifier":
                out.append(qualifiers[index])
            elif kind == "index":
                out.append(self._index_name(template, names, index))
            elif kind == "limit":
                out.append(placeholder)
                recipe.append(LIMIT)
            else:  # rows
                out.append(self._rows(template, row_ids, recipe))
            out.append(pieces[position])
        return "".join(out), tuple(recipe)

    def _rows(self, template: Template, row_ids: list[int] | None, recipe: list[int]) -> str:
        """The VALUES rows of an INSERT (``row_ids``: those of one shard), their
        parameters appended to ``recipe``."""
        placeholder = self._placeholder
        insert = template.insert
        assert insert is not None
        chosen = row_ids if row_ids is not None else range(len(insert.rows))
        row_texts = []
        for row_index in chosen:
            row = insert.row_renders[row_index]
            text = [row.pieces[0]]
            for (_, param_index), piece in zip(row.slots, row.pieces[1:], strict=True):
                text.append(placeholder)
                recipe.append(param_index)
                text.append(piece)
            row_texts.append("".join(text))
        return ", ".join(row_texts)


def _owner(
    schemas: Mapping[str, Sequence[str]] | None, datasource: str, schema: str, column: str
) -> str:
    """The tenant whose schema an admin scan's target visits (its tenant column needs it)."""
    owner = schemas.owner(datasource, schema) if isinstance(schemas, SchemaLayout) else None
    if owner is None:
        raise RoutingError(
            f"this admin statement reads {column} in schema {schema} on {datasource}, and "
            "which tenant that schema holds is not known here; pass the registry's layout "
            "(schemas=cluster.tenants.schema_layout())"
        )
    return owner


_make_tuple = tuple.__new__


def _too_deep() -> UnsupportedSQLError:
    # sqlglot and the analysis walk trees recursively; a few hundred nested levels exhaust
    # the stack. No real statement nests that deep.
    return UnsupportedSQLError(
        "the statement is nested too deeply to analyse; flatten its subqueries or parentheses"
    )


def _picker(rendered: Rendered, count: int) -> _Pick | None:
    """How to take the parameters of ``rendered`` (in its text's order) from the ``count``
    bound values; None when they are the values as they are."""
    order = rendered.params
    if rendered.params_in_order and len(order) == count:
        return None
    if len(order) == 1:
        index = order[0]
        return lambda values: (values[index],)
    if not order:
        return lambda values: ()
    return operator.itemgetter(*order)


def _merge_plan(template: Template, shape: MergeShape, values: tuple[object, ...]) -> MergePlan:
    """How the targets' rows of a multi-target read combine, with this call's LIMIT."""
    return MergePlan(
        order_by=shape.order_by,
        group_by=shape.group_by,
        aggregates=shape.aggregates,
        distinct=shape.distinct or template.distinct_union,
        limit=_int_value(shape.limit, values, "LIMIT"),
        offset=_int_value(shape.offset, values, "OFFSET") or 0,
        hidden_columns=shape.hidden_columns,
        with_ties=shape.with_ties,
    )


def _only_broadcast(program: _Program) -> bool:
    return bool(program.broadcast_refs) and not program.fixed and not program.tenant_refs


def _written(name: str, quoted: bool, dialect: str) -> str:
    """``name`` as the statement wrote it: bare, or quoted (its quote characters doubled:
    ``"quote "" two"``, never undoubled into the text around it)."""
    if not quoted:
        return name
    if name != name.lower():
        return quote_identifier(name, dialect)
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def _value(ref: ValueRef, values: tuple[object, ...]) -> object:
    return values[ref.index] if isinstance(ref, Param) else ref.value


def _int_value(ref: ValueRef | None, values: tuple[object, ...], clause: str) -> int | None:
    if ref is None:
        return None
    value = _value(ref, values)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProgrammingError(f"{clause} must be a non-negative integer")
    return value


def _shards(
    predicate: Predicate, strategy: Strategy, values: tuple[object, ...], today: Any
) -> frozenset[ShardId] | None:
    """Shards that may hold rows satisfying ``predicate``; ``None`` means every shard."""
    if isinstance(predicate, Atom):
        op = predicate.op
        if op == "eq" or op == "in":
            found = set()
            for ref in predicate.values:
                value = _value(ref, values)
                if value is not None:  # `key = NULL` matches no row
                    found.add(strategy.shard_for(value))
            return frozenset(found)
        if op == "in_array":
            # `key = ANY(%s)`: the list is sent whole to every shard it prunes to; each
            # shard holds only its own keys, so the others match nothing there (as IN).
            array = _value(predicate.values[0], values)
            if not isinstance(array, list | tuple):
                return None  # a value the database reads as an array some other way
            return frozenset(strategy.shard_for(v) for v in array if v is not None)
        if op == "between":
            low, high = (_value(v, values) for v in predicate.values)
            if low is None or high is None:
                return frozenset()
            bounds: tuple[object, bool, object, bool] = (low, True, high, True)
        else:
            value = _value(predicate.values[0], values)
            if value is None:
                return frozenset()
            bounds = {
                "lt": (None, False, value, False),
                "le": (None, False, value, True),
                "gt": (value, False, None, False),
                "ge": (value, True, None, False),
            }[op]
        found_range = strategy.shards_for_range(*bounds, today=today)
        return None if found_range is None else frozenset(found_range)
    if isinstance(predicate, AllOf):
        result: frozenset[ShardId] | None = None
        for part in predicate.parts:
            found_part = _shards(part, strategy, values, today)
            if found_part is not None:
                result = found_part if result is None else result & found_part
        return result
    if isinstance(predicate, AnyOf):
        union: set[ShardId] = set()
        for part in predicate.parts:
            found_part = _shards(part, strategy, values, today)
            if found_part is None:
                return None
            union |= found_part
        return frozenset(union)
    return None


def bind(template: Template, params: Params) -> tuple[object, ...]:
    """The value of every placeholder occurrence of ``template``, in text order.

    Raises ProgrammingError when ``params`` does not match the placeholders.
    """
    return bind_values(template.param_names, params)


__all__ = ["Params", "Router", "bind"]
