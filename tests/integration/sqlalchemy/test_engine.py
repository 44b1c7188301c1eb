"""The engine contract of the tenantdb dialects: the URL, one cluster per engine closed by
dispose(), the first-connect probes, pre-ping, AUTOCOMMIT and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

import tenantdb

from ..conftest import Backend
from .conftest import config_for, engine_url
from .models import Order


def test_the_url_names_the_configuration_file(backend: Backend, tmp_path: Path) -> None:
    config = config_for(backend, "single", backend.new_databases(1))
    path = tmp_path / "tenantdb.json"
    path.write_text(json.dumps(config))
    engine = sa.create_engine(f"{engine_url(backend)}/?config={path}", pool_pre_ping=True)
    try:
        with engine.connect() as connection:
            assert connection.dialect.driver == "tenantdb"
            assert connection.dialect.server_version_info is not None
            assert connection.execute(sa.select(sa.literal(1))).scalar() == 1
        with engine.connect() as connection:  # a pooled connection, pinged first
            assert connection.execute(sa.select(sa.literal(2))).scalar() == 2
    finally:
        engine.dispose()


def test_one_cluster_per_engine_closed_by_dispose(backend: Backend) -> None:
    config = config_for(backend, "sharded", backend.new_databases(2))
    engine = sa.create_engine(engine_url(backend), connect_args={"config": config})
    with tenantdb.tenant_context("acme"):
        first, second = engine.connect(), engine.connect()
    cluster = first.connection.dbapi_connection.cluster  # type: ignore[union-attr]
    assert second.connection.dbapi_connection.cluster is cluster  # type: ignore[union-attr]
    first.close()
    second.close()
    engine.dispose()
    with pytest.raises(tenantdb.Error):  # the cluster the engine built is closed
        cluster.session(admin=True).execute("SELECT 1")
    with engine.connect() as connection:  # a disposed engine builds a new one
        assert connection.execute(sa.select(sa.literal(3))).scalar() == 3
    engine.dispose()


def test_a_cluster_given_is_shared_and_left_open(backend: Backend) -> None:
    config = config_for(backend, "single", backend.new_databases(1))
    with tenantdb.connect(config) as cluster:
        engine = sa.create_engine(engine_url(backend), connect_args={"cluster": cluster})
        with engine.connect() as connection:
            assert connection.execute(sa.select(sa.literal(4))).scalar() == 4
        engine.dispose()
        with cluster.session(admin=True) as session:
            assert session.execute("SELECT 5").fetchall() == [(5,)]


def test_autocommit_isolation_level(engine: sa.Engine) -> None:
    orders = Order.__table__
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    with tenantdb.tenant_context("acme"), autocommit.connect() as connection:
        connection.execute(orders.insert(), {"id": 1, "tenant_id": "acme", "amount": 1})
        connection.rollback()  # nothing to undo: the insert committed on its own
    with tenantdb.tenant_context("acme"), engine.connect() as connection:
        assert connection.execute(sa.select(orders.c.id)).scalars().all() == [1]


def test_other_isolation_levels_are_refused(engine: sa.Engine) -> None:
    # tenantdb's pools run every transaction at the server's default level.
    uncommitted = engine.execution_options(isolation_level="READ UNCOMMITTED")
    with pytest.raises(sa.exc.ArgumentError, match="AUTOCOMMIT"), uncommitted.connect():
        pass


def test_a_url_with_a_server_is_refused() -> None:
    with pytest.raises(sa.exc.ArgumentError, match=r"write tenantdb\+postgresql:///\?config="):
        sa.create_engine("tenantdb+postgresql://app@db.example:5432/main")


def test_a_configuration_for_another_backend_is_refused(backend: Backend) -> None:
    other = "sqlite" if backend.name != "sqlite" else "postgresql"
    config = config_for(backend, "single", backend.new_databases(1))
    engine = sa.create_engine(f"tenantdb+{other}://", connect_args={"config": config})
    with pytest.raises(sa.exc.ArgumentError, match="use tenantdb\\+"):
        engine.connect()
    engine.dispose()


def test_no_configuration_is_refused() -> None:
    engine = sa.create_engine("tenantdb+sqlite://")
    with pytest.raises(sa.exc.ArgumentError, match="no tenantdb configuration"):
        engine.connect()
