"""Bulk tenant import: check every record on a scratch copy of the registry, then write.

``plan_import`` runs each record through ``put`` of a scratch registry (an in-process
memory store seeded with the cluster's tenants, the same placement ring, isolation rules
and placement guard), so a record is judged exactly as ``tenantdb tenants add`` / ``set``
would judge it, records of one file are judged together (two database-isolated tenants on
one datasource are refused), and nothing is written until every record passed.
``write_import`` then puts the changes into the real registry one by one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._cluster import Cluster
from ..admin import create_tenant_schema
from ..config import TenantRules
from ..errors import Error, InvalidTenantError
from ..tenants import Placement, Tenant, TenantRegistry
from ..tenants.stores import open_store
from ._tenant_file import Problem, TenantLine

Outcome = Literal["add", "update", "unchanged"]
Counter = Callable[[int], None]
"""Told the number of records handled so far, after each one."""


@dataclass(frozen=True, slots=True)
class ImportStep:
    """What importing one record does. ``change`` is what ``put`` is given (the record
    without its ``version``: the store numbers versions); ``fields`` are the fields an
    update changes."""

    line: int
    tenant_id: str
    outcome: Outcome
    change: Mapping[str, Any]
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """Every record of a file, checked: what importing it would do, or why it cannot be
    imported (``problems``; an import with any does not start)."""

    steps: tuple[ImportStep, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def writes(self) -> tuple[ImportStep, ...]:
        """The steps that change the registry (adds and updates), in file order."""
        return tuple(step for step in self.steps if step.outcome != "unchanged")

    def ids(self, outcome: Outcome) -> list[str]:
        return [step.tenant_id for step in self.steps if step.outcome == outcome]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What ``write_import`` wrote: tenants as stored, and the schemas it created."""

    written: tuple[Tenant, ...]
    schemas_created: tuple[str, ...]


class ImportStopped(Error):
    """A write failed part-way through an import (the store went away, another process
    changed a tenant meanwhile). ``step`` is the record that failed, ``result`` what was
    written before it; the message says how to finish."""

    def __init__(self, step: ImportStep, result: ImportResult, total: int, cause: Error) -> None:
        self.step = step
        self.result = result
        done = len(result.written)
        super().__init__(
            f"line {step.line} (tenant {step.tenant_id!r}): {cause}; {done} of {total}"
            " changes were written before it and the rest were not: fix the cause and run"
            " the same import again (records already written then count as unchanged)"
        )


def plan_import(
    cluster: Cluster,
    lines: Sequence[TenantLine],
    *,
    update: bool,
    on_checked: Counter | None = None,
) -> ImportPlan:
    """Check every record of ``lines`` against the cluster's registry without writing.

    A new id is an add; an existing one is unchanged when the record matches it, else an
    update, which is a problem unless ``update``. The plan's ``problems`` list every
    record that cannot be imported (line, tenant, key, what to change).
    """
    current = {tenant.id: tenant for tenant in cluster.tenants.list()}
    scratch = _scratch(cluster, current.values())
    steps: list[ImportStep] = []
    problems: list[Problem] = []
    try:
        for count, entry in enumerate(lines, start=1):
            judged = _judge(scratch, current.get(entry.tenant_id), entry, update=update)
            if isinstance(judged, Problem):
                problems.append(judged)
            else:
                steps.append(judged)
            if on_checked is not None:
                on_checked(count)
    finally:
        scratch.close()
    return ImportPlan(tuple(steps), tuple(problems))


def write_import(
    cluster: Cluster, plan: ImportPlan, *, on_written: Counter | None = None
) -> ImportResult:
    """Put every add and update of ``plan`` into the cluster's registry, in file order,
    and create the schema of each added schema-isolated tenant (as ``tenants add`` does).

    Raises ImportStopped at the first failure, saying what was written before it.
    """
    writes = plan.writes
    written: list[Tenant] = []
    schemas: list[str] = []
    registry = cluster.tenants
    for step in writes:
        try:
            tenant = registry.put(step.change)
        except Error as exc:
            raise ImportStopped(
                step, ImportResult(tuple(written), tuple(schemas)), len(writes), exc
            ) from exc
        written.append(tenant)
        if step.outcome == "add":
            try:
                created = create_tenant_schema(cluster, tenant)
            except Error as exc:
                cause = Error(
                    f"added the tenant, but creating its schema {tenant.schema!r} failed: {exc};"
                    " `tenantdb ddl` creates it with the tenant's tables"
                )
                result = ImportResult(tuple(written), tuple(schemas))
                raise ImportStopped(step, result, len(writes), cause) from exc
            if created:
                assert tenant.schema is not None
                schemas.append(tenant.schema)
        if on_written is not None:
            on_written(len(written))
    return ImportResult(tuple(written), tuple(schemas))


def _scratch(cluster: Cluster, tenants: Iterable[Tenant]) -> TenantRegistry:
    """A registry over an in-process store holding ``tenants``, judging puts like the
    cluster's own (same ring weights, rules and placement guard); nothing it does leaves
    the process. Held whole in memory, so its isolation checks never read a store."""
    config = cluster.config
    scratch = TenantRegistry(
        open_store("memory:"),
        placement=Placement({name: ds.weight for name, ds in config.datasources.items()}),
        static=tenants,
        max_cached=sys.maxsize,
        rules=TenantRules.of(config),
        watch=False,
    )
    scratch.placement_guard = cluster.tenants.placement_guard
    return scratch


def _judge(
    scratch: TenantRegistry, old: Tenant | None, entry: TenantLine, *, update: bool
) -> ImportStep | Problem:
    tenant_id = entry.tenant_id
    change = {key: value for key, value in entry.record.items() if key != "version"}
    if old is not None and _restates(old, change):
        return ImportStep(entry.line, tenant_id, "unchanged", change)
    try:
        tenant = scratch.put(change)
    except InvalidTenantError as exc:
        return Problem(entry.line, str(exc), tenant_id, exc.field)
    except Error as exc:  # the placement guard could not look for the tenant's rows
        return Problem(entry.line, str(exc), tenant_id)
    if old is None:
        return ImportStep(entry.line, tenant_id, "add", change)
    fields = _changed(old, tenant)
    if not fields:
        return ImportStep(entry.line, tenant_id, "unchanged", change)
    if not update:
        return Problem(
            entry.line,
            f"tenant {tenant_id!r} exists (version {old.version}) and this record changes its"
            f" {', '.join(fields)}: pass --update to change existing tenants",
            tenant_id,
            fields[0],
        )
    return ImportStep(entry.line, tenant_id, "update", change, fields)


def _restates(old: Tenant, change: Mapping[str, Any]) -> bool:
    """Whether ``change`` says nothing ``old`` does not (an exported record read back),
    compared as JSON, so ``1`` and ``true`` differ. Lets such a record pass even when the
    stored tenant is refused for its placement, since importing it changes nothing."""
    held = _fields(old)
    return _canonical({**held, **change}) == _canonical(held)


def _changed(old: Tenant, new: Tenant) -> tuple[str, ...]:
    before, after = _fields(old), _fields(new)
    return tuple(key for key in after if _canonical(after[key]) != _canonical(before.get(key)))


def _fields(tenant: Tenant) -> dict[str, Any]:
    fields = tenant.to_dict()
    del fields["version"]
    return fields


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


__all__ = [
    "ImportPlan",
    "ImportResult",
    "ImportStep",
    "ImportStopped",
    "plan_import",
    "write_import",
]
