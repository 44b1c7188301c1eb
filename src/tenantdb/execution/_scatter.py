"""Scatter-gather: run one statement's targets on their datasources at the same time.

Each datasource's targets run one after another on that datasource's single connection;
different datasources run in parallel on worker threads. A plan that touches one datasource
runs on the calling thread. Every helper here either returns complete results or raises
after closing whatever it opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future
from typing import NamedTuple, TypeVar

from ..core.routing import Target
from ..errors import Error
from ._driver import Connection, Outcome, Row, Stream

T = TypeVar("T")

Work = dict[str, tuple[Connection, list[int]]]
"""Datasource name → (its connection, indexes of the plan's targets it runs, in order)."""


def group_targets(targets: Sequence[Target]) -> dict[str, list[int]]:
    """Target indexes per datasource, datasources in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for index, target in enumerate(targets):
        groups.setdefault(target.datasource, []).append(index)
    return groups


def run_per_datasource(
    executor: Executor, work: Work, task: Callable[[Connection, list[int]], T]
) -> dict[str, T | BaseException]:
    """Run ``task`` once per datasource, in parallel when there are several.

    Returns each datasource's value or the exception it raised; never raises itself, so
    the caller can clean up what the successful datasources opened.
    """
    outcomes: dict[str, T | BaseException] = {}
    if len(work) == 1:
        ((name, (connection, indexes)),) = work.items()
        try:
            outcomes[name] = task(connection, indexes)
        except Exception as exc:
            outcomes[name] = exc
        return outcomes
    futures: dict[str, Future[T]] = {
        name: executor.submit(task, connection, indexes)
        for name, (connection, indexes) in work.items()
    }
    for name, future in futures.items():
        try:
            outcomes[name] = future.result()
        except Exception as exc:
            outcomes[name] = exc
    return outcomes


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


Opened = tuple[list[Stream], list[list[Row]]]


def open_streams(
    executor: Executor, targets: Sequence[Target], work: Work, batch_size: int
) -> list[tuple[Stream, list[Row]]]:
    """Open a stream per target and fetch each one's first batch, datasources in parallel.

    The first fetch is where the databases do their work, so that is what runs
    concurrently; later batches are fetched on demand by the merge. Returns
    (stream, first batch) aligned with ``targets``; raises ScatterError (streams of the
    datasources that succeeded closed) when any datasource fails.
    """

    def open_on(connection: Connection, indexes: list[int]) -> Opened:
        streams = connection.open_streams(
            [(targets[i].sql, targets[i].params) for i in indexes], batch_size
        )
        try:
            return streams, [stream.fetch() for stream in streams]
        except BaseException:
            close_all(streams)
            raise

    outcomes = run_per_datasource(executor, work, open_on)
    errors = failures(outcomes)
    if errors:
        for value in outcomes.values():
            if not isinstance(value, BaseException):
                close_all(value[0])
        raise ScatterError(errors)
    aligned: list[tuple[Stream, list[Row]] | None] = [None] * len(targets)
    for name, (_, indexes) in work.items():
        value = outcomes[name]
        assert not isinstance(value, BaseException)
        for position, index in enumerate(indexes):
            aligned[index] = (value[0][position], value[1][position])
    return [pair for pair in aligned if pair is not None]


def fetch_all(executor: Executor, targets: Sequence[Target], work: Work) -> list[Outcome]:
    """Run every target and fetch all its rows, datasources in parallel; aligned with
    ``targets``. For reads whose per-shard result is known to be small (a shard LIMIT no
    larger than the stream batch), where cursors would only add round trips. Raises
    ScatterError when any datasource fails."""

    def run_on(connection: Connection, indexes: list[int]) -> list[Outcome]:
        return [connection.execute(targets[i].sql, targets[i].params) for i in indexes]

    outcomes = run_per_datasource(executor, work, run_on)
    errors = failures(outcomes)
    if errors:
        raise ScatterError(errors)
    aligned: list[Outcome | None] = [None] * len(targets)
    for name, (_, indexes) in work.items():
        value = outcomes[name]
        assert not isinstance(value, BaseException)
        for position, index in enumerate(indexes):
            aligned[index] = value[position]
    return [outcome for outcome in aligned if outcome is not None]


def stream_rows(stream: Stream, first: list[Row]) -> Iterator[Row]:
    """The rows of one stream: its prefetched first batch, then batches on demand."""
    batch = first
    while batch:
        yield from batch
        batch = stream.fetch()


def close_all(streams: Sequence[Stream]) -> None:
    """Close every stream, even when one of them fails to close; re-raise the first failure."""
    failure: BaseException | None = None
    for stream in streams:
        try:
            stream.close()
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


def run_writes(
    executor: Executor, targets: Sequence[Target], work: Work
) -> dict[str, WriteOutcome]:
    """Run write targets, datasources in parallel; a datasource stops at its first error."""

    def write_on(connection: Connection, indexes: list[int]) -> WriteOutcome:
        total = 0
        applied: list[int] = []
        for index in indexes:
            try:
                outcome = connection.execute(targets[index].sql, targets[index].params)
            except Exception as exc:
                return WriteOutcome(total, applied, exc)
            total += max(outcome.rowcount, 0)
            applied.append(index)
        return WriteOutcome(total, applied, None)

    outcomes = run_per_datasource(executor, work, write_on)
    return {
        name: value if not isinstance(value, BaseException) else WriteOutcome(0, [], value)
        for name, value in outcomes.items()
    }
