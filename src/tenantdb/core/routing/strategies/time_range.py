"""``time_range``: one physical table per day, month or year of a date/datetime key."""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal, NoReturn

from ....errors import RoutingError
from ._base import (
    Problems,
    ShardId,
    check_key_type,
    column,
    datasource_names,
    is_count,
    null_key,
    type_label,
)
from ._keys import Backend, KeyType

Interval = Literal["day", "month", "year"]
_INTERVALS: tuple[Interval, ...] = ("day", "month", "year")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Seconds with a fraction, as fromisoformat reads them ("10:00:00.1234567" or ",1234567").
_FRACTION = re.compile(r"(:[0-9]{2})[.,]([0-9]+)")
_MICROSECOND = datetime.timedelta(microseconds=1)


@dataclass(frozen=True, slots=True, init=False)
class TimeRangeStrategy:
    """Period ``k`` (counted from ``start``) of a date/datetime key; one table per period.

    Placement (a compatibility contract: applications may compute it themselves), with
    ``start`` moved back to the first day of its period (``y0``, ``m0``):

    ======== =========================== ======================
    interval period number ``k``         physical table
    ======== =========================== ======================
    day      days since ``start``        ``{table}_{YYYYMMDD}``
    month    ``12*(y - y0) + (m - m0)``  ``{table}_{YYYYMM}``
    year     ``y - y0``                  ``{table}_{YYYY}``
    ======== =========================== ======================

    The table is named after the first day of period ``k``; it lives on datasource
    ``datasources[k % len(datasources)]``.

    Keys may be :class:`datetime.date`, :class:`datetime.datetime` or an ISO-8601 string
    (``"2026-03-05"``, ``"2026-03-05 10:00:00"``, ``"2026-03-05T10:00:00+02:00"``; whatever
    :meth:`datetime.datetime.fromisoformat` reads). A datetime is placed by **its own calendar
    date and wall-clock time, with no timezone conversion**: ``2026-03-31T23:00:00-05:00`` is
    in March even though it is April in UTC. Keep one timezone (UTC) for time_range keys,
    or store naive datetimes. A key before the first period is refused; a key in a future
    period is placed normally (writing into a table not created yet fails in the database).

    A string key is placed where the backend puts the value it reads from it:

    - PostgreSQL rounds a timestamp to microseconds (``'2025-01-31 23:59:59.9999996'`` is
      2025-02-01) and reads only the date for a date column. With ``key_type =
      "datetime"`` a longer fraction is rounded the same way (half to even; an exact tie is
      refused: PostgreSQL rounds it through a binary double), with ``"date"`` the key is its
      calendar date; undeclared, a fraction of more than 6 digits is refused.
    - MariaDB/MySQL truncate the fraction: so does placement.
    - SQLite stores time keys as TEXT and compares them as text, so the key's period is
      the ``YYYY-MM-DD`` its text starts with; any other spelling (``'20250201'``, which
      PostgreSQL and MariaDB read as a date) is refused there.

    Period tables exist from ``start`` through the period of *today* plus ``pre_create``
    periods: :meth:`all_shards` lists them and :meth:`shards_for_range` never returns others.

    Raises :class:`~tenantdb.errors.ConfigError` (every problem, with its
    ``tables.<table>.<parameter>`` path) for invalid parameters.
    """

    table: str
    key: str
    interval: Interval
    start: datetime.date
    pre_create: int
    datasources: tuple[str, ...]
    key_type: KeyType | None
    backend: Backend
    # Period number of ``start`` on an absolute scale: the day's ordinal, 12 * year + month - 1,
    # or the year. ``k`` of a date is its absolute period number minus this.
    _origin: int = field(repr=False, compare=False)

    def __init__(
        self,
        *,
        table: str,
        key: str,
        interval: Interval,
        start: datetime.date,
        pre_create: int,
        datasources: Sequence[str],
        key_type: KeyType | None = None,
        backend: Backend = None,
    ) -> None:
        problems = Problems(table)
        names = datasource_names(problems, datasources)
        check_key_type(problems, key_type, ("date", "datetime"))
        if interval not in _INTERVALS:
            problems.add("interval", f"must be one of 'day', 'month', 'year', got {interval!r}")
        if not isinstance(start, datetime.date):
            problems.add("start", f"must be a date, got {type_label(start)}")
        if not is_count(pre_create) or pre_create < 0:
            problems.add("pre_create", f"must be a non-negative integer, got {pre_create!r}")
        problems.raise_if_any()
        first = _period_first_day(interval, start)
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "interval", interval)
        object.__setattr__(self, "start", first)
        object.__setattr__(self, "pre_create", pre_create)
        object.__setattr__(self, "datasources", names)
        object.__setattr__(self, "key_type", key_type)
        object.__setattr__(self, "backend", backend)
        object.__setattr__(self, "_origin", _absolute_period(interval, first))

    @property
    def colocation_key(self) -> tuple[object, ...]:
        # pre_create changes which tables exist, not where a key goes.
        return ("time_range", self.key_type, self.interval, self.start, self.datasources)

    def shard_for(self, value: object) -> ShardId:
        moment = self._moment(value)
        k = self._period(moment)
        if k < 0:
            raise RoutingError(
                # The key value itself stays out of the message: errors never carry data.
                f"{column(self.table, self.key)} is before the first period "
                f"({self.start.isoformat()}); move the table's start earlier to store it"
            )
        return k

    def shards_for_range(
        self,
        low: object | None,
        low_inclusive: bool,
        high: object | None,
        high_inclusive: bool,
        *,
        today: datetime.date,
    ) -> tuple[ShardId, ...] | None:
        last = self._last_existing(today)
        low_at = None if low is None else self._moment(low)
        high_at = None if high is None else self._moment(high)
        # SQLite compares text bounds as text, whose order within a day is not time order.
        text_order = self.backend == "sqlite" and (isinstance(low, str) or isinstance(high, str))
        if (
            low_at is not None
            and high_at is not None
            and not text_order
            and _surely_empty(low_at, low_inclusive, high_at, high_inclusive)
        ):
            return ()
        # Time is treated as continuous: an exclusive low bound still leaves the rest of its
        # own period, so it reads that period like an inclusive one.
        first = 0 if low_at is None else max(0, self._period(low_at))
        end = last
        if high_at is not None:
            end_k = self._period(high_at)
            if not high_inclusive and self._starts_period(high_at):
                # "< first instant of period k" holds nothing of period k.
                end_k -= 1
            end = min(end, end_k)
        return tuple(range(first, end + 1))

    def all_shards(self, today: datetime.date) -> tuple[ShardId, ...]:
        return tuple(range(self._last_existing(today) + 1))

    def datasource_of(self, shard: ShardId) -> str:
        return self.datasources[self._check(shard) % len(self.datasources)]

    def physical_table(self, logical: str, shard: ShardId) -> str:
        # isoformat() is "YYYY-MM-DD" with a zero-padded year, and much faster than strftime
        # when thousands of daily tables are listed.
        iso = self.period_start(shard).isoformat()
        if self.interval == "day":
            return f"{logical}_{iso[:4]}{iso[5:7]}{iso[8:10]}"
        if self.interval == "month":
            return f"{logical}_{iso[:4]}{iso[5:7]}"
        return f"{logical}_{iso[:4]}"

    def period_start(self, shard: ShardId) -> datetime.date:
        """The first day of period ``shard``.

        Raises :class:`~tenantdb.errors.RoutingError` for a negative period or one past
        year 9999.
        """
        k = self._check(shard)
        try:
            if self.interval == "day":
                return datetime.date.fromordinal(self._origin + k)
            if self.interval == "month":
                year, month0 = divmod(self._origin + k, 12)
                return datetime.date(year, month0 + 1, 1)
            return datetime.date(self._origin + k, 1, 1)
        except (ValueError, OverflowError):
            raise RoutingError(f"{self.table} period {k} is past the year 9999") from None

    def periods_through(self, day: datetime.date) -> tuple[ShardId, ...]:
        """Periods from the first through the one containing ``day`` (without ``pre_create``).

        Empty when ``day`` is before ``start``.
        """
        return tuple(range(self._period(day) + 1))

    # -- internals ------------------------------------------------------------------------

    def _period(self, day: datetime.date) -> int:
        """Period number of ``day`` (a date or datetime's calendar date); negative before start."""
        return _absolute_period(self.interval, day) - self._origin

    def _last_existing(self, today: datetime.date) -> int:
        return self._period(today) + self.pre_create

    def _starts_period(self, moment: datetime.datetime) -> bool:
        """Whether ``moment`` is the first instant (midnight) of the first day of a period."""
        if moment.hour or moment.minute or moment.second or moment.microsecond:
            return False
        if self.interval == "day":
            return True
        return moment.day == 1 and (self.interval == "month" or moment.month == 1)

    def _check(self, shard: object) -> int:
        if isinstance(shard, int) and not isinstance(shard, bool) and shard >= 0:
            return shard
        raise RoutingError(f"{self.table} has no period {shard!r} (periods are numbered from 0)")

    def _moment(self, value: object) -> datetime.datetime:
        """``value`` as a datetime (naive or aware as given; a date is its midnight)."""
        if value is None:
            null_key(self.table, self.key)
        if isinstance(value, datetime.datetime):
            return value
        if isinstance(value, datetime.date):
            return datetime.datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            return self._moment_of_text(str.__str__(value))
        self._refuse(
            f"has type {type_label(value)}; a time_range key must be a date, a datetime or an "
            "ISO-8601 string"
        )

    def _moment_of_text(self, text: str) -> datetime.datetime:
        """The instant the backend reads from ``text``, as far as placement needs it."""
        if self.backend == "sqlite":
            return self._text_order_moment(text)
        fraction = _FRACTION.search(text)
        carry = False
        if fraction is not None and len(fraction.group(2)) > 6:
            digits = fraction.group(2)
            if self.backend != "mysql" and self.key_type != "date":
                if self.key_type is None:
                    self._refuse(
                        "has more than 6 fractional digits of a second; PostgreSQL rounds "
                        "them for a timestamp column and ignores them for a date column, so "
                        f'declare key_type = "datetime" or "date" for table {self.table}, '
                        "or write at most 6 digits"
                    )
                exact = Decimal(f"0.{digits}")
                rounded = exact.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)
                if (exact * 2_000_000) % 2 == 1:
                    self._refuse(
                        "is exactly halfway between two microseconds, which PostgreSQL rounds "
                        "through a binary double; write at most 6 fractional digits"
                    )
                carry = rounded == 1
                digits = "000000" if carry else f"{rounded:.6f}"[2:]
            start, end = fraction.span(2)
            text = f"{text[:start]}{digits[:6]}{text[end:]}"
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            self._refuse(
                "is a string that is not an ISO-8601 date or datetime (write it like "
                "'2026-03-05', '2026-03-05 10:00:00' or '2026-03-05T10:00:00+02:00')"
            )
        if carry:
            moment += datetime.timedelta(seconds=1)
        if self.key_type == "date" and self.backend == "postgres":
            # PostgreSQL reads a string compared with a date column as that date alone.
            moment = datetime.datetime(moment.year, moment.month, moment.day)
        return moment

    def _text_order_moment(self, text: str) -> datetime.datetime:
        """SQLite: the key's period is the date its text starts with (text comparison)."""
        match = _ISO_DATE.match(text)
        if match is None:
            self._refuse(
                "is a string that does not start with a YYYY-MM-DD date; SQLite compares time "
                "keys as text, so write them as they are stored ('2026-03-05' or "
                "'2026-03-05 10:00:00')"
            )
        try:
            day = datetime.date(*(int(part) for part in match.groups()))
        except ValueError:
            self._refuse("is a string whose YYYY-MM-DD is not a calendar date")
        moment = datetime.datetime(day.year, day.month, day.day)
        # Only the bare date is the first text of its day: any longer text sorts after it,
        # so it must not count as the first instant of a period.
        return moment if len(text) == 10 else moment + _MICROSECOND

    def _refuse(self, reason: str) -> NoReturn:
        raise RoutingError(f"{column(self.table, self.key)} {reason}")


