"""ModStrategy: shard ``key % shards``, table ``{table}_{i}``, datasource ``i % len``."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantdb.core.routing.strategies import ModStrategy
from tenantdb.errors import ConfigError, RoutingError

TODAY = datetime.date(2026, 3, 5)


def orders(shards: int = 4, datasources: tuple[str, ...] = ("ds0", "ds1")) -> ModStrategy:
    return ModStrategy(table="orders", key="id", shards=shards, datasources=datasources)


def test_four_shards_over_two_datasources() -> None:
    s = orders()
    assert [s.shard_for(v) for v in (0, 1, 2, 3, 4, 7, 10, 1001)] == [0, 1, 2, 3, 0, 3, 2, 1]
    assert s.shard_for(3) == 3
    assert s.datasource_of(3) == "ds1"
    assert s.physical_table("orders", 3) == "orders_3"
    assert [s.datasource_of(i) for i in s.all_shards(TODAY)] == ["ds0", "ds1", "ds0", "ds1"]
    assert s.all_shards(TODAY) == (0, 1, 2, 3)


def test_negative_keys_use_floor_modulo() -> None:
    # Python's %, not SQL's MOD: -1 lands on shard 3, never on a negative shard.
    assert orders().shard_for(-1) == 3
    assert orders().shard_for(-8) == 0


def test_big_and_integral_decimal_keys() -> None:
    s = orders()
    assert s.shard_for(2**70 + 1) == 1
    assert s.shard_for(Decimal("10")) == 2
    assert s.shard_for(Decimal("1E+1")) == 2
    assert s.shard_for(Decimal("10.000")) == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "orders.id = NULL places no shard"),
        (True, "orders.id has type bool; mod sharding needs an integer key"),
        ("12.0", "orders.id is a string that is not a whole number in decimal digits"),
        ("abc", "orders.id is a string that is not a whole number in decimal digits"),
        ("9" * 20, "orders.id is a string whose number is outside the 64-bit integer range"),
        (12.0, "orders.id has type float; mod sharding needs an integer key"),
        (Decimal("1.5"), "orders.id is a non-integral Decimal"),
        (Decimal("NaN"), "orders.id is a non-integral Decimal"),
        (b"12", "orders.id has type bytes; mod sharding needs an integer key"),
    ],
)
def test_refuses_values_that_are_not_integers(value: object, message: str) -> None:
    with pytest.raises(RoutingError) as info:
        orders().shard_for(value)
    assert str(info.value).startswith(message)


def test_refusal_does_not_echo_the_value() -> None:
    with pytest.raises(RoutingError) as info:
        orders().shard_for("secret-token")
    assert "secret-token" not in str(info.value)


def test_ranges_are_not_pruned() -> None:
    assert orders().shards_for_range(1, True, 3, True, today=TODAY) is None
    assert orders().shards_for_range(None, False, None, False, today=TODAY) is None


@pytest.mark.parametrize("shard", [-1, 4, True, "1"])
def test_unknown_shard_is_refused(shard: object) -> None:
    with pytest.raises(RoutingError, match=r"orders has no shard .* \(shards are 0\.\.3\)"):
        orders().datasource_of(shard)  # type: ignore[arg-type]
    with pytest.raises(RoutingError, match="orders has no shard"):
        orders().physical_table("orders", shard)  # type: ignore[arg-type]


def test_invalid_parameters_are_all_reported() -> None:
    with pytest.raises(ConfigError) as info:
        ModStrategy(table="orders", key="id", shards=0, datasources=[])
    paths = [p.path for p in info.value.problems]
    assert paths == ["tables.orders.datasources", "tables.orders.shards"]
    with pytest.raises(ConfigError, match="'ds0' more than once"):
        orders(datasources=("ds0", "ds0"))
    with pytest.raises(ConfigError, match="not one string"):
        ModStrategy(table="orders", key="id", shards=2, datasources="ds0")
    with pytest.raises(ConfigError, match="shards: must be a positive integer"):
        orders(shards=True)


def test_colocation_key() -> None:
    assert orders().colocation_key == orders().colocation_key
    assert orders().colocation_key != orders(shards=8).colocation_key
    assert orders().colocation_key != orders(datasources=("ds1", "ds0")).colocation_key
    other = ModStrategy(table="order_items", key="order_id", shards=4, datasources=["ds0", "ds1"])
    assert other.colocation_key == orders().colocation_key


def test_repr_shows_state() -> None:
    assert repr(orders()) == (
        "ModStrategy(table='orders', key='id', shards=4, datasources=('ds0', 'ds1'), "
        "key_type=None, backend=None)"
    )


@settings(max_examples=200, deadline=None)
@given(
    value=st.integers(min_value=-(2**80), max_value=2**80),
    shards=st.integers(min_value=1, max_value=64),
    n_datasources=st.integers(min_value=1, max_value=5),
)
def test_placement_formula(value: int, shards: int, n_datasources: int) -> None:
    datasources = tuple(f"ds{i}" for i in range(n_datasources))
    s = orders(shards=shards, datasources=datasources)
    i = s.shard_for(value)
    assert i == value % shards
    assert 0 <= i < shards
    assert s.shard_for(Decimal(value)) == i
    assert s.datasource_of(i) == datasources[i % n_datasources]
    assert s.physical_table("orders", i) == f"orders_{i}"
