"""The streaming merge on both fronts.

The ``merge_rows`` fixture has the thread front's shape, ``(plan, row iterables) → iterator
of rows``, and is either the thread front's ``merge_rows`` or the asyncio front's, driven
on one event loop a row at a time, with every shard stream yielding to the loop before each
row as a driver fetch does. Tests that take it run once per front (ids ``thread`` and
``asyncio``) and may count what the merge pulls between two rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any

import pytest

from tenantdb._async import merge_rows as async_merge_rows
from tenantdb._sync import merge_rows as thread_merge_rows
from tenantdb.core.routing import MergePlan

Row = tuple[Any, ...]
MergeRows = Callable[[MergePlan, Sequence[Iterable[Row]]], Iterator[Row]]


async def awaiting(rows: Iterable[Row]) -> AsyncIterator[Row]:
    """A shard stream of the asyncio front: each row comes after a pass through the loop."""
    for row in rows:
        await asyncio.sleep(0)
        yield row


def driven(rows: AsyncIterator[Row]) -> Iterator[Row]:
    """An async iterator as a plain one: each ``next()`` runs it one step, on one loop."""

    async def step() -> Row | None:
        try:
            return await anext(rows)
        except StopAsyncIteration:
            return None

    with asyncio.Runner() as runner:
        while (row := runner.run(step())) is not None:
            yield row


def merge_on_the_loop(plan: MergePlan, streams: Sequence[Iterable[Row]]) -> Iterator[Row]:
    # Called at once, not inside ``driven``: a bad plan must raise before any row is asked.
    return driven(async_merge_rows(plan, [awaiting(stream) for stream in streams]))


@pytest.fixture(scope="module")
def drive() -> Callable[[AsyncIterator[Row]], Iterator[Row]]:
    """``driven``, for tests of other async iterators of the asyncio front."""
    return driven


@pytest.fixture(
    scope="module",  # hypothesis refuses function-scoped fixtures in its tests
    params=[thread_merge_rows, merge_on_the_loop],
    ids=["thread", "asyncio"],
)
def merge_rows(request: pytest.FixtureRequest) -> MergeRows:
    front: MergeRows = request.param
    return front
