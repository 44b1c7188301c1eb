"""Row streams the merge reads: a driver stream's batches, or rows already in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from ._driver import AsyncStream, Row


async def stream_rows(stream: AsyncStream, first: list[Row]) -> AsyncIterator[Row]:
    """The rows of one open stream: its prefetched first batch, then the batches of
    ``await stream.fetch()``, each fetched only once the rows before it were taken, until
    an empty batch. Never closes the stream (whoever opened it does)."""
    batch = first
    while batch:
        for row in batch:
            yield row
        batch = await stream.fetch()


async def iter_rows(rows: Iterable[Row]) -> AsyncIterator[Row]:
    """The rows of a list (or any iterable) as a stream ``merge_rows`` accepts, taken
    from it one by one as they are asked for; for results fetched whole."""
    for row in rows:
        yield row
