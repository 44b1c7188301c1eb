"""Streaming merge: the rows of several shards combined into the result one database returns.

Written once for both fronts: on the asyncio front the streams are async iterators (pulling
a row may wait for a driver stream's next batch), on the thread front plain iterators or
lists. What compares and combines rows is pure and lives in ``tenantdb.core.merge``; this
module only pulls rows through those decisions, as the caller asks for them.

Each shard ran the variant built by ``core.sql``'s merge variants: ORDER BY keys, GROUP BY
keys and the SUM and COUNT that AVG needs sit in hidden trailing columns, and every shard
got ``LIMIT offset+limit`` with no OFFSET (grouped queries return every group).

Steps, in order:

- not grouped: a k-way merge of the already ordered streams (or the streams one after
  another when there is no ORDER BY), DISTINCT, OFFSET/LIMIT, hidden columns dropped
  (without DISTINCT or WITH TIES, OFFSET's rows are dropped inside the merge itself);
- grouped: rows with equal group keys combined, AVG computed, the groups sorted (stable),
  DISTINCT, OFFSET/LIMIT, hidden columns dropped.

With ``with_ties`` (``FETCH ... WITH TIES``) every shard returned its rows tied with its
last one; after LIMIT rows the merge keeps pulling while the next row's ORDER BY key equals
the last row's, so every row tied with the n-th is returned, as one database would.

Ordering and types follow ``core.merge.RowOrder``: SQL's NULL placement, numbers by value
across types, NaN above every number, and values of one sort column that are not of one
comparable kind refused with :class:`~tenantdb.errors.UnsupportedSQLError`. The check looks
at every row a multi-stream merge or a group sort sees, not only at the pairs it happens to
compare, so whether a query is refused does not depend on which shard holds which row; a
single stream is passed through in its shard's own order, unchecked.

Memory contract:

- an ordered, non-grouped merge holds one pending row per stream (plus whatever each
  stream buffers) and pulls a stream's next row only after its pending row was taken; an
  unordered one holds nothing and reads the streams one after another. Rows are pulled as
  the caller asks for them (plus the rows OFFSET and DISTINCT skip), and once LIMIT rows
  have been returned no stream is pulled again: streams are never drained. Of equal rows,
  the earlier stream's comes first;
- a grouped merge holds one row per group, and reads every stream to its end when the
  first row is asked for;
- DISTINCT holds every distinct row it has returned (or skipped for OFFSET).

The streams are the caller's: this module never closes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import Any

from ..core.merge import MAX_HEAP, MIN_HEAP, DistinctRows, Groups, Row, RowOrder
from ..core.routing import MergePlan
from ..core.sql import SortKey
from ._streams import iter_rows


def merge_rows(plan: MergePlan, streams: Sequence[AsyncIterable[Row]]) -> AsyncIterator[Row]:
    """Merge one row stream per shard into the rows the statement returns, lazily.

    ``streams`` must each be in the shard's ORDER BY order when ``plan.order_by`` is set
    (every shard ran the same ORDER BY). Nothing is pulled from a stream before the first
    row is asked for; see the module docstring for how much is pulled and held.

    Raises :class:`~tenantdb.errors.UnsupportedSQLError` (while iterating) when the shards
    returned values of different types for one ORDER BY column or one aggregate, and
    ``ValueError`` at once for a negative ``limit``, ``offset`` or ``hidden_columns``.
    """
    if plan.offset < 0 or (plan.limit is not None and plan.limit < 0) or plan.hidden_columns < 0:
        raise ValueError("limit, offset and hidden_columns must not be negative")
    if plan.limit == 0:
        return iter_rows(())
    skip = 0
    if plan.group_by is None:
        # OFFSET's rows are dropped as they are merged, not passed on one by one, unless
        # DISTINCT or WITH TIES must see them first.
        skip = 0 if plan.distinct or plan.with_ties else plan.offset
        rows = _merge_ordered(plan.order_by, streams, skip)
    else:
        rows = _merge_groups(plan, streams)
    return _finish(plan, rows, plan.offset - skip)


# -- merging or grouping -------------------------------------------------------------------


def _merge_ordered(
    keys: tuple[SortKey, ...], streams: Sequence[AsyncIterable[Row]], skip: int
) -> AsyncIterator[Row]:
    if not keys or len(streams) == 1:
        # One stream is already in its shard's order: nothing to compare.
        return _one_after_another(streams, skip)
    return _k_way(RowOrder(keys, allow_reverse=MAX_HEAP is not None), streams, skip)


async def _one_after_another(
    streams: Sequence[AsyncIterable[Row]], skip: int
) -> AsyncIterator[Row]:
    """The streams' rows one stream after another, but the first ``skip``."""
    for stream in streams:
        async for row in stream:
            if skip:
                skip -= 1
                continue
            yield row


