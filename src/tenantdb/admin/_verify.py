"""``verify_copies``: compare two copies of one table's rows, chunk by chunk, resumably.

The engine every verify runs (replicas, broadcast copies, and later a moved tenant's
source and target). Chunks follow the source's primary key (keyset pagination); for each
chunk both copies compute ``(row count, checksum)`` inside the database, and only a chunk
whose summaries differ is read row by row and compared as typed values
(``tenantdb.core.verify``). Chunk sizes adapt to take about ``target_chunk_s`` each.

Resuming: with a ``progress`` path, the report so far and the key where the next chunk
starts are written there (atomically: a temporary file renamed over it) after every
chunk, so a run killed at any point starts again at the first chunk it had not finished
and ends with the report an uninterrupted run gives. The file is removed when the run
completes: the next run starts from the beginning.

What it does not promise: the copies are read chunk by chunk, not from one snapshot, so
rows written while verify runs may be reported as differences (read the samples again,
or verify while writes are stopped, as a move's freeze does).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..core.verify import (
    ChunkDiff,
    ChunkSizer,
    KeyRange,
    LagThrottle,
    TableReport,
    TableShape,
    canonical_row,
    decode_key,
    diff_rows,
    encode_key,
    encode_value,
)
from ..errors import OperationalError
from ._catalog import Query

LagReading = Callable[[], float | None]
"""Seconds a replica copy is behind its primary now (None: not known, or not a replica)."""


@dataclass(frozen=True, slots=True)
class TableCopy:
    """One copy of a table's rows: ``shape`` says what to read (table, key, columns, row
    filter), ``query`` runs a statement where the copy lives, ``label`` names it in
    reports (``ds0``, ``ds0/replica0``), and ``lag`` reads a replica copy's lag (None for
    a primary)."""

    label: str
    shape: TableShape
    query: Query
    lag: LagReading | None = None


class Repair(Protocol):
    """Brings the target's rows of one chunk to the source's (``--repair``)."""

    def __call__(self, run: str, diff: ChunkDiff, source_rows: Sequence[Sequence[object]]) -> int:
        """Repair what ``diff`` found in run ``run`` (``TableReport.run``); return how many
        rows were changed now."""
        ...


ChunkListener = Callable[[TableReport, KeyRange], None]
"""Called after every finished (and recorded) chunk with the report so far."""


def run_id(source: TableCopy, target: TableCopy) -> str:
    """The identity of a comparison: the same copies, table and filter give the same id,
    so a rerun finds the progress of a killed run."""
    shape = source.shape
    described = [
        source.label,
        target.label,
        shape.schema,
        shape.table,
        target.shape.schema,
        target.shape.table,
        shape.where,
        [encode_value(v) for v in shape.where_params],
    ]
    return hashlib.sha256(json.dumps(described, default=str).encode()).hexdigest()[:16]


def verify_copies(
    source: TableCopy,
    target: TableCopy,
    *,
    progress: Path | None = None,
    chunk_rows: int | None = None,
    target_chunk_s: float = 0.5,
    sample_limit: int = 10,
    max_lag_s: float = 5.0,
    lag_give_up_s: float = 600.0,
    row_compare_rows: int = 1000,
    repair: Repair | None = None,
    on_chunk: ChunkListener | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> TableReport:
    """Compare ``target``'s rows with ``source``'s and return the report.

    ``chunk_rows`` fixes the rows per chunk (default: adaptive, starting at 1000, aiming
    at ``target_chunk_s`` seconds per chunk). Before each chunk, while a copy with a
    ``lag`` reading is more than ``max_lag_s`` behind, verify waits (polling every
    second), and raises ``OperationalError`` after ``lag_give_up_s`` (progress kept).
    A differing chunk is read row by row when it holds at most ``row_compare_rows``
    source rows, else split into parts of that size whose summaries are compared first.
    ``repair`` is called for each key range read row by row that differs, before its
    chunk is recorded as done. ``progress``: see the module docstring; the file holds
    one run of these copies (a file of another run is refused).

    Raises ``ValueError`` when the copies' shapes do not match (other key or columns),
    and the tenantdb error of a failed statement (progress kept).
    """
    _check_shapes(source.shape, target.shape)
    identity = run_id(source, target)
    report, lower, sizer = _start(identity, source, target, progress, chunk_rows, sample_limit)
    sizer.target_s = target_chunk_s
    throttle = LagThrottle(max_lag_s, give_up_s=lag_give_up_s)
    while True:
        _wait_for_replicas((source, target), throttle, clock, sleep)
        started = clock()
        upper = _next_upper(source, lower, sizer.rows)
        keys = KeyRange(lower, upper)
        rows = _compare_chunk(source, target, keys, report, repair, row_compare_rows)
        sizer.observe(rows, clock() - started)
        lower = upper
        if progress is not None:
            if upper is None:
                with contextlib.suppress(FileNotFoundError):
                    progress.unlink()
            else:
                _save(progress, identity, report, upper, sizer.rows)
        if on_chunk is not None:
            on_chunk(report, keys)
        if upper is None:
            return report


def verify_keys(
    source: TableCopy,
    target: TableCopy,
    keys: Sequence[Sequence[object]],
    *,
    batch_size: int = 500,
) -> ChunkDiff:
    """Compare only the rows with the given primary keys (a key missing from both copies
    counts nowhere), reading ``batch_size`` keys per statement: the re-check of the keys
    a verify reported, or of the keys changed since a verified point (a tenant move's
    final check). Raises ``ValueError`` when the copies' shapes do not match."""
    _check_shapes(source.shape, target.shape)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    width = len(source.shape.key)
    source_rows: list[tuple[object, ...]] = []
    target_rows: list[tuple[object, ...]] = []
    unique = list({canonical_row(key): tuple(key) for key in keys}.values())
    for start in range(0, len(unique), batch_size):
        batch = unique[start : start + batch_size]
        source_rows += source.query(*source.shape.rows_with_keys(batch))
        target_rows += target.query(*target.shape.rows_with_keys(batch))
    return diff_rows(width, source_rows, target_rows)


