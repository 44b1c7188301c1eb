"""The whole performance table of issue 16: every row as tenantdb ÷ raw, from one run.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/table.py``; ``--quick`` passes the
smoke-run option to every benchmark that has one). Each benchmark below runs in a process of
its own, one after another, measuring its raw side and tenantdb side by side in that process
and reporting its rows through ``benchmarks/_table.py``; their own detailed output is printed
as it comes. The table at the end lists the rows in the issue's order; a row no benchmark
reported (its backend did not answer, or the script failed) says so.

The machine may be shared: the ratios hold within one run, absolute times do not travel.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _table import ORDER, TABLE_FILE, Row, format_row

HERE = Path(__file__).resolve().parent

BENCHMARKS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    # script, its arguments, and the arguments added by --quick
    ("concurrency.py", (), ("--quick",)),
    ("execution.py", (), ("--quick",)),
    ("scatter.py", (), ("--quick",)),
    ("startup.py", (), ("--quick",)),
    ("routing.py", (), ("--quick",)),
    ("registry.py", ("--only", "propagation"), ("--quick",)),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run: small counts")
    args = parser.parse_args()
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="tenantdb-bench-table-") as directory:
        rows_file = Path(directory) / "rows.jsonl"
        rows_file.touch()
        environment = {**os.environ, TABLE_FILE: str(rows_file)}
        for script, arguments, quick in BENCHMARKS:
            command = [sys.executable, str(HERE / script), *arguments]
            if args.quick:
                command += quick
            print(f"\n=== {' '.join([script, *command[2:]])}", flush=True)
            if subprocess.run(command, env=environment, check=False).returncode != 0:
                failed.append(script)
        rows = [Row(**json.loads(line)) for line in rows_file.read_text().splitlines()]
    by_name = {row.name: row for row in rows}  # a row reported twice: the last one counts
    print("\nIssue 16's table, this run (tenantdb ÷ raw; throughput rows: reads/s ratio):")
    print("| measurement | raw | tenantdb | ratio | target | verdict |")
    print("|---|---|---|---|---|---|")
    for name in ORDER:
        row = by_name.get(name)
        print(format_row(row) if row else f"| {name} | — | — | — | — | not measured |")
    if failed:
        print(f"\nfailed: {', '.join(failed)} (see their output above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