def _period_first_day(interval: Interval, day: datetime.date) -> datetime.date:
    if interval == "day":
        return datetime.date(day.year, day.month, day.day)
    if interval == "month":
        return datetime.date(day.year, day.month, 1)
    return datetime.date(day.year, 1, 1)


def _absolute_period(interval: Interval, day: datetime.date) -> int:
    if interval == "day":
        return day.toordinal()
    if interval == "month":
        return day.year * 12 + day.month - 1
    return day.year


def _surely_empty(
    low: datetime.datetime, low_inclusive: bool, high: datetime.datetime, high_inclusive: bool
) -> bool:
    """Whether no instant lies between the bounds, whichever way the database reads offsets.

    Placement uses wall-clock time; a ``timestamptz`` column compares absolute instants. The
    interval is declared empty only when it is empty both ways (and never when one bound is
    naive and the other aware: they cannot be compared as instants).
    """

    def empty(lo: datetime.datetime, hi: datetime.datetime) -> bool:
        return lo > hi or (lo == hi and not (low_inclusive and high_inclusive))

    if not empty(low.replace(tzinfo=None), high.replace(tzinfo=None)):
        return False
    low_aware = low.utcoffset() is not None
    high_aware = high.utcoffset() is not None
    if low_aware and high_aware:
        return empty(low, high)
    return not low_aware and not high_aware
