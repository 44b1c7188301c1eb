"""RangeStrategy: shard = number of boundaries <= key; exact pruning of key ranges."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantdb.core.routing.strategies import RangeStrategy
from tenantdb.errors import ConfigError, RoutingError

TODAY = datetime.date(2026, 3, 5)


def accounts(
    boundaries: tuple[int | float | Decimal | str, ...] = (100, 200, 300),
    datasources: tuple[str, ...] = ("ds0", "ds1"),
) -> RangeStrategy:
    return RangeStrategy(table="accounts", key="id", boundaries=boundaries, datasources=datasources)


def test_placement_at_and_around_boundaries() -> None:
    s = accounts()
    expected = {-5: 0, 99: 0, 100: 1, 101: 1, 199: 1, 200: 2, 299: 2, 300: 3, 10**9: 3}
    assert {v: s.shard_for(v) for v in expected} == expected
    assert s.shard_for(99.5) == 0
    assert s.shard_for(Decimal("100.0")) == 1
    assert s.shard_for(float("inf")) == 3
    assert s.shards == 4
    assert s.all_shards(TODAY) == (0, 1, 2, 3)
    assert [s.datasource_of(i) for i in range(4)] == ["ds0", "ds1", "ds0", "ds1"]
    assert [s.physical_table("accounts", i) for i in range(4)] == [
        "accounts_0",
        "accounts_1",
        "accounts_2",
        "accounts_3",
    ]


def test_string_boundaries() -> None:
    s = accounts(boundaries=("g", "n", "t"))
    assert [s.shard_for(v) for v in ("", "a", "g", "gz", "n", "s~", "t", "zzz")] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
    ]
    # Code-point order: upper case sorts before lower case.
    assert s.shard_for("Zed") == 0


@pytest.mark.parametrize(
    ("low", "low_inclusive", "high", "high_inclusive", "expected"),
    [
        (None, False, None, False, (0, 1, 2, 3)),
        (None, False, 100, False, (0,)),  # id < 100
        (None, False, 100, True, (0, 1)),  # id <= 100
        (None, False, 99.9, True, (0,)),
        (100, True, None, False, (1, 2, 3)),  # id >= 100
        (100, False, None, False, (1, 2, 3)),  # id > 100
        (99, False, None, False, (0, 1, 2, 3)),  # id > 99 (could be 99.5)
        (100, True, 200, False, (1,)),  # 100 <= id < 200
        (100, True, 200, True, (1, 2)),  # BETWEEN 100 AND 200
        (150, True, 250, True, (1, 2)),
        (150, True, 150, True, (1,)),  # id = 150
        (200, True, 200, True, (2,)),
        (300, True, 300, True, (3,)),
        (150, False, 150, True, ()),  # empty
        (150, True, 150, False, ()),
        (250, True, 150, True, ()),
        (-(10**9), True, 10**9, True, (0, 1, 2, 3)),
        (Decimal("100"), True, 199.5, True, (1,)),
    ],
)
def test_range_pruning(
    low: object,
    low_inclusive: bool,
    high: object,
    high_inclusive: bool,
    expected: tuple[int, ...],
) -> None:
    got = accounts().shards_for_range(low, low_inclusive, high, high_inclusive, today=TODAY)
    assert got == expected


@pytest.mark.parametrize(
    ("low", "low_inclusive", "high", "high_inclusive", "expected"),
    [
        (None, False, "g", False, (0,)),
        (None, False, "g", True, (0, 1)),
        ("g", False, "m\0", False, (1,)),
        ("g", False, "n", False, (1, 2)),
        ("g", True, "n", True, (1, 2)),
        (None, False, "", False, ()),  # nothing sorts below ""
        (None, False, "", True, (0,)),
        # Nothing lies strictly between "m" and "m\0": > "m" starts at "m\0", a boundary.
        ("m", False, None, False, (2, 3)),
        ("m", True, None, False, (1, 2, 3)),
    ],
)
def test_string_range_pruning(
    low: object,
    low_inclusive: bool,
    high: object,
    high_inclusive: bool,
    expected: tuple[int, ...],
) -> None:
    s = accounts(boundaries=("g", "m\0", "t"))
    assert s.shards_for_range(low, low_inclusive, high, high_inclusive, today=TODAY) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "accounts.id = NULL places no shard"),
        ("150", "accounts.id is a string (str) but the range boundaries of accounts are numbers"),
        (True, "accounts.id has type bool; the range boundaries of accounts are numbers"),
        (datetime.date(2026, 1, 1), "accounts.id has type date; the range boundaries"),
        (float("nan"), "accounts.id is NaN"),
        (Decimal("NaN"), "accounts.id is NaN"),
    ],
)
def test_refuses_values_of_the_wrong_type(value: object, message: str) -> None:
    with pytest.raises(RoutingError) as info:
        accounts().shard_for(value)
    assert str(info.value).startswith(message)


def test_refuses_bounds_of_the_wrong_type() -> None:
    with pytest.raises(RoutingError, match="is a string"):
        accounts().shards_for_range("100", True, None, False, today=TODAY)
    with pytest.raises(RoutingError, match="is a number"):
        accounts(boundaries=("g",)).shards_for_range(None, False, 5, True, today=TODAY)


@pytest.mark.parametrize(
    ("boundaries", "message"),
    [
        ((), "must list at least one boundary"),
        ((1, "b"), "mixes numbers and strings"),
        ((1, 1), r"must be strictly ascending \(1 is followed by 1\)"),
        ((2, 1), "must be strictly ascending"),
        (("b", "a"), "must be strictly ascending"),
        ((1, float("nan")), "is not a finite number"),
        ((1, float("inf")), "is not a finite number"),
        ((True, 2), "True is not a number or a string"),
        ((datetime.date(2026, 1, 1),), "is not a number or a string"),
    ],
)
def test_invalid_boundaries(boundaries: tuple[object, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        accounts(boundaries=boundaries)  # type: ignore[arg-type]
    assert info.value.problems[0].path == "tables.accounts.boundaries"


def test_boundaries_must_be_a_list() -> None:
    with pytest.raises(ConfigError, match="must be a list"):
        RangeStrategy(table="accounts", key="id", boundaries="abc", datasources=["ds0"])


def test_unknown_shard() -> None:
    with pytest.raises(RoutingError, match=r"accounts has no shard 4 \(shards are 0\.\.3\)"):
        accounts().physical_table("accounts", 4)


def test_colocation_key() -> None:
    assert accounts().colocation_key == accounts(boundaries=(100.0, 200, 300)).colocation_key
    assert accounts().colocation_key != accounts(boundaries=(100, 200)).colocation_key
    assert accounts().colocation_key != accounts(datasources=("ds0",)).colocation_key


def test_repr_shows_state() -> None:
    assert repr(accounts()) == (
        "RangeStrategy(table='accounts', key='id', boundaries=(100, 200, 300), "
        "datasources=('ds0', 'ds1'), "
        "key_type=None, backend=None)"
    )


# -- properties ---------------------------------------------------------------------------

int_boundaries = st.lists(
    st.integers(min_value=-50, max_value=50), min_size=1, max_size=8, unique=True
).map(sorted)
int_bound = st.none() | st.integers(min_value=-60, max_value=60)


def _inside(v: object, low: object, li: bool, high: object, hi: bool) -> bool:
    above = low is None or v > low or (li and v == low)  # type: ignore[operator]
    below = high is None or v < high or (hi and v == high)  # type: ignore[operator]
    return above and below


@settings(max_examples=300, deadline=None)
@given(
    boundaries=int_boundaries,
    low=int_bound,
    low_inclusive=st.booleans(),
    high=int_bound,
    high_inclusive=st.booleans(),
    samples=st.lists(st.integers(min_value=-130, max_value=130), max_size=20),
)
def test_numeric_pruning_is_exact(
    boundaries: list[int],
    low: int | None,
    low_inclusive: bool,
    high: int | None,
    high_inclusive: bool,
    samples: list[int],
) -> None:
    s = accounts(boundaries=tuple(boundaries))
    got = s.shards_for_range(low, low_inclusive, high, high_inclusive, today=TODAY)
    assert got is not None
    assert list(got) == sorted(set(got))
    # Where a shard meets the interval, it meets it at one of these points: its own first
    # value (a boundary), the low bound, just above the low bound, or far below everything.
    candidates: list[float] = [*boundaries, -1000]
    if low is not None:
        candidates += [low, low + 0.5]
    reachable = {
        s.shard_for(v) for v in candidates if _inside(v, low, low_inclusive, high, high_inclusive)
    }
    assert set(got) == reachable
    for half in samples:
        v = half / 2
        if _inside(v, low, low_inclusive, high, high_inclusive):
            assert s.shard_for(v) in got


str_boundaries = st.lists(
    st.text(alphabet="ab\0", max_size=3), min_size=1, max_size=6, unique=True
).map(sorted)
str_bound = st.none() | st.text(alphabet="ab\0", max_size=4)


@settings(max_examples=300, deadline=None)
@given(
    boundaries=str_boundaries,
    low=str_bound,
    low_inclusive=st.booleans(),
    high=str_bound,
    high_inclusive=st.booleans(),
    samples=st.lists(st.text(alphabet="ab\0", max_size=5), max_size=20),
)
def test_string_pruning_is_exact(
    boundaries: list[str],
    low: str | None,
    low_inclusive: bool,
    high: str | None,
    high_inclusive: bool,
    samples: list[str],
) -> None:
    s = accounts(boundaries=tuple(boundaries))
    got = s.shards_for_range(low, low_inclusive, high, high_inclusive, today=TODAY)
    assert got is not None
    # Every shard's intersection with the interval, if not empty, holds its smallest
    # element: a boundary, "", the low bound, or the first string above it (low + "\0").
    candidates = [*boundaries, ""]
    if low is not None:
        candidates += [low, low + "\0"]
    reachable = {
        s.shard_for(v) for v in candidates if _inside(v, low, low_inclusive, high, high_inclusive)
    }
    assert set(got) == reachable
    for v in samples:
        if _inside(v, low, low_inclusive, high, high_inclusive):
            assert s.shard_for(v) in got


@settings(max_examples=100, deadline=None)
@given(boundaries=int_boundaries, value=st.integers(min_value=-100, max_value=100))
def test_placement_formula(boundaries: list[int], value: int) -> None:
    s = accounts(boundaries=tuple(boundaries))
    expected = sum(1 for b in boundaries if b <= value)
    assert s.shard_for(value) == expected
    assert s.shards_for_range(value, True, value, True, today=TODAY) == (expected,)
