"""Scatter-gather: run one statement's targets on their datasources at the same time.

Each datasource's statements run one after another on that datasource's single connection
(for a read with few rows per table, ``fetch_round_trips`` sends the round trips that
``core.routing.plan_round_trips`` planned: usually one statement per datasource); different
datasources run concurrently: as tasks of the event loop on the asyncio front, on
the cluster's worker threads on the thread front (``tenantdb._concurrency.run_each``). A
plan that touches one datasource runs in the caller. Every helper here either returns
complete results or raises after closing whatever it opened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor
from functools import partial
from typing import NamedTuple, TypeVar

from .._concurrency import arun_each
from ..core.routing import RoundTrip, Target
from ..errors import Error
from ..telemetry import StatementWatch
from ._driver import AsyncConnection, AsyncStream, Outcome, Row

T = TypeVar("T")

Work = dict[str, tuple[AsyncConnection, list[int]]]
"""Datasource name → (its connection, indexes of the plan's targets it runs, in order)."""


def group_targets(targets: Sequence[Target]) -> dict[str, list[int]]:
    """Target indexes per datasource, datasources in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for index, target in enumerate(targets):
        groups.setdefault(target.datasource, []).append(index)
    return groups


async def run_per_datasource(
    executor: Executor | None,
    work: Work,
    task: Callable[[AsyncConnection, list[int]], Awaitable[T]],
    watch: StatementWatch | None = None,
) -> dict[str, T | BaseException]:
    """Run ``task`` once per datasource, concurrently when there are several; with
    ``watch``, each inside a child span of the statement's (``StatementWatch.fan_out``).

    Returns each datasource's value or the exception it raised; never raises itself (but
    for a cancellation, which cancels the others first), so the caller can clean up what
    the successful datasources opened.
    """
    calls: list[Callable[[], Awaitable[T]]] = [
        partial(task, connection, indexes) for connection, indexes in work.values()
    ]
    if watch is not None:
        calls = [
            partial(_traced, watch, name, call) for name, call in zip(work, calls, strict=True)
        ]
    return dict(zip(work, await arun_each(executor, calls), strict=True))


async def _traced(watch: StatementWatch, datasource: str, call: Callable[[], Awaitable[T]]) -> T:
    with watch.fan_out(datasource):
        return await call()


class ScatterError(Exception):
    """Datasources of one multi-target read failed; what the others opened is closed.

    ``errors`` maps each failed datasource to its own exception, in datasource order, so a
    failure is charged to the connection that raised it and never to the ones that ran
    beside it (ds0's lost replica connection says nothing about ds1's replica). ``first``
    is the error to show the caller.
    """

    def __init__(self, errors: Mapping[str, BaseException]) -> None:
        if not errors:
            raise ValueError("ScatterError needs at least one failed datasource")
        self.errors = dict(errors)
        self.first = next(iter(self.errors.values()))
        super().__init__(f"{', '.join(self.errors)} failed; first: {self.first}")


def failures(outcomes: Mapping[str, object]) -> dict[str, BaseException]:
    """The datasources whose outcome is an exception, with it (in datasource order)."""
    return {name: value for name, value in outcomes.items() if isinstance(value, BaseException)}


Opened = tuple[list[AsyncStream], list[list[Row]]]


async def open_streams(
    executor: Executor | None,
    targets: Sequence[Target | RoundTrip],
    work: Work,
    batch_size: int,
    watch: StatementWatch | None = None,
) -> list[tuple[AsyncStream, list[Row]]]:
    """Open a stream per target (or per round trip, with ``work`` from ``trip_work``) and
    fetch each one's first batch, datasources in parallel.

    The first fetch is where the databases do their work, so that is what runs
    concurrently; later batches are fetched on demand by the merge. Returns
    (stream, first batch) aligned with ``targets``; raises ScatterError (streams of the
    datasources that succeeded closed) when any datasource fails.
    """

    async def open_on(connection: AsyncConnection, indexes: list[int]) -> Opened:
        streams = await connection.open_streams(
            [(targets[i].sql, targets[i].params) for i in indexes], batch_size
        )
        try:
            return streams, [await stream.fetch() for stream in streams]
        except BaseException:
            await close_all(streams)
            raise

    outcomes = await run_per_datasource(executor, work, open_on, watch)
    errors = failures(outcomes)
    if errors:
        for value in outcomes.values():
            if not isinstance(value, BaseException):
                await close_all(value[0])
        raise ScatterError(errors)
    aligned: list[tuple[AsyncStream, list[Row]] | None] = [None] * len(targets)
    for name, (_, indexes) in work.items():
        value = outcomes[name]
        assert not isinstance(value, BaseException)
        for position, index in enumerate(indexes):
            aligned[index] = (value[0][position], value[1][position])
    return [pair for pair in aligned if pair is not None]


def trip_work(trips: Sequence[RoundTrip], work: Work) -> Work:
    """``work``'s connections, each given the positions in ``trips`` of its datasource's
    round trips (instead of target indexes)."""
    positions: dict[str, list[int]] = {name: [] for name in work}
    for position, trip in enumerate(trips):
        positions[trip.datasource].append(position)
    return {name: (connection, positions[name]) for name, (connection, _) in work.items()}


async def fetch_round_trips(
    executor: Executor | None,
    trips: Sequence[RoundTrip],
    work: Work,
    watch: StatementWatch | None = None,
) -> list[Outcome]:
    """Send each round trip's statement and fetch all its rows, the trips of one datasource
    one after another on its connection of ``work``, datasources in parallel; aligned with
    ``trips``. For reads whose results ``core.routing.plan_round_trips`` proved small.
    Raises ScatterError when any datasource fails."""
    by_trip = trip_work(trips, work)

    async def run_on(connection: AsyncConnection, own: list[int]) -> list[Outcome]:
        return [await connection.execute(trips[p].sql, trips[p].params) for p in own]

    outcomes = await run_per_datasource(executor, by_trip, run_on, watch)
    errors = failures(outcomes)
    if errors:
        raise ScatterError(errors)
    aligned: list[Outcome | None] = [None] * len(trips)
    for name, value in outcomes.items():
        assert not isinstance(value, BaseException)
        for position, outcome in zip(by_trip[name][1], value, strict=True):
            aligned[position] = outcome
    return [outcome for outcome in aligned if outcome is not None]


async def close_all(streams: Sequence[AsyncStream]) -> None:
    """Close every stream, even when one of them fails to close; re-raise the first failure."""
    failure: BaseException | None = None
    for stream in streams:
        try:
            await stream.close()
        except Error as exc:
            failure = failure or exc
    if failure is not None:
        raise failure


class WriteOutcome(NamedTuple):
    """What one datasource did with its share of a multi-target write."""

    rowcount: int
    applied: list[int]
    """Indexes of the targets that ran to completion, in order."""
    error: BaseException | None
    """The error that stopped the datasource's remaining targets, if any."""


async def run_writes(
    executor: Executor | None,
    targets: Sequence[Target],
    work: Work,
    watch: StatementWatch | None = None,
) -> dict[str, WriteOutcome]:
    """Run write targets, datasources in parallel; a datasource stops at its first error."""

    async def write_on(connection: AsyncConnection, indexes: list[int]) -> WriteOutcome:
        total = 0
        applied: list[int] = []
        for index in indexes:
            try:
                outcome = await connection.execute(targets[index].sql, targets[index].params)
            except Exception as exc:
                return WriteOutcome(total, applied, exc)
            total += max(outcome.rowcount, 0)
            applied.append(index)
        return WriteOutcome(total, applied, None)

    outcomes = await run_per_datasource(executor, work, write_on, watch)
    return {
        name: value if not isinstance(value, BaseException) else WriteOutcome(0, [], value)
        for name, value in outcomes.items()
    }
