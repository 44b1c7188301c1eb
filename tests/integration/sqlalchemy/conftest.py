"""Fixtures for the SQLAlchemy dialect tests: an engine per backend and layout.

``layout`` (module scope) is ``"single"`` (one datasource: every table as written) or
``"sharded"`` (two datasources: ``users`` and its binding table ``user_events`` hash_mod
over 2 shards, ``orders`` and
``order_items`` placed by tenant, ``countries`` broadcast). Tenants ``acme`` live on the
first datasource, ``globex`` on the last. ``engine`` has the ORM models' tables created
(``models.Base.metadata``) and every table emptied before each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from ..conftest import Backend
from .models import Base

SCHEME = {"sqlite": "sqlite", "postgres": "postgresql", "mysql": "mysql"}
LAYOUTS = ["single", "sharded"]


def config_for(backend: Backend, layout: str, urls: list[str]) -> dict[str, Any]:
    """The tenantdb configuration of ``layout`` over ``urls`` (one or two databases)."""
    names = [f"ds{i}" for i in range(len(urls))]
    users: dict[str, Any] = {"strategy": "single"}
    user_events: dict[str, Any] = {"strategy": "single"}
    if layout == "sharded":
        users = {"strategy": "hash_mod", "key": "id", "shards": 2, "datasources": names}
        user_events = {**users, "key": "user_id"}  # binding table of users
    return {
        "dialect": backend.dialect,
        "datasources": {
            name: {"url": url, "pool": {"min_size": 0, "max_size": 4}}
            for name, url in zip(names, urls, strict=True)
        },
        "tables": {
            "users": users,
            "user_events": user_events,
            "orders": {"strategy": "tenant"},
            "order_items": {"strategy": "tenant"},
            "notes": {"strategy": "tenant"},
            "countries": {"strategy": "broadcast"},
        },
        "tenants": {"acme": {"datasource": names[0]}, "globex": {"datasource": names[-1]}},
    }


def engine_url(backend: Backend) -> str:
    return f"tenantdb+{SCHEME[backend.name]}://"


@pytest.fixture(scope="module", params=LAYOUTS)
def layout(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def urls(backend: Backend, layout: str) -> list[str]:
    return backend.new_databases(1 if layout == "single" else 2)


@pytest.fixture(scope="module")
def module_engine(backend: Backend, layout: str, urls: list[str]) -> Iterator[sa.Engine]:
    engine = sa.create_engine(
        engine_url(backend), connect_args={"config": config_for(backend, layout, urls)}
    )
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(module_engine: sa.Engine) -> sa.Engine:
    with module_engine.begin() as connection:
        admin = connection.execution_options(tenantdb_admin=True)
        for table in reversed(Base.metadata.sorted_tables):
            admin.execute(table.delete())
    return module_engine
