"""Merge cost: tenantdb's k-way merge of sorted shard rows beside ``heapq.merge``, no database.

Run with ``.venv/bin/python benchmarks/merge.py`` (``--quick`` for a smoke run, ``--rows``
and ``--repeat`` to change the size). Each case builds 16 sorted runs of ``--rows`` rows
``(id, x)`` (or ``(id, x, y)`` for two keys), already in memory as the thread front's
``merge_rows`` gets them from a plain fetch, and times three ways of merging them:

- **tenantdb**: ``tenantdb._sync.merge_rows`` with the case's merge plan (every row's sort
  value checked and ordered by SQL's rules);
- **heapq key**: ``heapq.merge(*runs, key=...)`` with an ``itemgetter`` key (a lambda where
  NULLs need a rank), ``reverse=True`` for DESC; it checks nothing;
- **floor**: ``heapq.merge(*runs)`` over runs whose rows were keyed beforehand (tuples that
  Python compares natively in the wanted order): the heap's own cost.

Two figures per way: the first 50,010 merged rows (the plan ``LIMIT 10 OFFSET 50000`` of
the scatter benchmark, 16 shards), and the whole merge. The ways run interleaved in each
batch (their order rotating), and the medians of ``--repeat`` batches of the thread's CPU
time (``time.thread_time_ns``: nothing here waits, so other processes on a shared machine
inflate it less than wall-clock time) are printed with ``tenantdb ÷ heapq key`` and
``tenantdb ÷ floor``. Read ratios, not times, and compare figures from one run only.

No row of issue 16's table is measured here (that is the end-to-end 16-shard ORDER BY in
``benchmarks/scatter.py``); this isolates the merge's share of it.
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from typing import Any

from tenantdb._sync import merge_rows
from tenantdb.core.routing import MergePlan
from tenantdb.core.sql import SortKey

Row = tuple[Any, ...]
SHARDS = 16
FIRST = 50_010  # LIMIT 10 OFFSET 50000


@dataclass(frozen=True)
class Case:
    name: str
    keys: tuple[SortKey, ...]
    value: Callable[[random.Random], Any]  # one sort value (x; x and y for two keys)
    heapq_key: Callable[[Row], Any]  # what heapq.merge's key= gets
    floor_key: Callable[[Row], Any]  # the pre-keyed tuple, compared natively
    reverse: bool = False


def _text(rng: random.Random) -> str:
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=8))


def _int_or_null(rng: random.Random) -> int | None:
    return None if rng.random() < 0.1 else rng.randrange(10**9)


def _nulls_last(row: Row) -> tuple[bool, int]:
    x = row[1]
    return (True, 0) if x is None else (False, x)


CASES = (
    Case(
        "int x ASC",
        (SortKey(1, False, False),),
        lambda rng: rng.randrange(10**9),
        itemgetter(1),
        lambda row: (row[1], row[0]),
    ),
    Case(
        "float x ASC",
        (SortKey(1, False, False),),
        lambda rng: rng.random(),
        itemgetter(1),
        lambda row: (row[1], row[0]),
    ),
    Case(
        "text x ASC",
        (SortKey(1, False, False),),
        _text,
        itemgetter(1),
        lambda row: (row[1], row[0]),
    ),
    Case(
        "int x ASC, 10% NULLs last",
        (SortKey(1, False, False),),
        _int_or_null,
        _nulls_last,
        lambda row: (*_nulls_last(row), row[0]),
    ),
    Case(
        "int x DESC",
        (SortKey(1, True, False),),
        lambda rng: rng.randrange(10**9),
        itemgetter(1),
        lambda row: (row[1], row[0]),
        reverse=True,
    ),
    Case(
        "text x DESC",
        (SortKey(1, True, False),),
        _text,
        itemgetter(1),
        lambda row: (row[1], row[0]),
        reverse=True,
    ),
    Case(
        "int x, text y ASC",
        (SortKey(1, False, False), SortKey(2, False, False)),
        lambda rng: (rng.randrange(1000), _text(rng)),
        itemgetter(1, 2),
        lambda row: (row[1], row[2], row[0]),
    ),
)


def build_runs(case: Case, rows: int, seed: int) -> list[list[Row]]:
    rng = random.Random(seed)
    runs = []
    for shard in range(SHARDS):
        run: list[Row] = []
        for i in range(rows):
            value = case.value(rng)
            values = value if isinstance(value, tuple) else (value,)
            run.append((shard * rows + i, *values))
        run.sort(key=case.heapq_key, reverse=case.reverse)
        runs.append(run)
    return runs


def consume(rows: Iterable[Any], count: int | None) -> None:
    deque(rows if count is None else islice(rows, count), maxlen=0)


def ways(case: Case, runs: list[list[Row]], keyed: list[list[Row]]) -> dict[str, Any]:
    whole = MergePlan(order_by=case.keys)
    first = MergePlan(order_by=case.keys, limit=10, offset=FIRST - 10)

    def ours(count: int | None) -> Iterator[Row]:
        return merge_rows(whole if count is None else first, runs)

    def with_key(count: int | None) -> Iterator[Row]:
        return heapq.merge(*runs, key=case.heapq_key, reverse=case.reverse)

    def floor(count: int | None) -> Iterator[Row]:
        return heapq.merge(*keyed, reverse=case.reverse)

    return {"tenantdb": ours, "heapq key": with_key, "floor": floor}


def measure(case: Case, rows: int, repeat: int) -> None:
    runs = build_runs(case, rows, seed=16)
    keyed = [[case.floor_key(row) for row in run] for run in runs]
    # Check the three agree before timing them.
    expected = list(islice(heapq.merge(*runs, key=case.heapq_key, reverse=case.reverse), FIRST))
    got = list(merge_rows(MergePlan(order_by=case.keys, limit=FIRST), runs))
    assert [row[1:] for row in got] == [row[1:] for row in expected], case.name
    named = ways(case, runs, keyed)
    print(f"\n{case.name}: {SHARDS} runs x {rows:,} rows", flush=True)
    for label, count in (("first 50,010 rows", FIRST), ("whole merge", None)):
        times: dict[str, list[float]] = {name: [] for name in named}
        names = list(named)
        for batch in range(repeat):
            shift = batch % len(names)
            for name in names[shift:] + names[:shift]:
                start = time.thread_time_ns()
                consume(named[name](count), None if count is None else count)
                times[name].append((time.thread_time_ns() - start) / 1e6)
        medians = {name: statistics.median(values) for name, values in times.items()}
        spread = {name: (min(v), max(v)) for name, v in times.items()}
        ours = medians["tenantdb"]
        print(
            f"  {label:18} tenantdb {ours:8.1f} ms ({spread['tenantdb'][0]:.1f}-"
            f"{spread['tenantdb'][1]:.1f})  heapq key {medians['heapq key']:8.1f} ms  "
            f"floor {medians['floor']:8.1f} ms  | tenantdb/heapq key "
            f"{ours / medians['heapq key']:.2f}x  tenantdb/floor {ours / medians['floor']:.2f}x",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows per run (16 runs)")
    parser.add_argument("--repeat", type=int, default=5, help="batches per figure")
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--case", action="append", help="only cases whose name has this")
    args = parser.parse_args()
    rows, repeat = (5_000, 2) if args.quick else (args.rows, args.repeat)
    for case in CASES:
        if args.case and not any(part in case.name for part in args.case):
            continue
        measure(case, rows, repeat)


if __name__ == "__main__":
    main()
