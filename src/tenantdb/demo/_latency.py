"""Latency and outcome bookkeeping for the workload: one Recorder per thread, merged after.

Times are ``time.perf_counter`` seconds. A *statement* is one ``Session.execute`` call
(routing, the driver round trips and, for multi-shard reads, fetching and merging every
row); a *request* is one unit of the workload (a checkout is several statements plus the
COMMIT), timed from opening its session to closing it.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .._sync import Result, Session
from ..core.routing import Params


def percentile(sorted_values: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile of ascending ``sorted_values`` (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], not {percent}")
    rank = math.ceil(percent / 100 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]


@dataclass(slots=True)
class Recorder:
    """What one worker thread did. Not shared between threads."""

    statements: list[float] = field(default_factory=list)
    requests: dict[str, list[float]] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def execute(self, session: Session, sql: str, params: Params = None) -> Result:
        """``session.execute`` with its latency recorded (failed statements count too)."""
        start = time.perf_counter()
        try:
            return session.execute(sql, params)
        finally:
            self.statements.append(time.perf_counter() - start)

    def request(self, kind: str, seconds: float) -> None:
        self.requests.setdefault(kind, []).append(seconds)


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Count and percentiles (seconds) of one set of timings."""

    count: int
    p50: float
    p99: float

    @classmethod
    def of(cls, values: Iterable[float]) -> LatencySummary:
        ordered = sorted(values)
        return cls(len(ordered), percentile(ordered, 50), percentile(ordered, 99))


@dataclass(frozen=True, slots=True)
class WorkloadStats:
    """The merged record of every worker thread."""

    seconds: float
    """Wall-clock time from starting the first thread to joining the last."""
    threads: int
    statements: LatencySummary
    requests: dict[str, LatencySummary]
    outcomes: Counter[str]
    errors: Counter[str]
    """``"ErrorClass: message"`` → how many times; any entry fails the demo's checks."""

    @property
    def statements_per_second(self) -> float:
        return self.statements.count / self.seconds if self.seconds > 0 else 0.0

    @classmethod
    def merge(cls, recorders: Sequence[Recorder], *, seconds: float) -> WorkloadStats:
        requests: dict[str, list[float]] = {}
        outcomes: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        for recorder in recorders:
            for kind, values in recorder.requests.items():
                requests.setdefault(kind, []).extend(values)
            outcomes.update(recorder.outcomes)
            errors.update(recorder.errors)
        return cls(
            seconds=seconds,
            threads=len(recorders),
            statements=LatencySummary.of(v for r in recorders for v in r.statements),
            requests={kind: LatencySummary.of(values) for kind, values in requests.items()},
            outcomes=outcomes,
            errors=errors,
        )
