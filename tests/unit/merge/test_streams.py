"""Row streams the merge reads, on both fronts: a driver stream's batches (``stream_rows``)
and rows already in memory (``iter_rows``). The driver streams are stand-ins that hand out
fixed batches: what is tested is when batches are asked for, which needs no database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tenantdb import _async, _sync
from tenantdb.core.routing import MergePlan
from tenantdb.core.sql import SortKey

Row = tuple[Any, ...]
Drive = Callable[[AsyncIterator[Row]], Iterator[Row]]


class Batches:
    """A driver stream of the thread front: fixed batches, fetches counted."""

    description = None

    def __init__(self, *batches: list[Row]) -> None:
        self.batches = list(batches)
        self.fetches = 0
        self.closed = False

    def fetch(self) -> list[Row]:
        self.fetches += 1
        return self.batches.pop(0) if self.batches else []

    def close(self) -> None:
        self.closed = True


class AsyncBatches(Batches):
    """The same on the asyncio front: each fetch passes through the event loop."""

    async def fetch(self) -> list[Row]:  # type: ignore[override]
        await asyncio.sleep(0)
        return Batches.fetch(self)

    async def close(self) -> None:  # type: ignore[override]
        self.closed = True


FRONTS = ["thread", "asyncio"]


def rows_of(front: str, stream: Batches, first: list[Row], drive: Drive) -> Iterator[Row]:
    if front == "thread":
        return _sync.stream_rows(stream, first)
    assert isinstance(stream, AsyncBatches)
    return drive(_async.stream_rows(stream, first))


def batches(front: str, *later: list[Row]) -> Batches:
    return Batches(*later) if front == "thread" else AsyncBatches(*later)


@pytest.mark.parametrize("front", FRONTS)
def test_a_batch_is_fetched_only_once_the_rows_before_it_were_taken(
    front: str, drive: Drive
) -> None:
    stream = batches(front, [(3,), (4,)], [(5,)])
    rows = rows_of(front, stream, [(1,), (2,)], drive)
    assert stream.fetches == 0
    assert [next(rows), next(rows)] == [(1,), (2,)]
    assert stream.fetches == 0  # the prefetched batch is served first
    assert next(rows) == (3,)
    assert stream.fetches == 1
    assert list(rows) == [(4,), (5,)]
    assert stream.fetches == 3  # the last fetch returned [], the end
    assert not stream.closed  # closing is the opener's job


@pytest.mark.parametrize("front", FRONTS)
def test_an_empty_first_batch_means_an_empty_stream(front: str, drive: Drive) -> None:
    stream = batches(front, [(1,)])
    assert list(rows_of(front, stream, [], drive)) == []
    assert stream.fetches == 0


@pytest.mark.parametrize("front", FRONTS)
def test_a_merge_over_streams_stops_fetching_at_the_limit(front: str, drive: Drive) -> None:
    # Three shards, batches of two rows. Rows 0 to 4 leave the merge (OFFSET 2 LIMIT 3) and
    # each stream is pulled one row past its last row that left: only shard 0 (rows 0, 3, 6)
    # needs its second batch, and nothing is fetched after the limit.
    streams = [batches(front, [(s + 6,), (s + 9,)], [(s + 12,), (s + 15,)]) for s in range(3)]
    firsts: list[list[Row]] = [[(s,), (s + 3,)] for s in range(3)]
    plan = MergePlan(order_by=(SortKey(0, False, False),), limit=3, offset=2)
    if front == "thread":
        rows = _sync.merge_rows(
            plan, [_sync.stream_rows(s, f) for s, f in zip(streams, firsts, strict=True)]
        )
    else:
        rows = drive(
            _async.merge_rows(
                plan,
                [_async.stream_rows(s, f) for s, f in zip(streams, firsts, strict=True)],  # type: ignore[arg-type]
            )
        )
    assert list(rows) == [(2,), (3,), (4,)]
    assert [s.fetches for s in streams] == [1, 0, 0]


def test_lists_reach_the_asyncio_merge_through_iter_rows() -> None:
    plan = MergePlan(order_by=(SortKey(0, True, False),), limit=4)

    async def merged() -> list[Row]:
        lists: list[list[Row]] = [[(5,), (1,)], [(4,), (3,), (2,)]]
        return [row async for row in _async.merge_rows(plan, [_async.iter_rows(r) for r in lists])]

    assert asyncio.run(merged()) == [(5,), (4,), (3,), (2,)]


def test_iter_rows_takes_rows_as_they_are_asked_for() -> None:
    taken: list[int] = []

    def source() -> Iterator[Row]:
        for n in range(3):
            taken.append(n)
            yield (n,)

    async def first_row() -> Row:
        return await anext(_async.iter_rows(source()))

    assert asyncio.run(first_row()) == (0,)
    assert taken == [0]
