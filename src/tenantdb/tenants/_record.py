"""Tenant records: the JSON-shaped dicts stores keep, parsed into Tenants and back.

Every record a store returns goes through ``parse_record`` before the registry serves it,
so a record written by hand (or by an older version) with a wrong field is rejected with
a message naming the tenant and the field, and never reaches the router.

Besides the Tenant's fields, a record written by ``put`` carries ``updated_at``: the Unix
time (seconds, the writer's clock) of the write. It is the store's bookkeeping, not part
of the tenant: a Tenant does not carry it, so exports, tenant equality and "did this
change?" checks never see it; other processes read it to measure how long the change took
to reach them (``change_time``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pydantic

from ..config import (
    IDENTIFIER_HELP,
    TenantConfig,
    TenantLimits,
    is_identifier,
    tenant_id_problem,
)
from ..core.tenancy import Tenant
from ..errors import InvalidTenantError
from .stores import Record
from .stores._codec import ERROR_FIELD, UPDATED_AT, is_version

FIELDS = ("id", "datasource", "isolation", "schema", "status", "limits", "features", "version")
"""Every field of a record, in the order ``record_of`` writes them."""
# Fields the store owns: a change may name them (a record read back), but they are ignored.
_STORE_OWNED = ("version", UPDATED_AT)

# Most tenants have no limits: they share one value instead of a copy each.
_NO_LIMITS = TenantLimits()
_NO_FEATURES: Mapping[str, Any] = MappingProxyType({})


def parse_record(record: Mapping[str, Any]) -> Tenant:
    """The Tenant a stored record describes; InvalidTenantError when it is malformed.

    A schema-isolated tenant without ``schema`` gets its id as schema (like a static
    tenant); ``version`` must be a positive integer. ``updated_at`` is not part of the
    Tenant and is not checked here (``change_time`` reads it).
    """
    if not isinstance(record, Mapping):
        raise InvalidTenantError(f"a tenant record must be a mapping, got {type(record).__name__}")
    tenant_id = checked_id(record.get("id"), needs="a tenant record needs a string 'id'")
    error = record.get(ERROR_FIELD)
    if error is not None:
        raise InvalidTenantError(f"tenant {tenant_id!r}: {error}", tenant_id=tenant_id)
    version = record.get("version")
    if not is_version(version):
        raise InvalidTenantError(
            f"tenant {tenant_id!r}: 'version' must be a positive integer, got {version!r}",
            tenant_id=tenant_id,
            field="version",
        )
    if record.get("datasource") == "":
        raise InvalidTenantError(
            f"tenant {tenant_id!r}: 'datasource' must name a datasource, not be empty (leave it"
            " out to let the hash ring place the tenant)",
            tenant_id=tenant_id,
            field="datasource",
        )
    fields = {k: v for k, v in record.items() if k not in ("id", *_STORE_OWNED)}
    try:
        entry = TenantConfig.model_validate(fields)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "record"
        raise InvalidTenantError(
            f"tenant {tenant_id!r}: {where}: {first['msg']}",
            tenant_id=tenant_id,
            field=str(first["loc"][0]) if first["loc"] else None,
        ) from None
    return Tenant(
        id=tenant_id,
        datasource=sys.intern(entry.datasource) if entry.datasource else None,
        isolation=entry.isolation,
        schema=_schema(tenant_id, entry),
        status=entry.status,
        limits=_NO_LIMITS if entry.limits == _NO_LIMITS else entry.limits,
        features=MappingProxyType(dict(entry.features)) if entry.features else _NO_FEATURES,
        version=version,
    )


def checked_id(value: object, *, needs: str) -> str:
    """``value`` as a tenant id. InvalidTenantError (field ``id``) when it is not a string
    (the message starts with ``needs``) or not an id a tenant may have."""
    if not isinstance(value, str):
        raise InvalidTenantError(f"{needs}, got {value!r}", field="id")
    problem = tenant_id_problem(value)
    if problem is not None:
        raise InvalidTenantError(f"tenant {value!r}: {problem}", tenant_id=value, field="id")
    return value


def record_of(tenant: Tenant) -> Record:
    """The record that stores keep for ``tenant`` (``Tenant.to_dict()``)."""
    return tenant.to_dict()


def merged_record(
    tenant_id: str, current: Record | None, change: Tenant | Mapping[str, Any]
) -> Record:
    """The record ``put(change)`` asks for, one version above the stored ``current``.

    A Tenant replaces every field. A mapping changes the fields it names and keeps the
    others (their defaults for a new tenant); ``version`` in a mapping is ignored, since
    the store owns versions (and ``updated_at``, which the caller stamps). Not validated
    here: the result goes through ``parse_record``.
    """
    # Only known fields carry over: a stored record that did not decode ("_error") or has
    # stray keys is repaired by a put that names the fields it needs.
    kept = {k: v for k, v in current.items() if k in FIELDS} if current is not None else {}
    record: Record = {**kept, "id": tenant_id}
    if isinstance(change, Tenant):
        record = record_of(change)
    else:
        unknown = sorted(set(change) - set(FIELDS) - set(_STORE_OWNED))
        if unknown:
            raise InvalidTenantError(
                f"tenant {tenant_id!r}: unknown field(s) {', '.join(map(repr, unknown))};"
                f" a tenant has {', '.join(FIELDS)}",
                tenant_id=tenant_id,
                field=unknown[0],
            )
        record.update({k: v for k, v in change.items() if k not in _STORE_OWNED})
        if change.get("isolation", "schema") != "schema" and "schema" not in change:
            record["schema"] = None  # leaving schema isolation drops the schema
    record["id"] = tenant_id
    record["version"] = stored_version(current) + 1
    return record


def change_time(record: Mapping[str, Any]) -> float | None:
    """When ``record`` was written (its ``updated_at``, Unix seconds), or None when it
    carries no usable stamp: written before stamps existed, or the stamp is not a finite
    non-negative number (a hand edit; the tenant is still served, just not measured)."""
    stamp = record.get(UPDATED_AT)
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        return None
    if not math.isfinite(stamp) or stamp < 0:
        return None
    return float(stamp)


def stored_version(record: Record | None) -> int:
    """The version a stored record claims (0 for none, or for a version that is not an
    int: a malformed record can still be overwritten by a correct one)."""
    if record is None:
        return 0
    version = record.get("version")
    return version if isinstance(version, int) and not isinstance(version, bool) else 0


def _schema(tenant_id: str, entry: TenantConfig) -> str | None:
    if entry.isolation != "schema":
        if entry.schema_name is not None:
            raise InvalidTenantError(
                f"tenant {tenant_id!r}: only tenants with isolation 'schema' take 'schema'"
                f" (this one's isolation is {entry.isolation!r}); remove it",
                tenant_id=tenant_id,
                field="schema",
            )
        return None
    if entry.schema_name is not None:
        return entry.schema_name
    if is_identifier(tenant_id):
        return tenant_id
    raise InvalidTenantError(
        f"tenant {tenant_id!r}: the id is not a plain SQL identifier, so it cannot name the"
        f" tenant's schema; set 'schema' ({IDENTIFIER_HELP})",
        tenant_id=tenant_id,
        field="schema",
    )
