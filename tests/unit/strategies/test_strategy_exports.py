"""The strategies package: its public names, and what every strategy has in common."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import inspect
import pickle
import types
from typing import Any

import pytest

import tenantdb.core.routing.strategies as strategies
from tenantdb.core.routing.strategies import (
    ConsistentHashStrategy,
    HashModStrategy,
    ModStrategy,
    RangeStrategy,
    Strategy,
    TimeRangeStrategy,
)

TODAY = datetime.date(2026, 3, 5)


def test_all_is_sorted_and_complete() -> None:
    assert strategies.__all__ == sorted(strategies.__all__)
    public = {
        name
        for name, value in vars(strategies).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert public == set(strategies.__all__)
    for name in strategies.__all__:
        assert getattr(strategies, name) is not None


def examples() -> list[Strategy]:
    # Typed as Strategy: mypy checks that each class satisfies the protocol.
    return [
        ModStrategy(table="t", key="k", shards=4, datasources=["ds0", "ds1"]),
        HashModStrategy(table="t", key="k", shards=8, datasources=["ds0", "ds1"]),
        RangeStrategy(table="t", key="k", boundaries=[10, 20], datasources=["ds0"]),
        TimeRangeStrategy(
            table="t",
            key="k",
            interval="month",
            start=datetime.date(2026, 1, 1),
            pre_create=1,
            datasources=["ds0", "ds1"],
        ),
        ConsistentHashStrategy(table="t", key="k", datasources=["ds0", "ds1"], virtual_nodes=16),
    ]


@pytest.mark.parametrize("strategy", examples(), ids=lambda s: type(s).__name__)
def test_common_contract(strategy: Strategy) -> None:
    shards = strategy.all_shards(TODAY)
    assert shards == tuple(sorted(set(shards)))
    assert shards
    for shard in shards:
        assert isinstance(strategy.datasource_of(shard), str)
        assert strategy.physical_table("t", shard).startswith("t")
    assert isinstance(hash(strategy.colocation_key), int)
    with pytest.raises(Exception, match="NULL"):
        strategy.shard_for(None)


@pytest.mark.parametrize("strategy", examples(), ids=lambda s: type(s).__name__)
def test_strategies_are_immutable_values(strategy: Strategy) -> None:
    assert dataclasses.is_dataclass(strategy)
    assert not hasattr(strategy, "__dict__")  # slotted
    target: Any = strategy
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.table = "other"
    clone = pickle.loads(pickle.dumps(strategy))
    assert clone == strategy
    assert hash(clone) == hash(strategy)
    assert copy.deepcopy(strategy) == strategy
    assert clone.colocation_key == strategy.colocation_key
    assert repr(clone) == repr(strategy)
    assert repr(strategy).startswith(f"{type(strategy).__name__}(table='t', key='k'")


@pytest.mark.parametrize(
    "cls",
    [ModStrategy, HashModStrategy, RangeStrategy, TimeRangeStrategy, ConsistentHashStrategy],
)
def test_constructors_take_keyword_arguments_only(cls: type) -> None:
    parameters = list(inspect.signature(cls).parameters.values())
    assert parameters
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters)


def test_colocation_keys_differ_between_strategies() -> None:
    keys = [s.colocation_key for s in examples()]
    assert len(set(keys)) == len(keys)
