"""A FastAPI application with tenantdb's operator console mounted at ``/console``.

The console is mounted in the application's own process, so it shows that process's live
pools, breakers, tenant limits and slow statements, and its read-to-primary switch acts on
the cluster the endpoints use. Everything under ``/console`` needs the console token
(``TENANTDB_CONSOLE_TOKEN``): a browser signs in once, scripts send ``Authorization:
Bearer <token>``.

Run it (uvicorn's ``--factory`` calls ``create_app()``)::

    export TENANTDB_CONFIG=tenantdb.toml
    export TENANTDB_CONSOLE_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')
    uvicorn console_app:create_app --factory          # from this directory

then open http://127.0.0.1:8000/console/ and sign in with the token. ``GET /orders/{id}``
with an ``X-Tenant`` header reads one order and says which role served it, so forcing
reads to the primary in the console shows at once in its answer.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException

import tenantdb
from tenantdb.console import asgi_app

CONFIG_ENV = "TENANTDB_CONFIG"
TOKEN_ENV = "TENANTDB_CONSOLE_TOKEN"


def create_app(config: str | Path | None = None, *, token: str | None = None) -> FastAPI:
    """The application over the cluster of ``config`` (default: ``$TENANTDB_CONFIG``), its
    console guarded by ``token`` (default: ``$TENANTDB_CONSOLE_TOKEN``; none is refused)."""
    source = config if config is not None else os.environ.get(CONFIG_ENV, "tenantdb.toml")
    # Building the cluster opens nothing: its pools open on the server's event loop with
    # the first statement. The lifespan starts the registry and closes the pools.
    cluster = tenantdb.connect_async(source)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with cluster:
            yield

    app = FastAPI(title="tenantdb console example", lifespan=lifespan)
    app.state.cluster = cluster
    app.mount(
        "/console",
        asgi_app(cluster, token=token if token is not None else os.environ.get(TOKEN_ENV, "")),
    )

    @app.get("/orders/{order_id}")
    async def get_order(order_id: int, x_tenant: Annotated[str, Header()]) -> dict[str, Any]:
        try:
            async with cluster.session(tenant=x_tenant) as session:
                result = await session.execute(
                    "SELECT id, amount FROM orders WHERE id = %s", (order_id,)
                )
                row = await result.fetchone()
        except tenantdb.UnknownTenantError:
            raise HTTPException(404, f"no tenant {x_tenant!r}") from None
        except tenantdb.TenantStatusError as exc:  # suspended, e.g. from the console
            raise HTTPException(403, str(exc)) from None
        if row is None:
            raise HTTPException(404, f"order {order_id} not found")
        return {"id": row[0], "amount": row[1], "served_by": result.targets[0].role}

    return app
