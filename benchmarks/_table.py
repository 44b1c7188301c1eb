"""Rows of the performance table (issue 16), reported by the benchmarks that measure them.

Each benchmark calls :func:`report` once per row it measures: the line is printed at once,
and when ``TENANTDB_BENCH_TABLE`` names a file (``benchmarks/table.py`` sets it) the row is
also appended there as one JSON object, so the table can be printed whole after every
benchmark has run in a process of its own.

A row compares tenantdb with the raw side measured in the same run (``raw`` and ``ours`` in
one ``unit``); ``ratio`` is ``ours / raw`` unless the benchmark gives it (throughput rows
give ``ours / raw`` of reads per second, where higher is better). ``target`` is the issue's
wording ("<= 3x", ">= 0.90x", "<= 5 ms") and ``met`` whether this run met it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

TABLE_FILE = "TENANTDB_BENCH_TABLE"

ORDER = (
    "threads, one session per thread, PostgreSQL",
    "threads, a new session per read, PostgreSQL",
    "point SELECT, SQLite",
    "point SELECT, PostgreSQL",
    "point SELECT, MariaDB",
    "ORDER BY x LIMIT 10, 16 shards",
    "ORDER BY x LIMIT 10 OFFSET 50000, 16 shards",
    "COUNT/SUM/MIN/MAX, 16 shards",
    "COUNT/SUM/MIN/MAX GROUP BY, 16 shards",
    "fresh process: import + connect + first row",
    "import tenantdb over import psycopg",
    "scan over daily tables, cached",
    "parse + route a new SQL text",
    "cached point route",
    "unknown tenant id lookup",
    "registry change seen by another process, p99, PostgreSQL",
)
"""The rows in the order the issue lists them; ``report`` refuses a name not here."""


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    raw: float | None
    ours: float
    unit: str
    ratio: float | None
    target: str
    met: bool | None
    detail: str = ""


def report(
    name: str,
    *,
    raw: float | None,
    ours: float,
    unit: str,
    target: str,
    met: bool | None,
    ratio: float | None = None,
    detail: str = "",
) -> Row:
    """Print one row and, under ``benchmarks/table.py``, record it for the whole table."""
    if name not in ORDER:
        raise ValueError(f"unknown table row {name!r}; add it to benchmarks/_table.py ORDER")
    if ratio is None and raw:
        ratio = ours / raw
    row = Row(name, raw, ours, unit, ratio, target, met, detail)
    print(f"  [table] {format_row(row)}", flush=True)
    path = os.environ.get(TABLE_FILE)
    if path:
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps(asdict(row)) + "\n")
    return row


def format_row(row: Row) -> str:
    raw = "—" if row.raw is None else f"{row.raw:,.4g} {row.unit}"
    ratio = "—" if row.ratio is None else f"{row.ratio:.2f}x"
    verdict = {True: "MET", False: "NOT MET", None: "not judged"}[row.met]
    detail = f" ({row.detail})" if row.detail else ""
    return (
        f"| {row.name} | {raw} | {row.ours:,.4g} {row.unit} | {ratio} | {row.target} "
        f"| {verdict}{detail} |"
    )