def _check_shapes(source: TableShape, target: TableShape) -> None:
    if source.key != target.key or set(source.columns) != set(target.columns):
        only_source = sorted(set(source.columns) - set(target.columns))
        only_target = sorted(set(target.columns) - set(source.columns))
        raise ValueError(
            f"table {source.table!r} differs in shape between the copies: primary key "
            f"{list(source.key)} against {list(target.key)}, columns only in the source "
            f"{only_source}, only in the target {only_target}; bring the schemas together "
            "(tenantdb ddl) before verifying the rows"
        )


def _start(
    identity: str,
    source: TableCopy,
    target: TableCopy,
    progress: Path | None,
    chunk_rows: int | None,
    sample_limit: int,
) -> tuple[TableReport, tuple[object, ...] | None, ChunkSizer]:
    """The report, next lower bound and sizer: from the progress file when it holds a
    killed run of these copies, else fresh."""
    sizer = ChunkSizer.fixed(chunk_rows) if chunk_rows is not None else ChunkSizer()
    fresh = TableReport(source.shape.table, source.label, target.label, sample_limit)
    fresh.run = f"{identity}-{secrets.token_hex(4)}"
    if progress is None or not progress.exists():
        return fresh, None, sizer
    state = json.loads(progress.read_text(encoding="utf-8"))
    if state.get("run") != identity:
        raise ValueError(
            f"{progress} holds the progress of another verify run ({state.get('run')!r}, "
            f"this one is {identity!r}); give this run its own progress file, or delete it "
            "to start over"
        )
    if chunk_rows is None:
        sizer.rows = max(sizer.min_rows, min(sizer.max_rows, int(state["chunk_rows"])))
    return TableReport.from_state(state["report"]), decode_key(state["lower"]), sizer


