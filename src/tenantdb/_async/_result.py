"""Result: what one statement returned, read like a DB-API cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from ..core.routing import Target
from ._driver import Description, Row

Closer = Callable[[], Awaitable[None]]
"""Called once when a streaming result is done: closes the shard cursors behind it."""


class AsyncResult:
    """The rows, row count and description of one executed statement.

    Behaves like a DB-API cursor: rows are tuples; ``fetchone``, ``fetchmany``,
    ``fetchall`` and iteration consume them. ``targets`` lists the Target objects
    (``datasource``, ``role``, ``tables``) that served the statement, and ``round_trips``
    which of them ran together (indexes into ``targets``, one tuple per statement sent).

    A single-target statement's rows are fetched eagerly, as the raw drivers' default
    cursors do. A multi-target read streams: its rows are merged as they are fetched,
    and the shard cursors stay open until the rows are consumed or ``close()`` is called;
    ``rowcount`` is -1 until the last row has been read. If the session needs one of those
    connections for another statement first, the remaining rows are read into memory.
    """

    __slots__ = (
        "_closer",
        "_count",
        "_produced",
        "_round_trips",
        "_rows",
        "_stream",
        "arraysize",
        "description",
        "lastrowid",
        "rowcount",
        "targets",
    )

    def __init__(
        self,
        targets: Sequence[Target],
        description: Description | None,
        rows: list[Row] | None,
        rowcount: int,
        lastrowid: int | None = None,
        *,
        stream: AsyncIterator[Row] | None = None,
        closer: Closer | None = None,
        round_trips: tuple[tuple[int, ...], ...] | None = None,
    ) -> None:
        self.targets = list(targets)
        self._round_trips = round_trips
        self.description = description
        self.rowcount = rowcount
        self.lastrowid = lastrowid
        self.arraysize = 1
        self._rows: list[Row] = rows if rows is not None else []
        self._count = 0
        """Rows already handed out from ``_rows``."""
        self._stream = stream
        self._closer = closer
        self._produced = 0
        """Rows pulled from ``_stream`` so far; the row count once it is exhausted."""

    @property
    def round_trips(self) -> tuple[tuple[int, ...], ...]:
        """Which targets ran together: indexes into ``targets``, one tuple per statement
        sent (a multi-target read sends the tables of one datasource as one statement
        where it can; otherwise each target is a statement of its own)."""
        if self._round_trips is None:
            return tuple((index,) for index in range(len(self.targets)))
        return self._round_trips

    # -- DB-API reading ---------------------------------------------------------------

    async def fetchone(self) -> Row | None:
        """The next row, or None when there are no more."""
        rows = self._rows
        if self._count < len(rows):
            row = rows[self._count]
            self._count += 1
            return row
        if self._stream is None:
            return None
        return await self._next_streamed()

    async def fetchmany(self, size: int | None = None) -> list[Row]:
        """Up to ``size`` (default ``arraysize``) next rows."""
        wanted = self.arraysize if size is None else size
        out: list[Row] = []
        while len(out) < wanted:
            row = await self.fetchone()
            if row is None:
                break
            out.append(row)
        return out

    async def fetchall(self) -> list[Row]:
        """Every remaining row."""
        rows = self._rows[self._count :] if self._count else self._rows
        self._rows = []
        self._count = 0
        if self._stream is not None:
            rows = rows + await self._drain()
        return rows

    async def __aiter__(self) -> AsyncIterator[Row]:
        while True:
            row = await self.fetchone()
            if row is None:
                return
            yield row

    async def scalar(self) -> Any:
        """The first column of the next row (None when there is no row)."""
        row = await self.fetchone()
        return None if row is None else row[0]

    async def close(self) -> None:
        """Discard unread rows and release any shard cursors still open. Idempotent."""
        self._rows = []
        self._count = 0
        await self._finish()

    @property
    def streaming(self) -> bool:
        """Whether shard cursors are still open behind this result."""
        return self._stream is not None

    # -- streaming ----------------------------------------------------------------------

    async def materialize(self) -> None:
        """Read the rows still pending on the shards into memory and close the cursors.

        The session calls this before it reuses a connection this result still reads from.
        """
        if self._stream is None:
            return
        pending = self._rows[self._count :]
        self._rows = pending + await self._drain()
        self._count = 0

    async def _next_streamed(self) -> Row | None:
        assert self._stream is not None
        try:
            row = await anext(self._stream)
        except StopAsyncIteration:
            await self._finish(exhausted=True)
            return None
        except BaseException:
            await self._finish()
            raise
        self._produced += 1
        return row

    async def _drain(self) -> list[Row]:
        assert self._stream is not None
        try:
            rows = [row async for row in self._stream]  # sync: rows = list(self._stream)
        except BaseException:
            await self._finish()
            raise
        self._produced += len(rows)
        await self._finish(exhausted=True)
        return rows

    async def _finish(self, *, exhausted: bool = False) -> None:
        closer, self._closer = self._closer, None
        if self._stream is not None and exhausted:
            self.rowcount = self._produced
        self._stream = None
        if closer is not None:
            await closer()

    def __repr__(self) -> str:
        state = (
            "streaming"
            if self._stream is not None
            else f"{len(self._rows) - self._count} rows left"
        )
        where = ", ".join(sorted({t.datasource for t in self.targets}))
        return f"<{type(self).__name__} {state} rowcount={self.rowcount} from {where}>"
