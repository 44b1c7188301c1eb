"""ConsistentHashStrategy: a ring of virtual nodes per datasource (BLAKE2b-64 positions)."""

from __future__ import annotations

import datetime
import hashlib
import uuid
from collections import Counter
from decimal import Decimal
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantdb.core.routing.strategies import ConsistentHashStrategy
from tenantdb.core.routing.strategies.consistent_hash import ring_position
from tenantdb.errors import ConfigError, RoutingError

TODAY = datetime.date(2026, 3, 5)
KEYS = 100_000


def sessions(
    datasources: tuple[str, ...] = ("ds0", "ds1", "ds2"),
    virtual_nodes: int = 512,
    weights: dict[str, float] | None = None,
) -> ConsistentHashStrategy:
    return ConsistentHashStrategy(
        table="sessions",
        key="session_id",
        datasources=datasources,
        virtual_nodes=virtual_nodes,
        weights=weights,
    )


def reference_owner(
    datasources: tuple[str, ...], virtual_nodes: int, weights: dict[str, float], key: str
) -> str:
    """The documented placement, written out independently of the implementation."""

    def position(text: str) -> int:
        digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big")

    points = sorted(
        (position(f"{name}#{n}"), i)
        for i, name in enumerate(datasources)
        for n in range(round(virtual_nodes * weights.get(name, 1.0)))
    )
    at = position(key)
    for point, owner in points:
        if point >= at:
            return datasources[owner]
    return datasources[points[0][1]]


def test_ring_position_is_pinned() -> None:
    assert ring_position(b"ds0#0") == 14543672911160277956
    assert ring_position(b"12345") == 8383533804853196449


@pytest.mark.parametrize(
    ("value", "shard"),
    [
        # Hard-coded once; a change of hash, point naming or lookup direction must fail here.
        (12345, 1),
        ("acme", 0),
        (uuid.UUID("12345678-1234-5678-1234-567812345678"), 2),
        (0, 2),
        (1, 2),
        (2, 1),
        (3, 1),
        (4, 0),
        (5, 0),
    ],
)
def test_pinned_placements(value: object, shard: int) -> None:
    s = sessions()
    assert s.shard_for(value) == shard
    assert s.datasource_of(shard) == f"ds{shard}"
    assert reference_owner(s.datasources, 512, {}, str(value)) == f"ds{shard}"


def test_placement_is_the_table_itself_on_a_datasource() -> None:
    s = sessions()
    assert s.all_shards(TODAY) == (0, 1, 2)
    assert [s.datasource_of(i) for i in s.all_shards(TODAY)] == ["ds0", "ds1", "ds2"]
    assert s.physical_table("sessions", 2) == "sessions"
    assert s.shards_for_range(1, True, 5, True, today=TODAY) is None
    with pytest.raises(RoutingError, match=r"sessions has no shard 3 \(shards are 0\.\.2\)"):
        s.datasource_of(3)
    with pytest.raises(RoutingError, match="sessions has no shard -1"):
        s.physical_table("sessions", -1)


def test_key_rules_are_those_of_hash_mod() -> None:
    s = sessions()
    assert s.shard_for(Decimal("12345")) == s.shard_for(12345) == s.shard_for("12345")
    for value, message in [
        (None, "sessions.session_id = NULL places no shard"),
        (1.0, "sessions.session_id has type float; consistent_hash sharding needs an int, str"),
        (True, "sessions.session_id has type bool"),
        (b"x", "sessions.session_id has type bytes"),
    ]:
        with pytest.raises(RoutingError) as info:
            s.shard_for(value)
        assert str(info.value).startswith(message)


def test_ring_wraps_past_the_top() -> None:
    s = sessions()
    assert s.owner_at(2**64 - 1) == s.owner_at(0)


@cache
def placements(n: int) -> tuple[int, ...]:
    """Shard of each of ``KEYS`` keys with datasources ds0..ds{n-1} and 512 virtual nodes."""
    s = sessions(tuple(f"ds{i}" for i in range(n)))
    return tuple(s.shard_for(key) for key in range(KEYS))


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_adding_a_datasource_moves_about_one_in_n_plus_one(n: int) -> None:
    before, after = placements(n), placements(n + 1)
    moved = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    fraction = len(moved) / KEYS
    assert 1 / (n + 1) - 0.05 <= fraction <= 1 / (n + 1) + 0.05, fraction
    assert all(new == n for _, new in moved), "a key moved between two old datasources"


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7])
def test_every_datasource_holds_within_ten_percent_of_the_mean(n: int) -> None:
    counts = Counter(placements(n))
    mean = KEYS / n
    assert sorted(counts) == list(range(n))
    worst = max(abs(count - mean) / mean for count in counts.values())
    assert worst <= 0.10, f"worst datasource is {worst:.1%} off the mean"


