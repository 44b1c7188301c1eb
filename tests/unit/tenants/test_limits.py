"""TenantLimits: one class from the configuration document to the Tenant, with no copying."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import tenantdb
import tenantdb.config
import tenantdb.core.tenancy
import tenantdb.tenants
from tenantdb.config import TenantLimits, load_config
from tenantdb.core.tenancy import Tenant
from tenantdb.errors import InvalidTenantError
from tenantdb.tenants._configured import static_tenant
from tenantdb.tenants._record import parse_record

LIMITS: dict[str, Any] = {"requests_per_second": 12.5, "burst": 20, "max_concurrent": 3}


def test_every_public_name_is_the_one_class() -> None:
    assert tenantdb.TenantLimits is TenantLimits
    assert tenantdb.tenants.TenantLimits is TenantLimits
    assert tenantdb.core.tenancy.TenantLimits is TenantLimits
    (limits_field,) = (f for f in dataclasses.fields(Tenant) if f.name == "limits")
    assert limits_field.default_factory is TenantLimits


def test_a_frozen_slotted_hashable_value() -> None:
    limits = TenantLimits(**LIMITS)
    assert not hasattr(limits, "__dict__")
    assert limits == TenantLimits(**LIMITS)
    assert len({limits, TenantLimits(**LIMITS), TenantLimits()}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.burst = 1  # type: ignore[misc]


def test_a_static_tenant_holds_the_limits_the_document_gave() -> None:
    config = load_config(
        {
            "datasources": {"ds0": {"url": "sqlite:///x.db"}},
            "tenants": {"acme": {"limits": LIMITS}},
        },
        env={},
    )
    entry = config.tenants["acme"]
    assert entry.limits == TenantLimits(**LIMITS)
    assert static_tenant("acme", entry).limits is entry.limits


def test_a_record_gives_the_same_value_and_tenants_without_limits_share_one() -> None:
    tenant = parse_record({"id": "acme", "version": 1, "limits": LIMITS})
    assert tenant.limits == TenantLimits(**LIMITS)
    written = tenant.to_dict()["limits"]
    assert {k: v for k, v in written.items() if v is not None} == LIMITS
    assert written.keys() == {f.name for f in dataclasses.fields(TenantLimits)}
    written: list[dict[str, Any]] = [{}, {"limits": {}}, {"limits": {"burst": None}}]
    bare = [parse_record({"id": f"t{i}", "version": 1, **w}) for i, w in enumerate(written)]
    assert bare[0].limits == TenantLimits()
    assert all(t.limits is bare[0].limits for t in bare)


@pytest.mark.parametrize(
    ("limits", "where"),
    [
        ({"bursts": 1}, "limits.bursts"),
        ({"burst": 0}, "limits.burst"),
        ({"burst": True}, "limits.burst"),
        ({"requests_per_second": "fast"}, "limits.requests_per_second"),
        (5, "limits"),
    ],
)
def test_a_record_with_bad_limits_is_refused_naming_the_key(limits: Any, where: str) -> None:
    with pytest.raises(InvalidTenantError, match=f"tenant 'acme': {where}: ") as caught:
        parse_record({"id": "acme", "version": 1, "limits": limits})
    assert caught.value.field == "limits"
