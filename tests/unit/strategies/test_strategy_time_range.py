"""TimeRangeStrategy: one table per day/month/year, counted from ``start``."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantdb.core.routing.strategies import TimeRangeStrategy
from tenantdb.errors import ConfigError, RoutingError

D = datetime.date
DT = datetime.datetime
UTC = datetime.UTC


def tz(hours: int) -> datetime.timezone:
    return datetime.timezone(datetime.timedelta(hours=hours))


START = D(2026, 1, 1)


def audit_log(
    interval: str = "month",
    start: datetime.date = START,
    pre_create: int = 2,
    datasources: tuple[str, ...] = ("ds0", "ds1", "ds2"),
) -> TimeRangeStrategy:
    return TimeRangeStrategy(
        table="audit_log",
        key="created_at",
        interval=interval,  # type: ignore[arg-type]
        start=start,
        pre_create=pre_create,
        datasources=datasources,
    )


# -- naming -------------------------------------------------------------------------------


def test_month_naming_across_the_year_boundary() -> None:
    s = audit_log()
    assert s.physical_table("audit_log", 0) == "audit_log_202601"
    assert s.physical_table("audit_log", 11) == "audit_log_202612"
    assert s.physical_table("audit_log", 12) == "audit_log_202701"
    assert s.physical_table("audit_log", 25) == "audit_log_202802"
    assert s.datasource_of(11) == "ds2"
    assert s.datasource_of(12) == "ds0"  # datasources[12 % 3]
    assert s.shard_for(D(2026, 12, 31)) == 11
    assert s.shard_for(D(2027, 1, 1)) == 12
    assert s.period_start(12) == D(2027, 1, 1)


def test_day_naming() -> None:
    s = audit_log("day", start=D(2025, 12, 30))
    assert [s.physical_table("audit_log", k) for k in (0, 1, 2, 3)] == [
        "audit_log_20251230",
        "audit_log_20251231",
        "audit_log_20260101",
        "audit_log_20260102",
    ]
    assert s.shard_for(D(2026, 1, 1)) == 2
    assert s.shard_for(D(2026, 3, 1)) == 2 + 31 + 28  # 2026 is not a leap year
    assert s.physical_table("audit_log", 61) == "audit_log_20260301"
    leap = audit_log("day", start=D(2028, 2, 28))
    assert leap.physical_table("audit_log", 1) == "audit_log_20280229"
    assert leap.shard_for(D(2028, 3, 1)) == 2


def test_year_naming() -> None:
    s = audit_log("year", start=D(2026, 7, 4))
    assert s.start == D(2026, 1, 1)
    assert s.shard_for(D(2026, 12, 31)) == 0
    assert s.shard_for(D(2027, 1, 1)) == 1
    assert s.physical_table("audit_log", 0) == "audit_log_2026"
    assert s.physical_table("audit_log", 1) == "audit_log_2027"
    assert s.datasource_of(4) == "ds1"


def test_start_is_moved_to_the_start_of_its_period() -> None:
    assert audit_log("month", start=D(2026, 3, 17)).start == D(2026, 3, 1)
    assert audit_log("day", start=DT(2026, 3, 17, 12, 30)).start == D(2026, 3, 17)
    assert type(audit_log("day", start=DT(2026, 3, 17, 12, 30)).start) is D
    assert audit_log("month", start=D(2026, 3, 17)).shard_for(D(2026, 3, 1)) == 0


# -- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        D(2026, 3, 5),
        DT(2026, 3, 5, 10, 0),
        DT(2026, 3, 31, 23, 59, 59, 999999),
        DT(2026, 3, 1),
        "2026-03-05",
        "2026-03-05 10:00:00",
        "2026-03-05T10:00:00",
        "2026-03-05T10:00:00.123456",
        "2026-03-05T10:00:00+02:00",
        "2026-03-05T10:00:00Z",
        "20260305",
    ],
)
def test_values_in_march(value: object) -> None:
    assert audit_log().shard_for(value) == 2


def test_aware_datetimes_use_their_own_calendar_date() -> None:
    s = audit_log()
    # 2026-03-31T23:30-05:00 is April in UTC, but it is placed by its own wall clock: March.
    assert s.shard_for(DT(2026, 3, 31, 23, 30, tzinfo=tz(-5))) == 2
    assert s.shard_for("2026-03-31T23:30:00-05:00") == 2
    # 2026-04-01T00:30+14:00 is March in UTC, but placed in April.
    assert s.shard_for(DT(2026, 4, 1, 0, 30, tzinfo=tz(14))) == 3
    assert s.shard_for(DT(2026, 4, 1, 0, 30, tzinfo=UTC)) == 3


def test_value_before_the_first_period_is_refused() -> None:
    with pytest.raises(RoutingError) as info:
        audit_log("day").shard_for(D(2025, 12, 31))
    assert str(info.value).startswith(
        "audit_log.created_at is before the first period (2026-01-01)"
    )
    assert "2025-12-31" not in str(info.value)
    with pytest.raises(RoutingError, match=r"created_at is before the first period \(2026-01-01\)"):
        audit_log("month").shard_for("2025-12-31T23:59:59")


def test_future_periods_are_placed() -> None:
    # shard_for knows no clock: a table that does not exist yet fails in the database.
    assert audit_log().shard_for(D(2099, 1, 1)) == 12 * 73


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "audit_log.created_at = NULL places no shard"),
        (20260305, "audit_log.created_at has type int; a time_range key must be a date"),
        (1.5, "audit_log.created_at has type float; a time_range key must be a date"),
        (b"2026-03-05", "audit_log.created_at has type bytes"),
        (datetime.time(10, 0), "audit_log.created_at has type time"),
        ("yesterday", "audit_log.created_at is a string that is not an ISO-8601 date"),
        ("2026-13-01", "audit_log.created_at is a string that is not an ISO-8601 date"),
        ("2026/03/05", "audit_log.created_at is a string that is not an ISO-8601 date"),
        ("2026-03", "audit_log.created_at is a string that is not an ISO-8601 date"),
        ("", "audit_log.created_at is a string that is not an ISO-8601 date"),
    ],
)
def test_refuses_values_that_are_not_times(value: object, message: str) -> None:
    with pytest.raises(RoutingError) as info:
        audit_log().shard_for(value)
    assert str(info.value).startswith(message)


def test_refusal_does_not_echo_the_value() -> None:
    with pytest.raises(RoutingError) as info:
        audit_log().shard_for("secret-token")
    assert "secret-token" not in str(info.value)


# -- existing periods ---------------------------------------------------------------------

TODAY = D(2026, 6, 15)  # month period 5; with pre_create=2 periods 0..7 exist


def test_all_shards_run_through_today_plus_pre_create() -> None:
    assert audit_log().all_shards(TODAY) == tuple(range(8))
    assert audit_log(pre_create=0).all_shards(TODAY) == tuple(range(6))
    assert audit_log().periods_through(TODAY) == tuple(range(6))
    assert audit_log(pre_create=0).all_shards(D(2025, 12, 31)) == ()
    assert audit_log(pre_create=3).all_shards(D(2025, 12, 31)) == (0, 1, 2)
    assert audit_log().periods_through(D(2025, 12, 31)) == ()
    assert audit_log("day", pre_create=3).all_shards(D(2026, 1, 1)) == (0, 1, 2, 3)
    assert audit_log().all_shards(DT(2026, 6, 15, 23, 59)) == tuple(range(8))


@pytest.mark.parametrize(
    ("low", "low_inclusive", "high", "high_inclusive", "expected"),
    [
        (None, False, None, False, (0, 1, 2, 3, 4, 5, 6, 7)),
        # created_at < '2026-04-01' holds nothing of April
        (None, False, "2026-04-01", False, (0, 1, 2)),
        (None, False, D(2026, 4, 1), False, (0, 1, 2)),
        (None, False, "2026-04-01T00:00:00+02:00", False, (0, 1, 2)),
        # ... but one second (or microsecond) later it does
        (None, False, "2026-04-01 00:00:01", False, (0, 1, 2, 3)),
        (None, False, DT(2026, 4, 1, 0, 0, 0, 1), False, (0, 1, 2, 3)),
        # <= '2026-04-01' includes April's first instant
        (None, False, "2026-04-01", True, (0, 1, 2, 3)),
        # a mid-month exclusive bound keeps its month
        (None, False, "2026-04-15", False, (0, 1, 2, 3)),
        ("2026-03-01", True, "2026-04-01", False, (2,)),
        ("2026-03-01", False, "2026-04-01", False, (2,)),
        # > '2026-03-31' (midnight) still leaves most of March 31
        ("2026-03-31", False, None, False, (2, 3, 4, 5, 6, 7)),
        ("2026-04-01", False, None, False, (3, 4, 5, 6, 7)),
        # clipped to existing periods
        ("2025-06-01", True, "2026-02-15", True, (0, 1)),
        ("2026-12-01", True, None, False, ()),
        ("2026-07-01", True, "2027-03-01", True, (6, 7)),
        (None, False, "2026-01-01", False, ()),
        (None, False, "2025-12-31", True, ()),
        (None, False, "2026-01-01", True, (0,)),
        # empty intervals
        ("2026-03-05", True, "2026-03-05", False, ()),
        ("2026-03-05", False, "2026-03-05", True, ()),
        ("2026-03-06", True, "2026-03-05", True, ()),
        ("2026-03-05", True, "2026-03-05", True, (2,)),
    ],
)
def test_month_range_pruning(
    low: object, low_inclusive: bool, high: object, high_inclusive: bool, expected: tuple[int, ...]
) -> None:
    got = audit_log().shards_for_range(low, low_inclusive, high, high_inclusive, today=TODAY)
    assert got == expected


def test_range_pruning_across_the_year_boundary() -> None:
    s = audit_log(start=D(2025, 11, 1), pre_create=0)
    today = D(2026, 3, 1)  # period 4
    assert s.shards_for_range("2025-12-15", True, "2026-02-01", False, today=today) == (1, 2)
    assert s.shards_for_range("2025-12-15", True, "2026-02-01", True, today=today) == (1, 2, 3)
    assert s.physical_table("audit_log", 1) == "audit_log_202512"
    assert s.physical_table("audit_log", 2) == "audit_log_202601"
    assert s.shards_for_range("2025-12-31T23:59:59", False, None, False, today=today) == (
        1,
        2,
        3,
        4,
    )


def test_day_and_year_range_pruning() -> None:
    day = audit_log("day", pre_create=0)
    today = D(2026, 1, 10)
    assert day.shards_for_range(None, False, "2026-01-03", False, today=today) == (0, 1)
    assert day.shards_for_range(None, False, "2026-01-03", True, today=today) == (0, 1, 2)
    assert day.shards_for_range(None, False, "2026-01-03T00:00:00.000001", False, today=today) == (
        0,
        1,
        2,
    )
    assert day.shards_for_range("2026-01-09 12:00", True, None, False, today=today) == (8, 9)
    year = audit_log("year", pre_create=1)
    assert year.shards_for_range(None, False, "2027-01-01", False, today=TODAY) == (0,)
    assert year.shards_for_range(None, False, "2027-01-02", False, today=TODAY) == (0, 1)
    # the first of a month is not the start of a year period
    assert year.shards_for_range(None, False, "2027-03-01", False, today=TODAY) == (0, 1)
    assert year.shards_for_range("2026-12-31", True, "2030-01-01", True, today=TODAY) == (0, 1)


def test_emptiness_with_time_zones() -> None:
    s = audit_log()
    later, earlier = "2026-03-05T10:00:00+00:00", "2026-03-05T09:00:00+00:00"
    assert s.shards_for_range(later, True, earlier, True, today=TODAY) == ()
    # 10:00+05:00 is 05:00 UTC, before 09:00 UTC: not empty for a timestamptz column.
    assert s.shards_for_range(
        "2026-03-05T10:00:00+05:00", True, "2026-03-05T09:00:00+00:00", True, today=TODAY
    ) == (2,)
    # A naive and an aware bound cannot be compared as instants: not declared empty.
    assert s.shards_for_range(
        "2026-03-05T10:00:00", True, "2026-03-05T09:00:00+00:00", True, today=TODAY
    ) == (2,)
    # Equal instants at different offsets: empty in absolute time, not on the wall clock.
    assert s.shards_for_range(
        "2026-03-05T09:00:00+00:00", False, "2026-03-05T10:00:00+01:00", False, today=TODAY
    ) == (2,)


def test_range_refuses_bad_bounds() -> None:
    with pytest.raises(RoutingError, match="has type int"):
        audit_log().shards_for_range(5, True, None, False, today=TODAY)
    with pytest.raises(RoutingError, match="not an ISO-8601"):
        audit_log().shards_for_range(None, True, "soon", False, today=TODAY)


def test_period_bounds() -> None:
    s = audit_log("year")
    with pytest.raises(RoutingError, match="audit_log has no period -1"):
        s.datasource_of(-1)
    with pytest.raises(RoutingError, match="audit_log has no period"):
        s.physical_table("audit_log", True)
    with pytest.raises(RoutingError, match="past the year 9999"):
        s.physical_table("audit_log", 8000)
    with pytest.raises(RoutingError, match="past the year 9999"):
        audit_log("day").period_start(10**7)
    with pytest.raises(RoutingError, match="past the year 9999"):
        audit_log("month").period_start(10**6)
    assert s.physical_table("audit_log", 7973) == "audit_log_9999"


@pytest.mark.parametrize(
    ("kwargs", "path", "message"),
    [
        ({"interval": "week"}, "tables.audit_log.interval", "must be one of 'day', 'month'"),
        ({"start": "2026-01-01"}, "tables.audit_log.start", "must be a date, got str"),
        ({"pre_create": -1}, "tables.audit_log.pre_create", "must be a non-negative integer"),
        ({"pre_create": 1.0}, "tables.audit_log.pre_create", "must be a non-negative integer"),
        ({"datasources": ()}, "tables.audit_log.datasources", "must name at least one datasource"),
    ],
)
def test_invalid_parameters(kwargs: dict[str, object], path: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        audit_log(**kwargs)  # type: ignore[arg-type]
    [problem] = info.value.problems
    assert problem.path == path
    assert problem.message.startswith(message)


def test_colocation_key() -> None:
    assert audit_log().colocation_key == audit_log(pre_create=7).colocation_key
    assert audit_log().colocation_key == audit_log(start=D(2026, 1, 20)).colocation_key
    assert audit_log().colocation_key != audit_log(start=D(2026, 2, 1)).colocation_key
    assert audit_log().colocation_key != audit_log("day").colocation_key
    assert audit_log().colocation_key != audit_log(datasources=("ds0",)).colocation_key


def test_repr_shows_state() -> None:
    assert repr(audit_log(start=D(2026, 1, 20))) == (
        "TimeRangeStrategy(table='audit_log', key='created_at', interval='month', "
        "start=datetime.date(2026, 1, 1), pre_create=2, datasources=('ds0', 'ds1', 'ds2'), "
        "key_type=None, backend=None)"
    )


def test_ten_thousand_daily_periods_are_enumerated_and_named() -> None:
    # Speed is measured in benchmarks/routing.py, not here: timed tests flap on shared machines.
    s = audit_log("day", start=D(2000, 1, 1), pre_create=0)
    today = s.period_start(9_999)
    shards = s.all_shards(today)
    names = [(s.datasource_of(k), s.physical_table("audit_log", k)) for k in shards]
    pruned = s.shards_for_range("2000-01-01", True, None, False, today=today)
    assert len(shards) == len(names) == 10_000
    assert pruned == shards
    assert names[-1] == ("ds0", f"audit_log_{today:%Y%m%d}")


# -- properties ---------------------------------------------------------------------------

intervals = st.sampled_from(["day", "month", "year"])
starts = st.dates(min_value=D(2020, 1, 1), max_value=D(2030, 12, 31))


def expected_period(interval: str, start: datetime.date, d: datetime.date) -> int:
    if interval == "day":
        return (d - start).days
    if interval == "month":
        return 12 * (d.year - start.year) + (d.month - start.month)
    return d.year - start.year


@settings(max_examples=200, deadline=None)
@given(
    interval=intervals,
    start=starts,
    offset_days=st.integers(min_value=0, max_value=4000),
    time_of_day=st.times(),
    hours=st.integers(min_value=-12, max_value=14),
)
def test_placement_formula(
    interval: str, start: datetime.date, offset_days: int, time_of_day: datetime.time, hours: int
) -> None:
    s = audit_log(interval, start=start)
    d = s.start + datetime.timedelta(days=offset_days)
    k = s.shard_for(d)
    assert k == expected_period(interval, s.start, d)
    assert s.period_start(k) <= d
    if interval == "day" or k < 12 * 7000:
        assert d < s.period_start(k + 1)
    first = s.period_start(k)
    suffix = {"day": f"{first:%Y%m%d}", "month": f"{first:%Y%m}", "year": f"{first:%Y}"}
    assert s.physical_table("audit_log", k) == f"audit_log_{suffix[interval]}"
    assert s.datasource_of(k) == ("ds0", "ds1", "ds2")[k % 3]
    moment = DT.combine(d, time_of_day)
    aware = moment.replace(tzinfo=tz(hours))
    assert s.shard_for(moment) == s.shard_for(aware) == s.shard_for(aware.isoformat()) == k
    assert s.shard_for(d.isoformat()) == s.shard_for(moment.isoformat(" ")) == k


def _as_datetime(value: object) -> DT:
    if isinstance(value, DT):
        return value
    if isinstance(value, D):
        return DT(value.year, value.month, value.day)
    assert isinstance(value, str)
    return DT.fromisoformat(value)


def _meets(period: tuple[DT, DT], low: DT | None, li: bool, high: DT | None, hi: bool) -> bool:
    """Whether the half-open period [start, end) meets the interval, time being continuous."""
    p_start, p_end = period
    lower, lower_inc = p_start, True
    if low is not None and (low > p_start or (low == p_start and not li)):
        lower, lower_inc = low, li
    upper, upper_inc = p_end, False
    if high is not None and high < p_end:
        upper, upper_inc = high, hi
    return lower < upper or (lower == upper and lower_inc and upper_inc)


span_days = st.integers(min_value=-40, max_value=3 * 366)
bound_values = st.one_of(
    st.none(),
    span_days.map(lambda n: ("date", n, 0)),
    st.tuples(st.just("datetime"), span_days, st.integers(min_value=0, max_value=86_399)),
    st.tuples(st.just("iso"), span_days, st.sampled_from([0, 1, 43_200, 86_399])),
    # the first day of a month (often a period start): the offset counts months
    st.tuples(st.just("first"), st.integers(min_value=-2, max_value=26), st.sampled_from([0, 1])),
)


def _bound(spec: tuple[str, int, int] | None, origin: datetime.date) -> object:
    if spec is None:
        return None
    kind, days, seconds = spec
    d = origin + datetime.timedelta(days=days)
    if kind == "first":
        year, month0 = divmod(origin.year * 12 + origin.month - 1 + days, 12)
        d = D(year, month0 + 1, 1)
    if kind == "date":
        return d
    moment = DT(d.year, d.month, d.day) + datetime.timedelta(seconds=seconds)
    return moment if kind == "datetime" else moment.isoformat()


@pytest.mark.parametrize("interval", ["day", "month", "year"])
@settings(max_examples=200, deadline=None)
@given(
    start=starts,
    pre_create=st.integers(min_value=0, max_value=3),
    today_offset=st.integers(min_value=-60, max_value=3 * 366),
    low_spec=bound_values,
    low_inclusive=st.booleans(),
    high_spec=bound_values,
    high_inclusive=st.booleans(),
    samples=st.lists(st.integers(min_value=-60 * 86_400, max_value=3 * 366 * 86_400), max_size=10),
)
def test_range_pruning_is_exact(
    interval: str,
    start: datetime.date,
    pre_create: int,
    today_offset: int,
    low_spec: tuple[str, int, int] | None,
    low_inclusive: bool,
    high_spec: tuple[str, int, int] | None,
    high_inclusive: bool,
    samples: list[int],
) -> None:
    s = audit_log(interval, start=start, pre_create=pre_create)
    today = s.start + datetime.timedelta(days=today_offset)
    low, high = _bound(low_spec, s.start), _bound(high_spec, s.start)
    got = s.shards_for_range(low, low_inclusive, high, high_inclusive, today=today)
    assert got is not None
    existing = s.all_shards(today)
    low_at = None if low is None else _as_datetime(low)
    high_at = None if high is None else _as_datetime(high)

    def period(k: int) -> tuple[DT, DT]:
        first, after = s.period_start(k), s.period_start(k + 1)
        return DT(first.year, first.month, first.day), DT(after.year, after.month, after.day)

    expected = tuple(
        k for k in existing if _meets(period(k), low_at, low_inclusive, high_at, high_inclusive)
    )
    assert got == expected
    origin = DT(s.start.year, s.start.month, s.start.day)
    for seconds in samples:
        moment = origin + datetime.timedelta(seconds=seconds)
        inside = (low_at is None or moment > low_at or (low_inclusive and moment == low_at)) and (
            high_at is None or moment < high_at or (high_inclusive and moment == high_at)
        )
        if inside and moment >= origin and s.shard_for(moment) in existing:
            assert s.shard_for(moment) in got
