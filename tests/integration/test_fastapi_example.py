"""The FastAPI example (examples/fastapi_app) on PostgreSQL: the real app, its lifespan run,
driven through httpx's ASGI transport. The X-Tenant header picks the tenant; each tenant
reads and writes only its own orders, also when two tenants share a table; requests
without a known tenant are refused; concurrent requests for different tenants never see
each other's tenant."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import tenantdb

from .conftest import Backend

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_app"
HANG_GUARD_S = 60
TENANTS = ("acme", "globex", "initech", "hooli")
NEIGHBOUR = {"acme": "globex", "globex": "acme", "initech": "hooli", "hooli": "initech"}
"""Tenants placed on the same datasource, whose orders share one table."""
CONCURRENT_REQUESTS = 64

pytestmark = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def _load_example() -> ModuleType:
    """examples/fastapi_app/app.py, imported from its file (it is not an installed package)."""
    spec = importlib.util.spec_from_file_location("tenantdb_fastapi_example", EXAMPLE / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = _load_example()


@pytest.fixture
def urls(backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Two fresh databases with the example's schema. The app reads its configuration from
    TENANTDB_CONFIG: the example's file plus a fourth tenant, hooli, on ds1."""
    urls = backend.new_databases(2)
    monkeypatch.setenv("EXAMPLE_DS0_URL", urls[0])
    monkeypatch.setenv("EXAMPLE_DS1_URL", urls[1])
    config = tmp_path / "tenantdb.toml"
    config.write_text(
        example.DEFAULT_CONFIG.read_text() + '\n[tenants.hooli]\ndatasource = "ds1"\n'
    )
    monkeypatch.setenv(example.CONFIG_ENV, str(config))
    cluster = tenantdb.connect(config)
    try:
        with cluster.session(admin=True) as admin:
            for statement in (EXAMPLE / "schema.sql").read_text().split(";"):
                if statement.strip():
                    admin.execute(statement)
    finally:
        cluster.close()
    return urls


def serve(scenario: Callable[[Any], Awaitable[None]]) -> None:
    """Run ``scenario(client)`` inside the app's lifespan (which builds and closes the
    cluster), under a hang guard."""
    app = example.app

    async def main() -> None:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://example"
            ) as client,
        ):
            await scenario(client)

    asyncio.run(asyncio.wait_for(main(), HANG_GUARD_S))


def as_tenant(tenant: str) -> dict[str, str]:
    return {"X-Tenant": tenant}


