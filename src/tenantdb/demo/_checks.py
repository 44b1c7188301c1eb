"""The demo's consistency checks, run over every row in the folder (all runs so far)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._cluster import Cluster
from ._latency import WorkloadStats

INVENTORY = "SELECT tenant_id, sku, received, stock FROM inventory"
SOLD_BY_KEY = (
    "SELECT i.tenant_id, i.sku, SUM(i.quantity) FROM order_items i "
    "JOIN idempotency_keys k ON k.tenant_id = i.tenant_id AND k.order_id = i.order_id "
    "GROUP BY i.tenant_id, i.sku"
)
ORDERS = "SELECT COUNT(*) FROM orders"
KEYS = "SELECT COUNT(*) FROM idempotency_keys"
ORDERS_WITH_THEIR_KEY = (
    "SELECT COUNT(*) FROM orders o JOIN idempotency_keys k ON k.tenant_id = o.tenant_id "
    "AND k.key = o.idempotency_key AND k.order_id = o.id"
)


@dataclass(frozen=True, slots=True)
class Check:
    """One verdict: ``name`` says what must hold, ``detail`` what was found."""

    name: str
    passed: bool
    detail: str


def run_checks(cluster: Cluster, stats: WorkloadStats) -> list[Check]:
    """Check the stock ledger, non-negative stock, one order per idempotency key, the
    resent requests and the absence of errors. Reads through admin sessions (every
    tenant on every datasource)."""
    with cluster.session(admin=True) as session:
        inventory = session.execute(INVENTORY).fetchall()
        sold = {(t, sku): int(q) for t, sku, q in session.execute(SOLD_BY_KEY).fetchall()}
        orders = session.execute(ORDERS).scalar()
        keys = session.execute(KEYS).scalar()
        matched = session.execute(ORDERS_WITH_THEIR_KEY).scalar()
    return [
        _ledger(inventory, sold),
        _non_negative(inventory),
        _one_order_per_key(orders, keys, matched),
        _resends(stats),
        _no_errors(stats),
    ]


def _ledger(inventory: Sequence[tuple[Any, ...]], sold: dict[tuple[Any, Any], int]) -> Check:
    wrong = [
        (tenant, sku, received, stock, sold.get((tenant, sku), 0))
        for tenant, sku, received, stock in inventory
        if received - sold.get((tenant, sku), 0) != stock
    ]
    name = "stock ledger"
    if not inventory:
        return Check(name, False, "the inventory table is empty")
    if wrong:
        tenant, sku, received, stock, out = wrong[0]
        return Check(
            name,
            False,
            f"{len(wrong)} of {len(inventory)} (tenant, SKU) rows disagree, e.g. {tenant} "
            f"{sku}: received {received}, sold {out}, stock {stock}",
        )
    return Check(
        name,
        True,
        f"received - sold = stock for all {len(inventory):,} (tenant, SKU) rows "
        "(sold: items of orders with a stored idempotency key)",
    )


def _non_negative(inventory: Sequence[tuple[Any, ...]]) -> Check:
    name = "stock never negative"
    negative = [(tenant, sku, stock) for tenant, sku, _, stock in inventory if stock < 0]
    if negative:
        tenant, sku, stock = min(negative, key=lambda row: row[2])
        return Check(
            name,
            False,
            f"{len(negative):,} (tenant, SKU) rows below zero, lowest {tenant} {sku}: {stock}",
        )
    sold_out = sum(1 for *_, stock in inventory if stock == 0)
    return Check(name, True, f"lowest 0 or more; {sold_out:,} (tenant, SKU) rows sold out")


def _one_order_per_key(orders: int, keys: int, matched: int) -> Check:
    passed = orders == keys == matched
    detail = (
        f"{orders:,} orders, {keys:,} idempotency keys: one order per key"
        if passed
        else f"{orders:,} orders, {keys:,} keys, {matched:,} orders matched to their key"
    )
    return Check("idempotency keys applied once", passed, detail)


def _resends(stats: WorkloadStats) -> Check:
    twice = stats.outcomes["resend_applied_twice"]
    deduplicated = stats.outcomes["resend_duplicate"]
    return Check(
        "retries deduplicated",
        twice == 0,
        f"{deduplicated:,} resends of applied checkouts, {twice} applied twice",
    )


def _no_errors(stats: WorkloadStats) -> Check:
    total = sum(stats.errors.values())
    if not total:
        return Check("no workload errors", True, "none")
    message, count = stats.errors.most_common(1)[0]
    return Check(
        "no workload errors",
        False,
        f"{total:,} errors; most common ({count:,}x): {message}",
    )
