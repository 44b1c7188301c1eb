"""Pure parts of the demo: percentiles, option checks and the generated configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

import tenantdb
from tenantdb.demo import DemoOptions, percentile
from tenantdb.demo._folder import MARKER, config_text


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 50) == 3.0
    assert percentile([1.0, 2.0], 50) == 1.0
    assert percentile([1.0, 2.0], 99) == 2.0
    assert percentile([], 99) == 0.0
    with pytest.raises(ValueError, match="percent"):
        percentile(values, 0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tenants", 0, "tenants must be 1 to 9999"),
        ("tenants", 10_000, "tenants must be 1 to 9999"),
        ("seconds", 0.0, "seconds must be more than 0"),
        ("threads", 0, "threads must be 1 to 64"),
    ],
)
def test_options_refuse_out_of_range_values(field: str, value: float, message: str) -> None:
    with pytest.raises(tenantdb.InterfaceError, match=message):
        DemoOptions(**{field: value})  # type: ignore[arg-type]


def test_generated_configuration_places_tenants_round_robin(tmp_path: Path) -> None:
    databases = [tmp_path / "with space" / f"shard{i}.db" for i in range(4)]
    text = config_text(databases, tenants=6, pool_size=10)
    assert text.startswith(MARKER + "\n")
    cluster = tenantdb.connect(tenantdb.load_config(_write(tmp_path, text)))
    config = cluster.config
    assert list(config.datasources) == ["ds0", "ds1", "ds2", "ds3"]
    assert config.datasources["ds2"].pool.max_size == 10
    assert config.datasources["ds0"].url.endswith("/with%20space/shard0.db")
    assert {t: e.datasource for t, e in config.tenants.items()} == {
        "t0001": "ds0",
        "t0002": "ds1",
        "t0003": "ds2",
        "t0004": "ds3",
        "t0005": "ds0",
        "t0006": "ds1",
    }
    assert {name: table.strategy for name, table in config.tables.items()} == {
        "orders": "tenant",
        "order_items": "tenant",
        "inventory": "tenant",
        "idempotency_keys": "tenant",
        "events": "hash_mod",
        "products": "broadcast",
    }
    # events carries tenant_id: a tenant session sees only its own rows there.
    assert config.tables["events"].tenant_scoped
    assert not config.tables["products"].tenant_scoped
    plan = cluster.explain("SELECT * FROM events WHERE order_id = %s", [1], tenant="t0001")
    assert plan.targets[0].tables["events"].startswith("events_")
    assert "tenant_id" in plan.targets[0].sql
    assert "t0001" in plan.targets[0].params
    with pytest.raises(tenantdb.InterfaceError, match="1 to 9999 tenants"):
        config_text(databases, tenants=0, pool_size=10)


def _write(directory: Path, text: str) -> Path:
    path = directory / "tenantdb.toml"
    path.write_text(text, encoding="utf-8")
    return path