async def create(client: httpx.AsyncClient, tenant: str, item: str) -> dict[str, Any]:
    response = await client.post(
        "/orders", json={"item": item, "quantity": 1}, headers=as_tenant(tenant)
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    assert order["tenant_id"] == tenant
    assert order["item"] == item
    return order


async def listed(client: httpx.AsyncClient, tenant: str) -> list[tuple[int, str, str]]:
    response = await client.get("/orders", headers=as_tenant(tenant))
    assert response.status_code == 200, response.text
    return [(o["id"], o["tenant_id"], o["item"]) for o in response.json()]


def test_each_tenant_reads_and_writes_only_its_own_orders(
    backend: Backend, urls: list[str]
) -> None:
    made: dict[str, list[dict[str, Any]]] = {}

    async def scenario(client: httpx.AsyncClient) -> None:
        for tenant in ("acme", "globex", "acme", "globex", "initech"):
            made.setdefault(tenant, []).append(await create(client, tenant, f"{tenant} item"))
        for tenant, orders in made.items():
            assert await listed(client, tenant) == [
                (o["id"], tenant, f"{tenant} item") for o in orders
            ]
            own = orders[0]["id"]
            response = await client.get(f"/orders/{own}", headers=as_tenant(tenant))
            assert response.status_code == 200
            assert response.json() == orders[0]
        # acme and globex share ds0's table: each one's ids are the other's absent orders.
        for tenant, other in (("acme", "globex"), ("globex", "acme")):
            for order in made[other]:
                response = await client.get(f"/orders/{order['id']}", headers=as_tenant(tenant))
                assert response.status_code == 404
                assert response.json() == {"detail": f"order {order['id']} not found"}
        # The dependency's context ended with each request: none is left in this task.
        assert tenantdb.current_tenant() is None

    serve(scenario)
    # What the databases hold, read without tenantdb.
    assert backend.query(urls[0], "SELECT tenant_id, item FROM orders ORDER BY id") == [
        ("acme", "acme item"),
        ("globex", "globex item"),
        ("acme", "acme item"),
        ("globex", "globex item"),
    ]
    assert backend.query(urls[1], "SELECT tenant_id, item FROM orders") == [
        ("initech", "initech item")
    ]


def test_a_request_without_a_known_tenant_is_refused(backend: Backend, urls: list[str]) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        await create(client, "acme", "kept")
        for headers in ({}, as_tenant("")):
            for method, path in (("GET", "/orders"), ("GET", "/orders/1"), ("POST", "/orders")):
                body = {"item": "x", "quantity": 1} if method == "POST" else None
                response = await client.request(method, path, json=body, headers=headers)
                assert response.status_code == 400, (headers, method, path)
                assert response.json() == {"detail": "the X-Tenant header is required"}
        for method, path in (("GET", "/orders"), ("GET", "/orders/1"), ("POST", "/orders")):
            body = {"item": "x", "quantity": 1} if method == "POST" else None
            response = await client.request(method, path, json=body, headers=as_tenant("nobody"))
            assert response.status_code == 404, (method, path)
            assert response.json() == {"detail": "unknown tenant"}

    serve(scenario)
    assert backend.query(urls[0], "SELECT tenant_id, item FROM orders") == [("acme", "kept")]
    assert backend.query(urls[1], "SELECT tenant_id, item FROM orders") == []


def test_an_order_naming_another_tenant_is_refused(backend: Backend, urls: list[str]) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/orders",
            json={"item": "smuggled", "quantity": 1, "tenant_id": "globex"},
            headers=as_tenant("acme"),
        )
        assert response.status_code == 403
        assert response.json() == {"detail": "refused by tenant isolation"}
        response = await client.post(
            "/orders",
            json={"item": "own", "quantity": 2, "tenant_id": "acme"},
            headers=as_tenant("acme"),
        )
        assert response.status_code == 201
        assert response.json()["tenant_id"] == "acme"
        assert await listed(client, "globex") == []

    serve(scenario)
    assert backend.query(urls[0], "SELECT tenant_id, item FROM orders") == [("acme", "own")]


