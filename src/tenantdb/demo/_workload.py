"""The demo workload: a mixed SaaS request stream from several threads for a few seconds.

Each request picks a tenant (a skewed choice: a few busy tenants, a long tail) and opens
that tenant's session. Request kinds and their shares:

- ``checkout`` (45 %): one transaction on the tenant's datasource: store the request's
  idempotency key, decrement the stock of every line with a conditional UPDATE
  (``... AND stock >= quantity``; no row changed means out of stock, and the whole
  transaction rolls back, key included), insert the order and its items. A duplicate key
  (IntegrityError) means the request was applied before: it rolls back and counts as
  deduplicated. Afterwards one row goes to the hash-sharded ``events`` table.
- ``resend`` (5 %): a client retry of an earlier checkout, same key, same payload. About
  one checkout in five is queued for a resend, picked up later by any thread. A resend of
  an applied checkout must be deduplicated (counted; the checks fail on any other outcome).
- ``order_lookup`` (22 %): an order joined to its items by primary key (tenant tables of one
  tenant are co-located); ``order_events`` (12 %): that order's events, one shard (the
  tenant condition is added by tenantdb: ``events`` is tenant-scoped).
- ``stock_read`` (14 %): the tenant's inventory joined to the broadcast ``products``.
- ``revenue_report`` (1.5 %): an admin session's cross-tenant top-5 by revenue (every
  datasource, merged); ``events_scan`` (0.5 %): an admin session's event counts by kind
  over all 8 shards.
"""

from __future__ import annotations

import datetime
import itertools
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .._cluster import Cluster
from ..errors import IntegrityError
from ._latency import Recorder, WorkloadStats
from ._schema import CATALOG, Product

MIX: tuple[tuple[str, float], ...] = (
    ("checkout", 45),
    ("order_lookup", 22),
    ("stock_read", 14),
    ("order_events", 12),
    ("resend", 5),
    ("revenue_report", 1.5),
    ("events_scan", 0.5),
)
RESEND_SHARE = 0.2
"""Share of checkouts a client sends again with the same idempotency key."""
ORDER_IDS_PER_RUN = 1_000_000_000
"""Order ids are ``run * ORDER_IDS_PER_RUN + n``: unique across runs on one folder."""

