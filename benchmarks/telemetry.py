"""What telemetry costs on a point read (issue 18: at most 0.3 µs when OpenTelemetry is not
installed or has no tracer provider).

Run with ``.venv/bin/python benchmarks/telemetry.py`` (``make bench-more`` runs it). Clusters
over one SQLite file (the cheapest statement, so telemetry's share shows most), one tenant
session each, measured alternately batch by batch in one run:

- ``bare``: a session whose telemetry wrapper is replaced by a plain call (no telemetry
  code at all): the baseline every other row is compared with;
- ``off``: ``[telemetry] tracing = false, slow_statement = "off"`` (the wrapper still reads
  the clock and checks that nothing watches);
- ``default``: the defaults (tracing on, slow-statement log at 1 s) with OpenTelemetry not
  imported; then again after ``import opentelemetry.trace`` with no provider set;
- ``metrics``: the default plus a Prometheus collector attached (statement metrics kept);
- ``spans``: a tracer provider with an in-memory exporter passed to ``connect`` (every
  statement makes and exports a span), for information.

Prints the medians (µs of this process's CPU time per read, ``time.process_time``, so a
busy machine's other processes do not count) and each one's difference to ``bare``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import tenantdb

ROWS = 1_000
TARGET_US = 0.3


def document(path: str, **telemetry: Any) -> dict[str, Any]:
    return {
        "dialect": "sqlite",
        "datasources": {"ds0": {"url": f"sqlite:///{path}", "breaker": {"enabled": False}}},
        "tables": {"items": {"strategy": "tenant"}},
        "tenants": {"t": {"datasource": "ds0"}},
        "telemetry": telemetry,
    }


def cpu_us_per_call(fn: Callable[[int], object], batch: int) -> float:
    """CPU time of this process per call (µs): SQLite runs in the process, so this is the
    whole read, and other processes on a busy machine do not count."""
    start = time.process_time_ns()
    for i in range(batch):
        fn(i)
    return (time.process_time_ns() - start) / batch / 1000


def measure(readers: dict[str, Any], repeats: int) -> dict[str, float]:
    for read in readers.values():
        cpu_us_per_call(read, 500)
    samples: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(repeats):
        for name, read in readers.items():
            samples[name].append(cpu_us_per_call(read, 2_000))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="tenantdb-bench-telemetry-")
    path = f"{directory}/telemetry.db"
    sql = "SELECT id, name FROM items WHERE id = %s"
    try:
        clusters = {
            "bare": tenantdb.connect(document(path, tracing=False, slow_statement=None)),
            "off": tenantdb.connect(document(path, tracing=False, slow_statement=None)),
            "default": tenantdb.connect(document(path)),
        }
        with clusters["off"].session(admin=True) as admin:
            admin.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, tenant_id TEXT, name TEXT)")
        with clusters["off"].session(tenant="t") as session:
            session.executemany(
                "INSERT INTO items (id, name) VALUES (%s, %s)",
                [(i, f"item {i}") for i in range(ROWS)],
            )

        def reader(cluster: Any) -> Any:
            session = cluster.session(tenant="t")
            if cluster is clusters["bare"]:
                # The wrapper's call stays (the session's shape); its telemetry goes.
                session._observed = lambda run, sql, params, args: run(*args, None)
            return lambda i: session.execute(sql, (i % ROWS,)).fetchall()

        assert "opentelemetry.trace" not in sys.modules
        first = measure({name: reader(c) for name, c in clusters.items()}, args.repeats)
        report("everything off", first, "off", target=False)
        report("OpenTelemetry not imported", first, "default")

        import opentelemetry.trace  # noqa: F401  (imported, no provider set)
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )

        from tenantdb.telemetry import prometheus_collector

        clusters["metrics"] = tenantdb.connect(document(path))
        prometheus_collector(clusters["metrics"])
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        clusters["spans"] = tenantdb.connect(document(path), tracer_provider=provider)
        second = measure({name: reader(c) for name, c in clusters.items()}, args.repeats)
        report("OpenTelemetry imported, no tracer provider", second, "default")
        report(
            "statement metrics kept (Prometheus collector attached)",
            second,
            "metrics",
            target=False,
        )
        report("a span per read (SDK, in-memory exporter)", second, "spans", target=False)
        print(f"({args.repeats} alternating batches of 2,000 reads per row)")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def report(label: str, medians: dict[str, float], name: str, *, target: bool = True) -> None:
    added = medians[name] - medians["bare"]
    verdict = ""
    if target:
        verdict = f" (target <= {TARGET_US:g} µs: {'MET' if added <= TARGET_US else 'NOT MET'})"
    print(
        f"{label}: bare {medians['bare']:.2f} µs, {name} {medians[name]:.2f} µs, "
        f"added {added:+.2f} µs{verdict}"
    )


if __name__ == "__main__":
    main()
