"""The registry keeps isolated tenants isolated: a database-isolated tenant alone on its
datasource, a schema tenant in a schema of its own, on put and on changes that arrive
from other processes (issue 13 item 4, issue 21 item 4). MemoryStore, no database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from tenantdb.config import load_config
from tenantdb.config._tenant_rules import TenantRules
from tenantdb.errors import InvalidTenantError, TenantIsolationError
from tenantdb.tenants import Placement, Tenant, TenantRegistry
from tenantdb.tenants.stores.memory import MemoryStore

WAIT_S = 30.0  # a hang guard for events from the watch thread, never a timing assertion
CONFIG = load_config(
    {
        "datasources": {
            "ds0": {"url": "postgresql://app@db0/shard0"},
            "ds1": {"url": "postgresql://app@db1/shard1"},
            "ds2": {"url": "postgresql://app@db2/shard2"},
            "ds3": {"url": "postgresql://app@db3/shard3"},
        },
        "tables": {
            "orders": {"strategy": "tenant"},
            "events": {"strategy": "mod", "key": "id", "shards": 2, "datasources": ["ds3"]},
        },
    },
    env={},
)
RULES = TenantRules.of(CONFIG)
PLACEMENT = Placement(dict.fromkeys(CONFIG.datasources, 1.0))

Make = Callable[..., TenantRegistry]


@pytest.fixture
def make() -> Iterator[Make]:
    opened: list[TenantRegistry] = []

    def build(store: MemoryStore | None = None, **options: Any) -> TenantRegistry:
        options.setdefault("watch", False)
        registry = TenantRegistry(
            store if store is not None else MemoryStore(),
            placement=PLACEMENT,
            rules=RULES,
            **options,
        )
        opened.append(registry)
        return registry

    yield build
    for registry in opened:
        registry.close()


def seed(store: MemoryStore, *tenants: Tenant) -> None:
    """Write straight into the store, as another process (or a hand edit) would."""
    for tenant in tenants:
        current = store.load(tenant.id)
        version = current["version"] if current else 0
        assert store.write(replace(tenant, version=version + 1).to_dict(), expected_version=version)


# -- put ---------------------------------------------------------------------------------


def test_a_database_tenant_alone_on_its_datasource_is_served(make: Make) -> None:
    registry = make()
    tenant = registry.put({"id": "c", "isolation": "database", "datasource": "ds1"})
    assert registry.get("c") == tenant


def test_a_database_tenant_is_never_placed_by_the_ring(make: Make) -> None:
    registry = make()
    with pytest.raises(InvalidTenantError, match="isolation 'database' but no datasource") as e:
        registry.put({"id": "c", "isolation": "database"})
    assert e.value.field == "datasource"
    assert "c" not in registry


@pytest.mark.parametrize(("datasource", "what"), [("ds0", "default_datasource"), ("ds3", "mod")])
def test_a_database_tenant_is_refused_where_shared_rows_live(
    make: Make, datasource: str, what: str
) -> None:
    registry = make()
    with pytest.raises(InvalidTenantError, match=f"datasource '{datasource}' holds rows") as e:
        registry.put({"id": "c", "isolation": "database", "datasource": datasource})
    assert what in str(e.value)


def test_a_database_tenant_is_refused_beside_another_tenant(make: Make) -> None:
    registry = make()
    registry.put({"id": "a", "datasource": "ds1"})
    with pytest.raises(InvalidTenantError, match="datasource 'ds1' is also used by tenant 'a'"):
        registry.put({"id": "c", "isolation": "database", "datasource": "ds1"})
    # The shape: a shared tenant switched to database isolation where it stands.
    registry.put({"id": "b", "datasource": "ds1"})
    with pytest.raises(InvalidTenantError, match="also used by tenant 'a'"):
        registry.put({"id": "b", "isolation": "database"})
    assert registry.get("b").isolation == "shared"


def test_no_tenant_is_put_on_a_database_tenants_datasource(make: Make) -> None:
    registry = make()
    registry.put({"id": "c", "isolation": "database", "datasource": "ds1"})
    with pytest.raises(InvalidTenantError, match="belongs to tenant 'c'"):
        registry.put({"id": "a", "datasource": "ds1"})
    with pytest.raises(InvalidTenantError, match="belongs to tenant 'c'"):
        registry.put({"id": "s", "datasource": "ds1", "isolation": "schema"})
    # The tenant itself may change other fields.
    assert registry.put({"id": "c", "status": "read_only"}).datasource == "ds1"


def test_the_ring_skips_datasources_that_database_tenants_hold(make: Make) -> None:
    registry = make()
    ring_choice = {f"t{i}": PLACEMENT.place(f"t{i}") for i in range(200)}
    assert "ds1" in ring_choice.values()
    registry.put({"id": "c", "isolation": "database", "datasource": "ds1"})
    placed = {tenant_id: registry.put({"id": tenant_id}).datasource for tenant_id in ring_choice}
    assert "ds1" not in placed.values()
    # Only the tenants the ring gave ds1 moved.
    assert all(placed[t] == d for t, d in ring_choice.items() if d != "ds1")
    assert registry.place("t0") != "ds1"


@pytest.mark.parametrize("schema", ["public", "Public", "pg_catalog", "app", "information_schema"])
def test_a_schema_tenant_may_not_take_a_shared_schema(make: Make, schema: str) -> None:
    registry = make()
    with pytest.raises(InvalidTenantError, match=f"schema '{schema}' holds rows") as e:
        registry.put({"id": "s", "datasource": "ds0", "isolation": "schema", "schema": schema})
    assert e.value.field == "schema"


def test_a_schema_tenant_may_not_take_another_tenants_schema(make: Make) -> None:
    registry = make()
    registry.put({"id": "sa", "datasource": "ds0", "isolation": "schema"})
    for datasource in ("ds0", "ds2"):
        with pytest.raises(InvalidTenantError, match="already the schema of tenant 'sa'"):
            registry.put(
                {"id": "sb", "datasource": datasource, "isolation": "schema", "schema": "SA"}
            )
    # A tenant keeps its own schema across changes.
    assert registry.put({"id": "sa", "status": "read_only"}).schema == "sa"


def test_lru_mode_checks_a_put_against_the_whole_store(make: Make) -> None:
    store = MemoryStore()
    seed(store, *(Tenant(id=f"t{i}", datasource="ds0") for i in range(5)))
    seed(store, Tenant(id="hidden", datasource="ds2"))
    registry = make(store, max_cached=2)
    assert registry.status()["mode"] == "lru"
    with pytest.raises(InvalidTenantError, match="also used by tenant 'hidden'"):
        registry.put({"id": "c", "isolation": "database", "datasource": "ds2"})


# -- changes from elsewhere --------------------------------------------------------------


def test_a_database_tenant_given_company_by_another_process_is_refused(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore()
    registry = make(store, watch=True)
    assert registry.wait_ready(WAIT_S)
    heard = threading.Event()
    registry.subscribe(lambda old, new: heard.set())
    registry.put({"id": "c", "isolation": "database", "datasource": "ds1"})
    heard.clear()
    with caplog.at_level(logging.ERROR, logger="tenantdb.tenants"):
        seed(store, Tenant(id="a", datasource="ds1"))  # another process, bypassing put
        assert heard.wait(WAIT_S)
        with pytest.raises(TenantIsolationError, match="datasource 'ds1' is also used by"):
            registry.get("c")
        with pytest.raises(TenantIsolationError):
            registry.get("c")
    assert registry.get("a").datasource == "ds1"  # the confined tenant keeps working
    assert list(registry.refused()) == ["c"]
    assert sum("'c' is refused" in r.getMessage() for r in caplog.records) == 1
    heard.clear()
    store.remove("a")
    assert heard.wait(WAIT_S)
    assert registry.get("c").isolation == "database"
    assert registry.refused() == {}


def test_bad_stored_records_are_refused_while_others_are_served(make: Make) -> None:
    store = MemoryStore()
    seed(
        store,
        Tenant(id="unplaced", isolation="database"),
        Tenant(id="default_ds", isolation="database", datasource="ds0"),
        Tenant(id="pub", isolation="schema", schema="public", datasource="ds2"),
        Tenant(id="x1", isolation="schema", schema="dup", datasource="ds2"),
        Tenant(id="x2", isolation="schema", schema="DUP", datasource="ds0"),
        Tenant(id="fine", datasource="ds2"),
    )
    registry = make(store)
    assert sorted(registry.refused()) == ["default_ds", "pub", "unplaced", "x1", "x2"]
    for tenant_id in registry.refused():
        with pytest.raises(TenantIsolationError):
            registry.get(tenant_id)
    assert registry.get("fine").datasource == "ds2"
    # An unplaced database tenant stays unplaced: the ring never gives it a datasource.
    assert "no datasource" in registry.refused()["unplaced"]
    # Admin scans do not visit a refused tenant's schema.
    assert dict(registry.schema_layout()) == {}


def test_a_refused_tenant_loaded_on_a_miss_is_refused(make: Make) -> None:
    store = MemoryStore()
    seed(store, *(Tenant(id=f"t{i}", datasource="ds0") for i in range(3)))
    registry = make(store, max_cached=2)
    seed(store, Tenant(id="pub", isolation="schema", schema="public", datasource="ds2"))
    with pytest.raises(TenantIsolationError, match="schema 'public' holds rows"):
        registry.get("pub")


def test_static_database_tenants_keep_the_ring_off_their_datasource(make: Make) -> None:
    unplaced = [f"s{i}" for i in range(100)]
    registry = make(
        static=[
            Tenant(id="c", isolation="database", datasource="ds1"),
            *(Tenant(id=t) for t in unplaced),
        ]
    )
    assert registry.refused() == {}
    assert all(registry.get(t).datasource != "ds1" for t in unplaced)
