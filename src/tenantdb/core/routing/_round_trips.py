"""Round trips: how the physical statements of one multi-target read travel to a datasource.

A read over several physical tables has, per datasource, one statement per table. Sent one
after another, each costs a network round trip (and, read through cursors, several). When
the plan proves that every table returns few rows, the rows are fetched whole
(``"fetch"``), and on a server reached over a network the tables of one datasource travel
as ONE statement: their statements as parenthesised branches of a ``UNION ALL``, each
keeping its own ORDER BY / LIMIT, parameters concatenated in branch order. Otherwise rows
are read through cursors (``"stream"``): one per datasource over the same ``UNION ALL``
when the merge needs no order from them (grouped or unordered reads), else one per table.

What a combined statement changes, and how the shell must read it:

- the rows of a ``UNION ALL`` come back in no promised order, even when every branch is
  ordered: they are one unordered run per datasource, which the shell sorts with the
  merge's own key (``core.merge.RowOrder``) before merging (``RoundTrip.needs_sort``);
- each branch is the table's statement unchanged, so hidden merge columns, duplicate
  output names and parameters keep their positions;
- statements that cannot be a branch (anything not starting with SELECT, row locks,
  ``INTO``) and SQLite (no network round trip to save) keep one statement per table.
- column types: every branch is the same statement with the same values in its select
  list, so ``UNION`` resolves each column to the type the statement alone has (a bare
  ``%s`` holding text or None is "unknown", which PostgreSQL resolves to text either way);
  ``tests/integration/test_scatter_round_trips.py`` checks it against one database.

Why ``UNION ALL`` rather than psycopg's pipeline mode: measured on one PostgreSQL
connection (4 indexed tables, ``ORDER BY x LIMIT 10`` each), the four statements one after
another took 1,514 µs, pipelined 937 µs, as one ``UNION ALL`` 453 µs; and MariaDB has no
pipeline.

Pure: a function of the plan, the dialect and the stream batch size; the shell executes it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from ._plan import MergePlan, RoutePlan, Target

STREAM_BATCH_ROWS = 1000
"""Rows per cursor fetch, and the most rows per table a read fetches whole."""

DEEP_BATCH_FACTOR = 10
"""A deep LIMIT's cursors fetch at most this many times ``STREAM_BATCH_ROWS`` per batch."""

_SHARE_MARGIN = 1.1  # a table's share of a deep LIMIT, plus 10 % for uneven spread

ReadMode = Literal["fetch", "stream"]
"""``fetch``: every statement's rows are fetched whole; ``stream``: one cursor per table."""

COMBINING_DIALECTS = frozenset({"postgres", "mysql"})
"""Dialects whose datasources are reached over a network; SQLite runs in-process."""

# A branch must be a plain SELECT: row locks are refused under UNION, INTO writes. The check
# is on the text and errs on the safe side (a string literal saying "for update" only costs
# the combination).
_PLAIN_SELECT = re.compile(r"\s*\(*\s*select\b", re.IGNORECASE)
_NOT_A_BRANCH = re.compile(
    r"\bfor\s+(update|share|no\s+key\s+update|key\s+share)\b|\block\s+in\b|\binto\b|;",
    re.IGNORECASE,
)


class RoundTrip(NamedTuple):
    """One statement sent to one datasource, serving one or more of the plan's targets."""

    datasource: str
    targets: tuple[int, ...]
    """Indexes of the plan's targets it serves, in plan order."""
    sql: str
    params: tuple[object, ...]
    needs_sort: bool
    """True for a combined statement of an ordered, ungrouped read (always fetched whole):
    ``UNION ALL`` promises no order, so the shell sorts its rows with the merge's key
    before merging them."""

    def to_dict(self) -> dict[str, Any]:
        return {"datasource": self.datasource, "targets": list(self.targets)}


@dataclass(frozen=True, slots=True)
class ReadRoundTrips:
    """How one multi-target read reaches its datasources; datasources run concurrently,
    the round trips of one datasource one after another."""

    mode: ReadMode
    round_trips: tuple[RoundTrip, ...]
    batch_rows: int
    """Rows per cursor fetch (``stream``; see ``stream_batch_rows``)."""

    def per_datasource(self) -> dict[str, int]:
        """Round trips each datasource costs before the read's first rows are in (a
        stream also costs one per further batch, and on PostgreSQL its read transaction)."""
        counts: dict[str, int] = {}
        for trip in self.round_trips:
            counts[trip.datasource] = counts.get(trip.datasource, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            **({"batch_rows": self.batch_rows} if self.mode == "stream" else {}),
            "count": len(self.round_trips),
            "per_datasource": self.per_datasource(),
            "together": [trip.to_dict() for trip in self.round_trips],
        }