def test_removing_a_datasource_moves_only_its_keys() -> None:
    full = sessions(("ds0", "ds1", "ds2", "ds3"))
    without = sessions(("ds0", "ds1", "ds3"))
    for key in range(5_000):
        owner = full.datasource_of(full.shard_for(key))
        if owner != "ds2":
            assert without.datasource_of(without.shard_for(key)) == owner


def test_weight_two_holds_about_twice_the_keys() -> None:
    s = sessions(weights={"ds1": 2.0})
    counts = Counter(s.shard_for(key) for key in range(KEYS))
    expected = {0: KEYS / 4, 1: KEYS / 2, 2: KEYS / 4}
    for shard, want in expected.items():
        assert abs(counts[shard] - want) / want <= 0.10, (shard, counts[shard], want)
    assert 1.8 <= counts[1] / counts[0] <= 2.2
    assert 1.8 <= counts[1] / counts[2] <= 2.2


def test_weights_and_virtual_nodes_are_validated() -> None:
    with pytest.raises(ConfigError) as info:
        sessions(weights={"ds9": 1.0, "ds0": 0.0, "ds1": float("nan")})
    assert [p.path for p in info.value.problems] == [
        "tables.sessions.weights.ds9",
        "tables.sessions.weights.ds0",
        "tables.sessions.weights.ds1",
    ]
    with pytest.raises(ConfigError, match="at least one virtual node"):
        sessions(virtual_nodes=10, weights={"ds0": 0.01})
    with pytest.raises(ConfigError, match="virtual_nodes: must be a positive integer"):
        sessions(virtual_nodes=0)
    with pytest.raises(ConfigError, match="'ds0' more than once"):
        sessions(("ds0", "ds1", "ds0"))
    with pytest.raises(ConfigError, match=r"weights\.ds0: must be a positive number"):
        sessions(weights={"ds0": -1})


def test_colocation_key() -> None:
    assert sessions().colocation_key == sessions(weights={"ds1": 1.0}).colocation_key
    assert sessions().colocation_key != sessions(weights={"ds1": 2.0}).colocation_key
    assert sessions().colocation_key != sessions(virtual_nodes=256).colocation_key
    assert sessions().colocation_key != sessions(("ds2", "ds1", "ds0")).colocation_key
    # The ring depends on point counts, not on how the weight was spelled.
    assert (
        sessions(virtual_nodes=100, weights={"ds0": 1.001}).colocation_key
        == sessions(virtual_nodes=100).colocation_key
    )


def test_repr_shows_state() -> None:
    assert repr(sessions(("ds0", "ds1"), weights={"ds1": 2})) == (
        "ConsistentHashStrategy(table='sessions', key='session_id', datasources=('ds0', 'ds1'), "
        "virtual_nodes=512, weights=(('ds0', 1.0), ('ds1', 2.0)), key_type=None, backend=None)"
    )


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=5),
    virtual_nodes=st.integers(min_value=1, max_value=40),
    ds2_weight=st.sampled_from([0.5, 1.0, 1.5, 3.0]),
    keys=st.lists(st.one_of(st.integers(), st.text(max_size=20), st.uuids()), max_size=20),
)
def test_placement_formula(
    n: int, virtual_nodes: int, ds2_weight: float, keys: list[int | str | uuid.UUID]
) -> None:
    datasources = tuple(f"ds{i}" for i in range(n))
    weights = {"ds2": ds2_weight} if n > 2 and round(virtual_nodes * ds2_weight) >= 1 else {}
    s = sessions(datasources, virtual_nodes, weights)
    # Strings are placed as written when the key is declared text (undeclared, a string
    # whose placement depends on the column type, like '00', is refused).
    text = ConsistentHashStrategy(
        table="sessions",
        key="session_id",
        datasources=datasources,
        virtual_nodes=virtual_nodes,
        weights=weights,
        key_type="text",
    )
    for key in keys:
        expected = reference_owner(datasources, virtual_nodes, weights, str(key))
        strategy = text if isinstance(key, str) else s
        assert strategy.datasource_of(strategy.shard_for(key)) == expected


def test_ring_points_do_not_collide() -> None:
    # Ties would be broken by datasource order; with 64-bit positions there are none here.
    points = {ring_position(f"ds{i}#{n}".encode()) for i in range(8) for n in range(512)}
    assert len(points) == 8 * 512
