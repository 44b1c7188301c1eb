"""The negative cache of the registry (issue 16): a hit raises a new UnknownTenantError
equal to the one a miss builds, and any change the registry applies forgets every entry."""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Iterator

import pytest

from tenantdb.errors import UnknownTenantError
from tenantdb.tenants import Placement, TenantRegistry
from tenantdb.tenants.stores import Record
from tenantdb.tenants.stores.memory import MemoryStore


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.loads: Counter[str] = Counter()

    def load(self, tenant_id: str) -> Record | None:
        self.loads[tenant_id] += 1
        return super().load(tenant_id)


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def registry(store: CountingStore) -> Iterator[TenantRegistry]:
    registry = TenantRegistry(
        store, placement=Placement({"ds0": 1.0}), watch=False, clock=lambda: 0.0
    )
    yield registry
    registry.close()


def caught(registry: TenantRegistry, tenant_id: str) -> UnknownTenantError:
    with pytest.raises(UnknownTenantError) as info:
        registry.get(tenant_id)
    return info.value


def test_a_negative_hit_raises_a_new_error_like_the_first(
    registry: TenantRegistry, store: CountingStore
) -> None:
    first = caught(registry, "ghost")  # from the store
    second = caught(registry, "ghost")  # from the negative cache
    third = caught(registry, "ghost")
    assert store.loads["ghost"] == 1
    assert second is not first
    assert third is not second
    assert second.__traceback__ is not third.__traceback__
    built = UnknownTenantError("ghost")
    for error in (first, second):
        assert type(error) is UnknownTenantError
        assert error.args == built.args
        assert str(error) == str(built) == "unknown tenant 'ghost'"
        assert vars(error) == vars(built)
        assert (error.tenant_id, error.datasource, error.role, error.orig) == (
            "ghost",
            None,
            None,
            None,
        )
        again = pickle.loads(pickle.dumps(error))
        assert (type(again), str(again), again.tenant_id) == (
            UnknownTenantError,
            str(built),
            "ghost",
        )
    second.add_note("seen by one caller")
    assert not hasattr(caught(registry, "ghost"), "__notes__")


def test_any_change_forgets_every_unknown_id(
    registry: TenantRegistry, store: CountingStore
) -> None:
    caught(registry, "ghost")
    caught(registry, "phantom")
    assert registry.status()["negative_cached"] == 2
    registry.put({"id": "acme"})  # a change to another tenant
    assert registry.status()["negative_cached"] == 0
    caught(registry, "ghost")
    assert store.loads["ghost"] == 2
    caught(registry, "ghost")
    assert store.loads["ghost"] == 2


def test_a_negative_hit_carries_only_its_own_callers_context(registry: TenantRegistry) -> None:
    caught(registry, "ghost")  # remembered as unknown
    try:
        raise KeyError("the caller's own failure")
    except KeyError:
        inside = caught(registry, "ghost")
    assert isinstance(inside.__context__, KeyError)
    later = caught(registry, "ghost")
    assert later is not inside
    assert later.__context__ is None


def test_the_message_is_built_when_read_and_may_be_given() -> None:
    error = UnknownTenantError("ghost")
    assert (error.tenant_id, error.message, str(error)) == (
        "ghost",
        "unknown tenant 'ghost'",
        "unknown tenant 'ghost'",
    )
    given = UnknownTenantError("ghost", "no tenant ghost in this region")
    assert (given.tenant_id, str(given)) == ("ghost", "no tenant ghost in this region")
    again = pickle.loads(pickle.dumps(given))
    assert (type(again), again.tenant_id, str(again)) == (
        UnknownTenantError,
        "ghost",
        "no tenant ghost in this region",
    )