def test_concurrent_requests_for_mixed_tenants_never_cross(urls: list[str]) -> None:
    """64 requests at once, four tenants, four kinds (list, own order, a neighbour's order,
    create). Every answer holds only the requesting tenant's rows: its tenant id, and the
    item text the same tenant's requests wrote, so a write under a wrong tenant shows too."""
    seeded: dict[str, list[int]] = {}
    created: dict[str, list[int]] = {tenant: [] for tenant in TENANTS}
    listings: list[tuple[str, list[tuple[int, str, str]]]] = []

    async def request(client: httpx.AsyncClient, number: int) -> None:
        tenant = TENANTS[number % len(TENANTS)]
        kind = number // len(TENANTS) % 4
        if kind == 0:
            listings.append((tenant, await listed(client, tenant)))
        elif kind == 1:
            order_id = seeded[tenant][number % 2]
            response = await client.get(f"/orders/{order_id}", headers=as_tenant(tenant))
            assert response.status_code == 200, (tenant, response.text)
            assert response.json()["tenant_id"] == tenant
            assert response.json()["item"].startswith(tenant)
        elif kind == 2:
            order_id = seeded[NEIGHBOUR[tenant]][number % 2]
            response = await client.get(f"/orders/{order_id}", headers=as_tenant(tenant))
            assert response.status_code == 404, (tenant, response.text)
        else:
            created[tenant].append((await create(client, tenant, f"{tenant} {number}"))["id"])

    async def scenario(client: httpx.AsyncClient) -> None:
        for tenant in TENANTS:
            seeded[tenant] = [(await create(client, tenant, f"{tenant} seed"))["id"] for _ in "ab"]
        await asyncio.gather(*(request(client, n) for n in range(CONCURRENT_REQUESTS)))
        for tenant, rows in listings:
            allowed = set(seeded[tenant]) | set(created[tenant])
            assert {order_id for order_id, _, _ in rows} <= allowed, tenant
            assert set(seeded[tenant]) <= {order_id for order_id, _, _ in rows}, tenant
            assert all(owner == tenant and item.startswith(tenant) for _, owner, item in rows)
        for tenant in TENANTS:
            rows = await listed(client, tenant)
            assert sorted(order_id for order_id, _, _ in rows) == sorted(
                seeded[tenant] + created[tenant]
            )
            assert all(owner == tenant and item.startswith(tenant) for _, owner, item in rows)

    serve(scenario)
    assert len(listings) == CONCURRENT_REQUESTS // 4
    assert all(len(ids) == CONCURRENT_REQUESTS // 16 for ids in created.values())


def test_requests_leave_a_span_tree(
    backend: Backend, urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18's check: the example exports its traces to an in-memory exporter; a point
    read, a scatter read and a failed write each leave the spans and attributes expected."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(example, "TRACER_PROVIDER", provider)
    tracer = provider.get_tracer("the test client")
    spans: dict[str, list[Any]] = {}

    async def scenario(client: httpx.AsyncClient) -> None:
        order = await create(client, "acme", "traced item")
        await create(client, "initech", "another")
        for name, request in (
            ("point read", client.get(f"/orders/{order['id']}", headers=as_tenant("acme"))),
            ("scatter read", client.get("/operators/order-count")),
            (
                "failed write",
                client.post(
                    "/orders",
                    json={"item": "x", "quantity": 1, "tenant_id": "globex"},
                    headers=as_tenant("acme"),
                ),
            ),
        ):
            exporter.clear()
            with tracer.start_as_current_span(name) as parent:
                response = await request
            spans[name] = [parent, *exporter.get_finished_spans()]
        assert response.status_code == 403

    serve(scenario)
    provider.shutdown()

    def by_name(name: str) -> dict[str, Any]:
        return {span.name: span for span in spans[name][1:]}

    # The point read: one client span, a child of the request's span.
    parent, *_ = spans["point read"]
    read = by_name("point read")["SELECT orders"]
    assert read.parent.span_id == parent.get_span_context().span_id
    attributes = dict(read.attributes)
    assert attributes["db.system.name"] == "postgresql"
    assert attributes["db.operation.name"] == "SELECT"
    assert attributes["db.collection.name"] == "orders"
    assert attributes["tenantdb.tenant"] == "acme"
    assert attributes["tenantdb.route"] == "single"
    assert attributes["tenantdb.datasource"] == "ds0"
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["db.namespace"] == urls[0].rsplit("/", 1)[1]

    # The scatter read: the statement's span with a child per datasource.
    scatter = by_name("scatter read")
    statement = scatter["SELECT orders"]
    assert dict(statement.attributes)["tenantdb.route"] == "scatter"
    assert "tenantdb.tenant" not in dict(statement.attributes)  # an admin session
    for datasource, url in (("ds0", urls[0]), ("ds1", urls[1])):
        child = scatter[f"SELECT {datasource}"]
        assert child.parent.span_id == statement.context.span_id
        assert dict(child.attributes)["db.namespace"] == url.rsplit("/", 1)[1]

    # The failed write: refused by tenant isolation before anything was sent.
    failed = by_name("failed write")["INSERT orders"]
    assert failed.status.status_code is StatusCode.ERROR
    assert dict(failed.attributes)["error.type"] == "tenantdb.errors.TenantIsolationError"
    assert "db.response.status_code" not in dict(failed.attributes)  # the server saw nothing