def _save(
    path: Path, identity: str, report: TableReport, lower: tuple[object, ...], rows: int
) -> None:
    """Write the progress so a crash at any instant leaves the old file or the new one."""
    state = {"run": identity, "lower": encode_key(lower), "chunk_rows": rows}
    state["report"] = report.to_state()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(state, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _wait_for_replicas(
    copies: Sequence[TableCopy],
    throttle: LagThrottle,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    for copy in copies:
        if copy.lag is None:
            continue
        began = clock()
        while True:
            try:
                pause = throttle.pause(copy.lag(), clock() - began)
            except TimeoutError as exc:
                raise OperationalError(f"{copy.label}: {exc}") from None
            if pause is None:
                break
            sleep(pause)


def _next_upper(
    source: TableCopy, lower: tuple[object, ...] | None, rows: int
) -> tuple[object, ...] | None:
    found = source.query(*source.shape.boundary(lower, rows))
    return tuple(found[0]) if found else None


def _summary(copy: TableCopy, keys: KeyRange) -> tuple[int, str]:
    ((count, checksum),) = copy.query(*copy.shape.checksum(keys))
    return int(count), str(checksum)


def _compare_chunk(
    source: TableCopy,
    target: TableCopy,
    keys: KeyRange,
    report: TableReport,
    repair: Repair | None,
    row_compare_rows: int,
) -> int:
    """Compare one chunk into ``report``; return the source rows it held.

    A differing chunk of more than ``row_compare_rows`` source rows is first split into
    parts of that many rows, each summarised again, so one changed row costs reading a
    part, not the whole chunk.
    """
    ours = _summary(source, keys)
    if ours == _summary(target, keys):
        report.add_equal_rows(ours[0])
    elif ours[0] <= row_compare_rows:
        _compare_rows(source, target, keys, report, repair)
    else:
        for part in _parts(source, keys, row_compare_rows):
            mine = _summary(source, part)
            if mine == _summary(target, part):
                report.add_equal_rows(mine[0])
            else:
                _compare_rows(source, target, part, report, repair)
    report.chunks += 1
    return ours[0]


def _parts(source: TableCopy, keys: KeyRange, rows: int) -> Iterator[KeyRange]:
    """Consecutive key ranges of ``rows`` source rows covering ``keys`` exactly."""
    lower = keys.lower
    while True:
        found = source.query(*source.shape.boundary(lower, rows, keys.upper))
        upper = tuple(found[0]) if found else keys.upper
        yield KeyRange(lower, upper)
        if not found or upper == keys.upper:
            return
        lower = upper


def _compare_rows(
    source: TableCopy,
    target: TableCopy,
    keys: KeyRange,
    report: TableReport,
    repair: Repair | None,
) -> None:
    source_rows = source.query(*source.shape.rows(keys))
    target_rows = target.query(*target.shape.rows(keys))
    diff = diff_rows(len(source.shape.key), source_rows, target_rows)
    if repair is not None and (diff.mismatched or diff.extra_source or diff.extra_target):
        report.repaired += repair(report.run, diff, source_rows)
    report.add_diff(diff)


def progress_path(directory: Path, source: TableCopy, target: TableCopy) -> Path:
    """Where a run of these copies keeps its progress under ``directory``."""
    return directory / f"verify-{run_id(source, target)}.json"


def report_data(reports: Sequence[TableReport]) -> dict[str, Any]:
    """Reports of one verify as JSON-ready data: ``equal`` over all, and each table's."""
    return {
        "equal": all(r.equal for r in reports),
        "tables": [r.to_dict() for r in reports],
    }


__all__ = [
    "ChunkListener",
    "LagReading",
    "Repair",
    "TableCopy",
    "progress_path",
    "report_data",
    "run_id",
    "verify_copies",
    "verify_keys",
]