def read_mode(merge: MergePlan, batch_rows: int = STREAM_BATCH_ROWS) -> ReadMode:
    """``fetch`` when the plan proves every table returns at most ``batch_rows`` rows: an
    aggregate without GROUP BY (one row), or a LIMIT whose offset + limit fits (each table
    ran ``LIMIT offset+limit``); ``stream`` otherwise."""
    if merge.group_by == ():
        return "fetch"
    if merge.group_by is None and merge.limit is not None:
        return "fetch" if merge.offset + merge.limit <= batch_rows else "stream"
    return "stream"


def stream_batch_rows(merge: MergePlan, tables: int, batch_rows: int = STREAM_BATCH_ROWS) -> int:
    """Rows per cursor fetch of a streamed read over ``tables`` tables.

    ``batch_rows``, but for a LIMIT too deep to fetch whole: the merge then reads about
    (offset + limit) / tables rows of each table, so each fetches its share plus a margin
    at once (at most ``DEEP_BATCH_FACTOR`` times ``batch_rows``). First fetches run
    concurrently, later ones one by one as the merge needs them: sized so, most tables
    need no second one. Memory stays bounded by the cap per table.
    """
    if merge.group_by is not None or merge.limit is None or tables < 1:
        return batch_rows
    share = math.ceil((merge.offset + merge.limit) * _SHARE_MARGIN / tables)
    return max(batch_rows, min(share, DEEP_BATCH_FACTOR * batch_rows))


# Physical SQL text → can_be_branch. A scatter asks for every table on every run, and the
# texts repeat (plans are cached). Bounded: emptied when full. Only dict reads and single
# assignments, each atomic, so threads share it without a lock.
_BRANCHABLE: dict[str, bool] = {}
_REMEMBERED = 4096


def can_be_branch(sql: str) -> bool:
    """Whether ``sql`` may run unchanged as a parenthesised branch of a ``UNION ALL``."""
    verdict = _BRANCHABLE.get(sql)
    if verdict is None:
        verdict = _PLAIN_SELECT.match(sql) is not None and _NOT_A_BRANCH.search(sql) is None
        if len(_BRANCHABLE) >= _REMEMBERED:
            _BRANCHABLE.clear()
        _BRANCHABLE[sql] = verdict
    return verdict


def plan_round_trips(
    plan: RoutePlan, dialect: str, batch_rows: int = STREAM_BATCH_ROWS
) -> ReadRoundTrips:
    """The round trips of a multi-target read (``plan.merge`` set); see the module
    docstring. Raises ValueError for a plan without a merge plan."""
    if plan.merge is None:
        raise ValueError("round trips are planned for multi-target reads (a plan with a merge)")
    mode = read_mode(plan.merge, batch_rows)
    if mode == "stream":
        batch_rows = stream_batch_rows(plan.merge, len(plan.targets), batch_rows)
    groups = _by_datasource(plan.targets)
    merge = plan.merge
    # A stream is combined only when the merge needs no order from it: grouped reads (the
    # merge groups every row, then sorts) and unordered ones; an ordered stream must stay
    # one sorted run per table, which no cursor over a UNION ALL gives.
    grouped = merge.group_by is not None
    combine = dialect in COMBINING_DIALECTS and (mode == "fetch" or grouped or not merge.order_by)
    needs_sort = bool(merge.order_by) and not grouped
    trips: list[RoundTrip] = []
    for name, indexes in groups.items():
        if (
            combine
            and len(indexes) > 1
            and all(can_be_branch(plan.targets[i].sql) for i in indexes)
        ):
            trips.append(_combined(name, indexes, plan.targets, needs_sort=needs_sort))
        else:
            trips.extend(
                RoundTrip(name, (i,), plan.targets[i].sql, plan.targets[i].params, False)
                for i in indexes
            )
    return ReadRoundTrips(mode, tuple(trips), batch_rows)


def with_round_trips(
    plan: RoutePlan, dialect: str, batch_rows: int = STREAM_BATCH_ROWS
) -> RoutePlan:
    """``plan`` with its ``round_trips`` set when it is a multi-target read (for
    ``explain``: ``batch_rows`` is the cluster's stream batch, as the session uses); any
    other plan as it is (one statement per target)."""
    if plan.merge is None or len(plan.targets) < 2:
        return plan
    return plan._replace(round_trips=plan_round_trips(plan, dialect, batch_rows))


def _by_datasource(targets: tuple[Target, ...]) -> Mapping[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for index, target in enumerate(targets):
        groups.setdefault(target.datasource, []).append(index)
    return groups


def _combined(
    name: str, indexes: list[int], targets: tuple[Target, ...], *, needs_sort: bool
) -> RoundTrip:
    sql = " UNION ALL ".join(f"({targets[i].sql})" for i in indexes)
    params = tuple(value for i in indexes for value in targets[i].params)
    return RoundTrip(name, tuple(indexes), sql, params, needs_sort)


__all__ = [
    "COMBINING_DIALECTS",
    "DEEP_BATCH_FACTOR",
    "ReadMode",
    "ReadRoundTrips",
    "RoundTrip",
    "STREAM_BATCH_ROWS",
    "can_be_branch",
    "plan_round_trips",
    "read_mode",
    "stream_batch_rows",
    "with_round_trips",
]