async def _k_way(
    order: RowOrder, streams: Sequence[AsyncIterable[Row]], skip: int
) -> AsyncIterator[Row]:
    """The rows of streams each ordered by ``order``, in that order, the earlier stream's
    first among equal rows, but the first ``skip``; one pending row per stream, every row
    keyed (and so checked)."""
    heap = MAX_HEAP if order.reverse else MIN_HEAP
    assert heap is not None  # RowOrder reverses only when allowed to
    # A max-heap puts the largest position first among equal keys: count positions down.
    step = -1 if order.reverse else 1
    key = order.key
    # One entry per stream: [sort key, the stream's position, its pending row, the pull of
    # its next row], updated in place. The position breaks ties, so neither rows nor
    # streams are ever compared themselves.
    pending: list[list[Any]] = []
    for position, stream in enumerate(streams):
        pull = stream.__aiter__().__anext__
        try:
            row = await pull()
        except StopAsyncIteration:
            continue
        pending.append([key(row), position * step, row, pull])
    heap.heapify(pending)
    replace = heap.replace  # the loops run once per row: local names are faster
    while skip and pending:  # the same steps as below, the row dropped instead of yielded
        skip -= 1
        top = pending[0]
        try:
            row = await top[3]()
        except StopAsyncIteration:
            heap.pop(pending)
            continue
        top[0] = key(row)
        top[2] = row
        replace(pending, top)
    while pending:
        top = pending[0]
        yield top[2]
        # Pulled only now: its pending row was taken and the caller asked for another.
        try:
            row = await top[3]()
        except StopAsyncIteration:
            heap.pop(pending)
            continue
        top[0] = key(row)
        top[2] = row
        replace(pending, top)


async def _merge_groups(
    plan: MergePlan, streams: Sequence[AsyncIterable[Row]]
) -> AsyncIterator[Row]:
    groups = Groups(plan)
    for stream in streams:
        async for row in stream:
            groups.add(row)
    for row in groups.rows():
        yield row


# -- the steps after merging or grouping ---------------------------------------------------


def _finish(plan: MergePlan, rows: AsyncIterator[Row], offset: int) -> AsyncIterator[Row]:
    """DISTINCT, then ``offset`` (what is left of OFFSET) and LIMIT, then hidden columns."""
    hidden = plan.hidden_columns
    if plan.distinct:
        rows = _distinct(rows, hidden)
    if plan.with_ties and plan.limit is not None and plan.order_by:
        rows = _with_ties(rows, offset, plan.limit, RowOrder(plan.order_by).key)
    elif offset or plan.limit is not None:
        rows = _window(rows, offset, plan.limit)
    if hidden:
        rows = _visible(rows, hidden)
    return rows


async def _window(rows: AsyncIterator[Row], offset: int, limit: int | None) -> AsyncIterator[Row]:
    """OFFSET, then LIMIT rows; never pulls a row past the last one it returns."""
    if limit == 0:
        return
    skipped = 0
    left = limit
    async for row in rows:
        if skipped < offset:
            skipped += 1
            continue
        yield row
        if left is not None:
            left -= 1
            if left == 0:
                return


async def _with_ties(
    rows: AsyncIterator[Row], offset: int, limit: int, key: Callable[[Row], Any]
) -> AsyncIterator[Row]:
    """OFFSET, then LIMIT rows and every following row whose sort key equals the last's."""
    if limit == 0:
        return
    position = 0
    stop = offset + limit
    last_key: Any = None
    async for row in rows:
        if position < stop:
            position += 1
            if position > offset:
                yield row
            if position == stop:
                last_key = key(row)
        elif key(row) == last_key:
            yield row
        else:
            return


async def _distinct(rows: AsyncIterator[Row], hidden: int) -> AsyncIterator[Row]:
    """Keep the first of equal rows (compared on their visible columns)."""
    seen = DistinctRows(hidden)
    async for row in rows:
        if seen.is_new(row):
            yield row


async def _visible(rows: AsyncIterator[Row], hidden: int) -> AsyncIterator[Row]:
    async for row in rows:
        yield row[:-hidden]