INSERT_KEY = (
    "INSERT INTO idempotency_keys (tenant_id, key, order_id, created_at) VALUES (%s, %s, %s, %s)"
)
DECREMENT = (
    "UPDATE inventory SET stock = stock - %s WHERE tenant_id = %s AND sku = %s AND stock >= %s"
)
INSERT_ORDER = (
    "INSERT INTO orders (tenant_id, id, idempotency_key, amount_cents, line_count, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)
INSERT_ITEM_COLUMNS = (
    "INSERT INTO order_items (tenant_id, order_id, line, sku, quantity, price_cents) VALUES "
)
INSERT_EVENT = "INSERT INTO events (order_id, tenant_id, kind, created_at) VALUES (%s, %s, %s, %s)"
ORDER_LOOKUP = (
    "SELECT o.id, o.amount_cents, i.line, i.sku, i.quantity FROM orders o "
    "JOIN order_items i ON i.tenant_id = o.tenant_id AND i.order_id = o.id "
    "WHERE o.tenant_id = %s AND o.id = %s ORDER BY i.line"
)
# No tenant condition: events is tenant-scoped, so tenantdb adds it in a tenant session.
ORDER_EVENTS = "SELECT kind, created_at FROM events WHERE order_id = %s"
STOCK_READ = (
    "SELECT i.sku, p.name, i.stock FROM inventory i JOIN products p ON p.sku = i.sku "
    "WHERE i.tenant_id = %s ORDER BY i.sku"
)
REVENUE_REPORT = (
    "SELECT tenant_id, COUNT(*), SUM(amount_cents) FROM orders "
    "GROUP BY tenant_id ORDER BY 3 DESC LIMIT 5"
)
EVENTS_SCAN = "SELECT kind, COUNT(*) FROM events GROUP BY kind ORDER BY kind"

EVENT_KINDS = {
    "placed": "order_placed",
    "duplicate": "duplicate_ignored",
    "out_of_stock": "out_of_stock",
}


@dataclass(frozen=True, slots=True)
class Checkout:
    """One checkout request as a client sends it (and sends it again, unchanged)."""

    tenant: str
    key: str
    order_id: int
    lines: tuple[tuple[Product, int], ...]
    """(product, quantity) per order line."""

    @property
    def amount_cents(self) -> int:
        return sum(product.price_cents * quantity for product, quantity in self.lines)


class _Rejected(Exception):
    """Raised inside a checkout transaction to roll it back; ``outcome`` says why."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


class Workload:
    """Runs the request mix on ``cluster`` from ``threads`` threads for ``seconds``."""

    def __init__(
        self,
        cluster: Cluster,
        tenant_ids: Sequence[str],
        *,
        run: int,
        seed: int,
        threads: int,
        seconds: float,
    ) -> None:
        self._cluster = cluster
        self._tenants = list(tenant_ids)
        # A skewed choice: tenant k (1-based) is picked with weight 1 / k**0.8.
        self._tenant_weights = list(
            itertools.accumulate(1 / rank**0.8 for rank in range(1, len(self._tenants) + 1))
        )
        self._run = run
        self._seed = seed
        self._threads = threads
        self._seconds = seconds
        self._kinds = [kind for kind, _ in MIX]
        self._kind_weights = list(itertools.accumulate(share for _, share in MIX))
        self._numbers = itertools.count(1)
        self._numbers_lock = threading.Lock()
        self._resends: deque[tuple[Checkout, bool]] = deque(maxlen=1000)
        self._deadline = 0.0

    def run(self) -> WorkloadStats:
        """Run every thread to the deadline and return the merged record."""
        recorders = [Recorder() for _ in range(self._threads)]
        start = threading.Barrier(self._threads + 1)
        workers = [
            threading.Thread(
                target=self._worker,
                args=(index, recorders[index], start),
                name=f"tenantdb-demo-{index}",
                daemon=True,
            )
            for index in range(self._threads)
        ]
        for worker in workers:
            worker.start()
        began = time.perf_counter()
        self._deadline = began + self._seconds
        start.wait()
        for worker in workers:
            worker.join()
        return WorkloadStats.merge(recorders, seconds=time.perf_counter() - began)

    # -- one thread ----------------------------------------------------------------------

    def _worker(self, index: int, recorder: Recorder, start: threading.Barrier) -> None:
        rng = random.Random(f"{self._seed}/{index}")
        recent: deque[tuple[str, int]] = deque(maxlen=256)
        handlers: dict[str, Callable[[random.Random, Recorder, deque[tuple[str, int]]], str]] = {
            "checkout": self._checkout,
            "resend": self._resend,
            "order_lookup": self._order_lookup,
            "order_events": self._order_events,
            "stock_read": self._stock_read,
            "revenue_report": self._revenue_report,
            "events_scan": self._events_scan,
        }
        start.wait()
        while time.perf_counter() < self._deadline:
            kind = rng.choices(self._kinds, cum_weights=self._kind_weights)[0]
            began = time.perf_counter()
            try:
                kind = handlers[kind](rng, recorder, recent)
            except Exception as exc:  # recorded and shown: any error fails the demo's checks
                recorder.errors[f"{kind}: {type(exc).__name__}: {exc}"] += 1
                continue
            recorder.request(kind, time.perf_counter() - began)

    def _tenant(self, rng: random.Random) -> str:
        return rng.choices(self._tenants, cum_weights=self._tenant_weights)[0]

    def _next_number(self) -> int:
        with self._numbers_lock:
            return next(self._numbers)

    # -- request kinds (each returns the kind it actually served) ------------------------

    def _checkout(
        self, rng: random.Random, recorder: Recorder, recent: deque[tuple[str, int]]
    ) -> str:
        number = self._next_number()
        lines = tuple(
            (product, rng.choice((1, 1, 1, 2, 2, 3)))
            for product in rng.sample(CATALOG, rng.choice((1, 1, 2, 2, 3)))
        )
        request = Checkout(
            tenant=self._tenant(rng),
            key=f"run{self._run}-{number}",
            order_id=self._run * ORDER_IDS_PER_RUN + number,
            lines=lines,
        )
        outcome = self._send(request, recorder)
        recorder.outcomes[outcome] += 1
        if outcome == "placed":
            recent.append((request.tenant, request.order_id))
        if rng.random() < RESEND_SHARE:
            self._resends.append((request, outcome == "placed"))
        return "checkout"

    def _resend(
        self, rng: random.Random, recorder: Recorder, recent: deque[tuple[str, int]]
    ) -> str:
        try:
            request, applied = self._resends.popleft()
        except IndexError:
            return self._checkout(rng, recorder, recent)
        outcome = self._send(request, recorder)
        if applied and outcome != "duplicate":
            # Must never happen: the demo's checks fail when this count is not zero.
            outcome = "applied_twice"
        recorder.outcomes[f"resend_{outcome}"] += 1
        if outcome == "placed":
            recent.append((request.tenant, request.order_id))
        return "resend"

    def _send(self, request: Checkout, recorder: Recorder) -> str:
        """Send one checkout; return ``placed``, ``duplicate`` or ``out_of_stock``."""
        tenant, now = request.tenant, _now()
        with self._cluster.session(tenant) as session:
            try:
                with session.transaction():
                    try:
                        recorder.execute(
                            session, INSERT_KEY, (tenant, request.key, request.order_id, now)
                        )
                    except IntegrityError:
                        raise _Rejected("duplicate") from None
                    for product, quantity in request.lines:
                        changed = recorder.execute(
                            session, DECREMENT, (quantity, tenant, product.sku, quantity)
                        ).rowcount
                        if changed == 0:
                            raise _Rejected("out_of_stock")
                    recorder.execute(
                        session,
                        INSERT_ORDER,
                        (
                            tenant,
                            request.order_id,
                            request.key,
                            request.amount_cents,
                            len(request.lines),
                            now,
                        ),
                    )
                    recorder.execute(
                        session,
                        INSERT_ITEM_COLUMNS
                        + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(request.lines)),
                        [
                            value
                            for line, (product, quantity) in enumerate(request.lines, 1)
                            for value in (
                                tenant,
                                request.order_id,
                                line,
                                product.sku,
                                quantity,
                                product.price_cents,
                            )
                        ],
                    )
            except _Rejected as rejected:
                outcome = rejected.outcome
            else:
                outcome = "placed"
            # An activity event on the order's events shard, after the commit (a real
            # system would use an outbox; the demo only counts these).
            recorder.execute(
                session, INSERT_EVENT, (request.order_id, tenant, EVENT_KINDS[outcome], now)
            )
        return outcome

    def _order_lookup(
        self, rng: random.Random, recorder: Recorder, recent: deque[tuple[str, int]]
    ) -> str:
        if not recent:
            return self._stock_read(rng, recorder, recent)
        tenant, order_id = recent[rng.randrange(len(recent))]
        with self._cluster.session(tenant) as session:
            rows = recorder.execute(session, ORDER_LOOKUP, (tenant, order_id)).fetchall()
        if not rows:
            raise AssertionError(f"order {order_id} of tenant {tenant} was placed but not found")
        return "order_lookup"

    def _order_events(
        self, rng: random.Random, recorder: Recorder, recent: deque[tuple[str, int]]
    ) -> str:
        if not recent:
            return self._stock_read(rng, recorder, recent)
        tenant, order_id = recent[rng.randrange(len(recent))]
        with self._cluster.session(tenant) as session:
            recorder.execute(session, ORDER_EVENTS, (order_id,)).fetchall()
        return "order_events"

    def _stock_read(
        self, rng: random.Random, recorder: Recorder, recent: deque[tuple[str, int]]
    ) -> str:
        tenant = self._tenant(rng)
        with self._cluster.session(tenant) as session:
            recorder.execute(session, STOCK_READ, (tenant,)).fetchall()
        return "stock_read"

    def _revenue_report(
        self, rng: random.Random, recorder: Recorder, recent: deque[tuple[str, int]]
    ) -> str:
        with self._cluster.session(admin=True) as session:
            recorder.execute(session, REVENUE_REPORT).fetchall()
        return "revenue_report"

    def _events_scan(
        self, rng: random.Random, recorder: Recorder, recent: deque[tuple[str, int]]
    ) -> str:
        # events is tenant-scoped: counting every tenant's rows takes an admin session.
        with self._cluster.session(admin=True) as session:
            recorder.execute(session, EVENTS_SCAN).fetchall()
        return "events_scan"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
