"""``StatementMetrics``: counters and histograms of one cluster's statements, kept in process.

Recording is a few dictionary updates under a lock (no exporter library on the statement
path); exporters (the Prometheus collector, OpenTelemetry observable instruments) read a
consistent ``snapshot()`` when they are scraped. Tenants get labels of their own only
through ``TopTenants``: at most ``k`` of them, the rest summed as ``__other__``.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import (
    CircuitOpenError,
    RateLimitedError,
    RoutingError,
    SQLSyntaxError,
    StatementTimeoutError,
    TenantIsolationError,
    UnsupportedSQLError,
)

DURATION_BUCKETS_S = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)
"""``db.client.operation.duration`` bucket bounds, as the semantic conventions advise."""
FAN_OUT_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
PROPAGATION_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Registry change-propagation bounds: a feed delivers in milliseconds to a second or two
(polling stores); a resync after an outage can take minutes."""
OTHER_TENANTS = "__other__"

Outcome = str
"""``ok``, ``cancelled`` (the caller was cancelled), ``error`` (the database or the
connection failed), ``timeout`` (statement
timeout), ``rate_limited`` (a tenant limit refused it), ``circuit_open`` (a breaker refused
it) or ``refused`` (tenantdb refused the SQL: routing, isolation, unsupported shape,
syntax error)."""


def outcome_of(error: BaseException | None) -> Outcome:
    if error is None:
        return "ok"
    if not isinstance(error, Exception):
        return "cancelled"
    if isinstance(error, StatementTimeoutError):
        return "timeout"
    if isinstance(error, RateLimitedError):
        return "rate_limited"
    if isinstance(error, CircuitOpenError):
        return "circuit_open"
    # A syntax error tenantdb's parser found never reached a database: refused, as before.
    if isinstance(
        error, RoutingError | TenantIsolationError | UnsupportedSQLError | SQLSyntaxError
    ):
        return "refused"
    return "error"


@dataclass(slots=True)
class Histogram:
    """Cumulative-at-export histogram: one count per bucket (the last is +Inf), sum, count."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    sum: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def copy(self) -> Histogram:
        return Histogram(self.bounds, list(self.counts), self.sum, self.count)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at or below it) per bucket, ending with +Inf."""
        running, out = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append((bound, running))
        return out


class TopTenants:
    """Statement counts per tenant in bounded memory, reported for the ``k`` busiest only.

    Space-saving counting: at most ``capacity`` tenants are tracked; a new tenant beyond
    that takes the place of the least counted one and inherits its count (so counts of
    rare tenants are over-estimates, while a tenant busier than total/capacity is always
    tracked). ``labelled()`` gives the ``k`` largest and ``OTHER_TENANTS`` for the rest,
    so an exporter never has more than ``k + 1`` tenant series. Not thread-safe: the
    owner's lock guards it.
    """

    __slots__ = ("_counts", "_k", "capacity", "total")

    def __init__(self, k: int, *, capacity: int | None = None) -> None:
        self._k = k
        self.capacity = capacity if capacity is not None else max(10 * k, 1_000)
        self._counts: dict[str, int] = {}
        self.total = 0

    def add(self, tenant: str, count: int = 1) -> None:
        self.total += count
        counts = self._counts
        if tenant in counts:
            counts[tenant] += count
        elif len(counts) < self.capacity:
            counts[tenant] = count
        else:  # O(capacity), but only when an untracked tenant arrives at a full table
            smallest = min(counts, key=counts.__getitem__)
            counts[tenant] = counts.pop(smallest) + count

    def labelled(self) -> dict[str, int]:
        """The ``k`` busiest tenants' counts and ``OTHER_TENANTS`` for everyone else."""
        top = sorted(self._counts.items(), key=lambda item: (-item[1], item[0]))[: self._k]
        shown = dict(top)
        shown[OTHER_TENANTS] = self.total - sum(shown.values())
        return shown


class StatementMetrics:
    """Every statement's outcome, duration and fan-out, by operation, datasource and role;
    per tenant when ``tenant_labels`` (top ``top_tenants`` only). Thread-safe."""

    def __init__(self, *, tenant_labels: bool = False, top_tenants: int = 100) -> None:
        self._lock = threading.Lock()
        # (operation, datasource, role, outcome) → statements that ran there
        self._statements: dict[tuple[str, str, str, str], int] = {}
        # (operation, route, outcome) → duration histogram
        self._durations: dict[tuple[str, str, str], Histogram] = {}
        self._fan_out = Histogram(FAN_OUT_BUCKETS)
        self._tenants = TopTenants(top_tenants) if tenant_labels else None
        self.fan_out_listener: Callable[[int], None] | None = None
        """Also told each statement's width (OpenTelemetry has no observable histogram)."""

    def record(
        self,
        operation: str,
        route: str,
        places: Iterable[tuple[str, str]],
        outcome: Outcome,
        duration_s: float,
        tenant: str | None,
        width: int,
    ) -> None:
        """One statement: ``places`` the (datasource, role) pairs it ran on, ``width`` its
        number of targets (0 when refused before it had any)."""
        with self._lock:
            statements = self._statements
            for datasource, role in places:
                key = (operation, datasource, role, outcome)
                statements[key] = statements.get(key, 0) + 1
            histogram = self._durations.get((operation, route, outcome))
            if histogram is None:
                histogram = self._durations[(operation, route, outcome)] = Histogram(
                    DURATION_BUCKETS_S
                )
            histogram.observe(duration_s)
            if width:
                self._fan_out.observe(width)
            if self._tenants is not None and tenant is not None:
                self._tenants.add(tenant)
        listener = self.fan_out_listener
        if listener is not None and width:
            listener(width)

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy: ``statements``, ``durations``, ``fan_out`` and, with tenant
        labels, ``tenants`` (``TopTenants.labelled``)."""
        with self._lock:
            return {
                "statements": dict(self._statements),
                "durations": {key: h.copy() for key, h in self._durations.items()},
                "fan_out": self._fan_out.copy(),
                "tenants": None if self._tenants is None else self._tenants.labelled(),
            }
