"""A move's copy by ``COPY`` on PostgreSQL: a chunk read from the source as the server's
own bytes and inserted into the target's table in one ``COPY ... FROM STDIN``.

Both statements run on the move's admin session (``Session.copy_out_on`` /
``copy_in_on``), so the insert joins the transaction that also writes the chunk's log
entry: a chunk's rows and the cursor past them commit together, or neither does (a mover
killed mid-chunk leaves nothing of it). Why a plain insert is safe there, and what happens
when a key of the chunk is on the target already, is in ``core.moves`` (``copy_in``).

Which tables travel so, and how, is decided once per table (``CopyPlanner``, from
``copy_format``): the two copies must have the same column types; then text ``COPY``
where the servers print and parse values alike (one scan of the source per chunk: the
chunk's last key is in its last line), else binary ``COPY`` for built-in types (the
chunk's last key read first). Any other table is copied by the mover's upsert (``_move``).

While the mover writes a chunk, the next one is read on a second session and thread
(``ChunkPrefetch``), so the source's read and the target's write overlap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from .._sync import Session
from ..core.moves import (
    CopyFormat,
    MovedTable,
    copy_chunk_bound,
    copy_format,
    copy_in,
    copy_out_chunk,
    copy_out_page,
    key_from_text,
    last_copied_key,
)
from ..core.routing import quote_identifier
from ..core.verify import TableShape
from ._catalog import query_on

_TYPES = (
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid::bigint"
    " FROM pg_attribute a"
    " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped"
)

Chunk = tuple[int, tuple[object, ...], bool, Callable[[], None]]
"""What reading a chunk gives the mover: how many rows, the key the next chunk starts
after (empty: none yet), whether it is the table's last, and what writes the rows to the
target (inside the mover's transaction)."""


@dataclass(frozen=True, slots=True)
class CopyPlan:
    """How one table's chunks travel: ``format`` of both ``COPY`` statements, the
    target's ``COPY ... FROM STDIN`` (``into``), and the statement that types the text of
    a chunk's last key (``key``)."""

    format: CopyFormat
    into: str
    key: str


class CopyPlanner:
    """Decides, once per table, whether its chunks travel by ``COPY`` (``plan``), and
    reads a chunk so (``read_chunk``). ``texts_agree`` says whether the two servers print
    and parse values alike."""

    def __init__(
        self, session: Session, source: str, target: str, texts_agree: Callable[[], bool]
    ) -> None:
        self._session = session
        self._source = source
        self._target = target
        self._texts_agree = texts_agree
        self._plans: dict[tuple[str, str | None], CopyPlan | None] = {}

    def __repr__(self) -> str:
        planned = sum(plan is not None for plan in self._plans.values())
        return (
            f"<CopyPlanner {self._source} -> {self._target} [{planned} of"
            f" {len(self._plans)} tables by COPY]>"
        )

    def plan(self, table: MovedTable) -> CopyPlan | None:
        """The table's ``CopyPlan``, or None when it must be copied by upsert."""
        name = (table.target, table.target_schema)
        if name not in self._plans:
            here = self._types(self._source, table.source, table.source_schema)
            there = self._types(self._target, table.target, table.target_schema)
            chosen = copy_format(here, there, table.columns, texts_agree=self._texts_agree())
            self._plans[name] = (
                None
                if chosen is None
                else CopyPlan(
                    chosen,
                    copy_in(table.target, table.target_schema, table.columns, chosen),
                    key_from_text([there[k][0] for k in table.key]),
                )
            )
        return self._plans[name]

    def _types(self, datasource: str, table: str, schema: str | None) -> dict[str, tuple[str, int]]:
        """Each column's type on ``datasource``: its ``format_type`` spelling and oid."""
        relation = ".".join(
            quote_identifier(part, "postgres") for part in (*((schema,) if schema else ()), table)
        )
        found = query_on(self._session, datasource)(_TYPES, (relation,))
        return {str(column): (str(spelled), int(oid)) for column, spelled, oid in found}

    def read_chunk(
        self,
        plan: CopyPlan,
        shape: TableShape,
        after: tuple[object, ...] | None,
        size: int,
        *,
        reader: Session | None = None,
    ) -> Chunk:
        """The next ``size`` rows after the key ``after`` (None: from the first), copied
        out of the source through ``reader`` (default: the planner's session); fewer than
        ``size``: the table's last chunk (rows written after it was read are the
        capture's, as for any chunk). Its write runs on the planner's session."""
        on = self._session if reader is None else reader
        if plan.format == "text":
            return self._read_text(on, plan, shape, after, size)
        return self._read_binary(on, plan, shape, after, size)

    def _read_text(
        self,
        on: Session,
        plan: CopyPlan,
        shape: TableShape,
        after: tuple[object, ...] | None,
        size: int,
    ) -> Chunk:
        """One scan: the page's rows in key order, its last key parsed from its last line
        by the source (a tiny statement, no table read)."""
        sql, params = copy_out_page(shape, after, size, "text")
        data, count = on.copy_out_on(self._source, sql, params)
        texts = last_copied_key(data, len(shape.key))
        last: tuple[object, ...] = ()
        if texts is not None:
            (typed,) = on.execute_on(self._source, plan.key, texts).fetchall()
            last = tuple(typed)
        return count, last, count < size, self._writer(plan, count, data)

    def _read_binary(
        self,
        on: Session,
        plan: CopyPlan,
        shape: TableShape,
        after: tuple[object, ...] | None,
        size: int,
    ) -> Chunk:
        """Two statements: the chunk's last key (``copy_chunk_bound``), then the rows up
        to it. No such key: fewer rows are left, and every one above ``after`` is copied,
        the table's last chunk."""
        sql, params = copy_chunk_bound(shape, after, size)
        bound = on.execute_on(self._source, sql, params).fetchall()
        upto = tuple(bound[0]) if bound else None
        sql, params = copy_out_chunk(shape, after, upto, plan.format)
        data, count = on.copy_out_on(self._source, sql, params)
        return count, upto or after or (), upto is None, self._writer(plan, count, data)

    def _writer(self, plan: CopyPlan, count: int, data: bytes) -> Callable[[], None]:
        target, into = self._target, plan.into

        def write() -> None:
            if count:
                self._session.copy_in_on(target, into, data)

        return write


class ChunkPrefetch:
    """Reads a table's next chunk from the source while the mover writes the one before:
    on a thread of its own, through a session of its own (``open_reader``, opened on
    first use; ``close`` waits for the read under way and closes it), so the source's
    read and the target's write overlap. A read is used only by the chunk it was started
    for (the same table and cursor); any other is discarded. A read ahead does not wait
    for the source's lagging replicas as the mover does before each chunk: it reads at
    most one chunk more. Use from one thread."""

    def __init__(self, planner: CopyPlanner, open_reader: Callable[[], Session]) -> None:
        self._planner = planner
        self._open_reader = open_reader
        self._reader: Session | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: tuple[tuple[str, tuple[object, ...] | None], Future[Chunk]] | None = None

    def __repr__(self) -> str:
        state = "closed" if self._pool is None else "reading ahead" if self._ahead else "idle"
        return f"<ChunkPrefetch {state}>"

    def next_chunk(
        self, plan: CopyPlan, shape: TableShape, after: tuple[object, ...] | None, size: int
    ) -> Chunk:
        """The chunk of ``size`` rows after ``after`` (read ahead already, when it was
        started for that cursor: then of the size asked then); the read of the one after
        it starts before this returns, unless this is the table's last."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == (shape.qualified, after):
            chunk = ahead[1].result()
        else:
            if ahead is not None:
                _settle(ahead[1])
            chunk = self._start(plan, shape, after, size).result()
        count, last, done, _ = chunk
        if not done and count:
            self._ahead = ((shape.qualified, last), self._start(plan, shape, last, size))
        return chunk

    def _start(
        self, plan: CopyPlan, shape: TableShape, after: tuple[object, ...] | None, size: int
    ) -> Future[Chunk]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="tenantdb-move-read")
        return self._pool.submit(self._read, plan, shape, after, size)

    def _read(
        self, plan: CopyPlan, shape: TableShape, after: tuple[object, ...] | None, size: int
    ) -> Chunk:
        # Only ever on the pool's one thread: the reader session is used by it alone.
        if self._reader is None:
            self._reader = self._open_reader()
        return self._planner.read_chunk(plan, shape, after, size, reader=self._reader)

    def close(self) -> None:
        """Wait for the read under way (its result unused), then close the reader's
        session and thread. Idempotent."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            _settle(ahead[1])
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()


def _settle(read: Future[Chunk]) -> None:
    """Wait for a read whose chunk is not wanted; what it raised does not matter."""
    with contextlib.suppress(Exception):
        read.result()
