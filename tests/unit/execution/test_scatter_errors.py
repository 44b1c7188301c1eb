"""Scatter-gather failures are reported per datasource, each with its own error.

A multi-target read runs each datasource on its own connection (and thread); when one
fails, the session must charge that failure to that connection only. These tests drive
``fetch_round_trips`` and ``open_streams`` with in-memory connections: no database, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tenantdb._sync import (
    Connection,
    Outcome,
    Row,
    ScatterError,
    Work,
    failures,
    fetch_round_trips,
    open_streams,
)
from tenantdb.core.routing import RoundTrip, Target
from tenantdb.errors import ProgrammingError, ShardUnavailableError


class FakeStream:
    def __init__(self, rows: list[Row]) -> None:
        self._rows = rows
        self.closed = False

    @property
    def description(self) -> None:
        return None

    def fetch(self) -> list[Row]:
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        self.closed = True


class FakeConnection:
    """Answers every statement with one row naming its datasource, or raises ``error``."""

    def __init__(self, name: str, error: BaseException | None = None) -> None:
        self.name = name
        self.error = error
        self.streams: list[FakeStream] = []

    def execute(self, sql: str, params: tuple[Any, ...]) -> Outcome:
        if self.error is not None:
            raise self.error
        return Outcome(None, [(self.name,)], 1, None)

    def open_streams(
        self, statements: Sequence[tuple[str, tuple[Any, ...]]], batch_size: int
    ) -> list[FakeStream]:
        if self.error is not None:
            raise self.error
        opened = [FakeStream([(self.name,)]) for _ in statements]
        self.streams.extend(opened)
        return opened


def lost(name: str) -> ShardUnavailableError:
    return ShardUnavailableError(
        f"datasource {name!r} (replica) lost its connection", datasource=name, role="replica"
    )


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        yield pool


def plan(connections: Sequence[FakeConnection]) -> tuple[list[Target], Work]:
    targets = [
        Target(datasource=c.name, role="replica", sql="SELECT 1", params=(), tables={})
        for c in connections
    ]
    work: Work = {c.name: (_as_connection(c), [i]) for i, c in enumerate(connections)}
    return targets, work


def alone(targets: Sequence[Target]) -> list[RoundTrip]:
    """One round trip per target, as SQLite sends them."""
    return [RoundTrip(t.datasource, (i,), t.sql, t.params, False) for i, t in enumerate(targets)]


def _as_connection(fake: FakeConnection) -> Connection:
    return fake  # type: ignore[return-value]


@pytest.mark.parametrize("read", ["fetch_round_trips", "open_streams"])
def test_one_failed_datasource_is_the_only_one_reported(
    executor: ThreadPoolExecutor, read: str
) -> None:
    connections = [FakeConnection("ds0", lost("ds0")), FakeConnection("ds1")]
    targets, work = plan(connections)
    run = {
        "fetch_round_trips": lambda: fetch_round_trips(executor, alone(targets), work),
        "open_streams": lambda: open_streams(executor, targets, work, batch_size=10),
    }[read]
    with pytest.raises(ScatterError) as info:
        run()
    assert info.value.errors == {"ds0": connections[0].error}
    assert info.value.first is connections[0].error
    # What the healthy datasource opened is closed again.
    assert all(stream.closed for stream in connections[1].streams)


def test_each_failed_datasource_keeps_its_own_error(executor: ThreadPoolExecutor) -> None:
    refused = ProgrammingError("datasource 'ds2' (replica): syntax error", datasource="ds2")
    connections = [
        FakeConnection("ds0"),
        FakeConnection("ds1", lost("ds1")),
        FakeConnection("ds2", refused),
    ]
    targets, work = plan(connections)
    with pytest.raises(ScatterError) as info:
        fetch_round_trips(executor, alone(targets), work)
    assert list(info.value.errors) == ["ds1", "ds2"]
    assert info.value.errors["ds1"] is connections[1].error
    assert info.value.errors["ds2"] is refused
    assert info.value.first is connections[1].error
    assert "ds1" in str(info.value)


def test_a_read_that_succeeds_everywhere_raises_nothing(executor: ThreadPoolExecutor) -> None:
    targets, work = plan([FakeConnection("ds0"), FakeConnection("ds1")])
    outcomes = fetch_round_trips(executor, alone(targets), work)
    assert [o.rows for o in outcomes] == [[("ds0",)], [("ds1",)]]


def test_failures_keeps_datasource_order() -> None:
    first, second = lost("ds2"), lost("ds0")
    assert list(failures({"ds2": first, "ds1": [], "ds0": second})) == ["ds2", "ds0"]
    assert failures({"ds0": []}) == {}


def test_a_scatter_error_needs_a_failure() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ScatterError({})
