"""A FastAPI app on tenantdb's asyncio front: each request runs for the tenant its
``X-Tenant`` header names, and no handler passes the tenant to tenantdb itself.

Run it with ``uvicorn app:app`` from this directory (README.md has the steps).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

import tenantdb

CONFIG_ENV = "TENANTDB_CONFIG"
DEFAULT_CONFIG = Path(__file__).with_name("tenantdb.toml")
# Traces: tenantdb makes a span per statement once OpenTelemetry has a tracer provider.
# An app that sets up the OpenTelemetry SDK globally leaves this None; setting it passes
# a provider of the app's own (the tests use one with an in-memory exporter).
TRACER_PROVIDER: Any = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Built here, on the server's event loop, which the pools will belong to. It checks the
    # configuration and opens no connection yet; entering the block starts the tenant
    # registry on a thread, and leaving it closes every pool.
    config = os.environ.get(CONFIG_ENV, DEFAULT_CONFIG)
    async with tenantdb.connect_async(config, tracer_provider=TRACER_PROVIDER) as cluster:
        app.state.cluster = cluster
        yield


def get_cluster(request: Request) -> tenantdb.AsyncCluster:
    cluster: tenantdb.AsyncCluster = request.app.state.cluster
    return cluster


ClusterDep = Annotated[tenantdb.AsyncCluster, Depends(get_cluster)]


async def tenant_from_header(
    x_tenant: Annotated[str | None, Header()] = None,
) -> AsyncIterator[str]:
    """Sets the request's tenant: every session opened without ``tenant=`` gets it.

    It must be an ``async def``: FastAPI runs an async dependency in the request's own
    task, so the endpoint sees the context it sets. A plain ``def`` dependency runs in a
    worker thread, in a copy of the context: the endpoint would see no tenant, and leaving
    the ``with`` block would fail (ValueError: the token belongs to another Context).
    Each request is a task of its own, so one request's tenant never reaches another's.
    """
    if not x_tenant:
        raise HTTPException(400, "the X-Tenant header is required")
    with tenantdb.tenant_context(x_tenant):
        yield x_tenant


class NewOrder(BaseModel):
    item: str = Field(min_length=1, max_length=200)
    quantity: int = Field(gt=0)
    tenant_id: str | None = None  # optional: tenantdb fills it in; another tenant's → 403


class Order(BaseModel):
    id: int
    tenant_id: str
    item: str
    quantity: int

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Order:
        return cls(**dict(zip(cls.model_fields, row, strict=True)))


COLUMNS = "id, tenant_id, item, quantity"

orders = APIRouter(prefix="/orders", dependencies=[Depends(tenant_from_header)])


@orders.post("", status_code=201)
async def create_order(new: NewOrder, cluster: ClusterDep) -> Order:
    async with cluster.session() as s:  # no tenant= here: the context supplies it
        if new.tenant_id is None:
            result = await s.execute(
                f"INSERT INTO orders (item, quantity) VALUES (%s, %s) RETURNING {COLUMNS}",
                (new.item, new.quantity),
            )
        else:  # tenantdb checks the id: another tenant's raises TenantIsolationError
            result = await s.execute(
                "INSERT INTO orders (tenant_id, item, quantity) VALUES (%s, %s, %s) "
                f"RETURNING {COLUMNS}",
                (new.tenant_id, new.item, new.quantity),
            )
        row = await result.fetchone()
    assert row is not None
    return Order.from_row(row)


@orders.get("")
async def list_orders(cluster: ClusterDep) -> list[Order]:
    # No tenant condition in the SQL: tenantdb confines the statement to the tenant's rows.
    async with cluster.session() as s:
        result = await s.execute(f"SELECT {COLUMNS} FROM orders ORDER BY id")
        return [Order.from_row(row) for row in await result.fetchall()]


@orders.get("/{order_id}")
async def get_order(order_id: int, cluster: ClusterDep) -> Order:
    async with cluster.session() as s:
        result = await s.execute(f"SELECT {COLUMNS} FROM orders WHERE id = %s", (order_id,))
        row = await result.fetchone()
    if row is None:  # absent, or another tenant's: the same answer
        raise HTTPException(404, f"order {order_id} not found")
    return Order.from_row(row)


# An operator's endpoint: an admin session counts every tenant's orders on every
# datasource (one statement, fanned out). A real app puts it behind its own auth.
operators = APIRouter(prefix="/operators")


@operators.get("/order-count")
async def order_count(cluster: ClusterDep) -> dict[str, int]:
    async with cluster.session(admin=True) as s:
        result = await s.execute("SELECT COUNT(*) FROM orders")
        row = await result.fetchone()
    assert row is not None
    return {"orders": int(row[0])}


app = FastAPI(title="tenantdb FastAPI example", lifespan=lifespan)
app.include_router(orders)
app.include_router(operators)


@app.exception_handler(tenantdb.UnknownTenantError)
async def unknown_tenant(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "unknown tenant"}, status_code=404)


@app.exception_handler(tenantdb.TenantIsolationError)
async def isolation_refused(request: Request, exc: Exception) -> JSONResponse:
    # The refusal's message explains the statement to a developer; keep it for the logs.
    return JSONResponse({"detail": "refused by tenant isolation"}, status_code=403)
