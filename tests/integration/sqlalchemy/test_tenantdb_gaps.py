"""SQL shapes SQLAlchemy emits that tenantdb answers wrongly or refuses where it should
not: each is a minimal failing test marked xfail(strict=True) with the reason, so it
turns into a failure (and the mark is removed) once tenantdb handles it. Shapes tenantdb
refuses on purpose (CREATE VIEW, CREATE SEQUENCE, CREATE TYPE, COMMENT ON) are not here:
the dialects avoid or list them (tests/sqlalchemy_suite/EXCLUSIONS.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from ..conftest import Backend
from .conftest import config_for, engine_url

SERVERS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]
DOUBLE_QUOTING = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
"""Backends that quote names with double quotes (MySQL's backticks work)."""


@pytest.fixture
def fresh_engine(backend: Backend, layout: str) -> Iterator[sa.Engine]:
    urls = backend.new_databases(1 if layout == "single" else 2)
    engine = sa.create_engine(
        engine_url(backend), connect_args={"config": config_for(backend, layout, urls)}
    )
    yield engine
    engine.dispose()


@pytest.mark.parametrize("backend", DOUBLE_QUOTING, indirect=True)
def test_a_quoted_name_with_a_quote_in_it(fresh_engine: sa.Engine) -> None:
    """Fixed: the router sent a quoted name holding a doubled quote (``"quote "" two"``)
    with the quote undoubled (tests/unit/routing/test_written_names.py)."""
    table = sa.Table('quote " two', sa.MetaData(), sa.Column("id", sa.Integer))
    table.create(fresh_engine)
    assert sa.inspect(fresh_engine).has_table('quote " two')


@pytest.mark.xfail(
    strict=True,
    raises=sa.exc.DBAPIError,
    reason="tenantdb refuses DROP INDEX without a table name (PostgreSQL and SQLite "
    "syntax has none), so Index.drop() cannot fan out to the physical indexes",
)
def test_dropping_an_index(fresh_engine: sa.Engine, backend: Backend) -> None:
    if backend.name == "mysql":
        pytest.skip("MySQL's DROP INDEX names its table; this gap is PostgreSQL's and SQLite's")
    metadata = sa.MetaData()
    table = sa.Table("users", metadata, sa.Column("id", sa.Integer), sa.Column("name", sa.Text))
    index = sa.Index("ix_users_name", table.c.name)
    metadata.create_all(fresh_engine)
    index.drop(fresh_engine)
    assert sa.inspect(fresh_engine).get_indexes("users") == []


@pytest.mark.parametrize("backend", SERVERS, indirect=True)
@pytest.mark.xfail(
    strict=True,
    raises=sa.exc.DBAPIError,
    reason="tenantdb does not rename the table a FOREIGN KEY references in fanned-out "
    "DDL: REFERENCES users (id) names a logical table that has no physical table users "
    "when users is sharded",
)
def test_a_foreign_key_to_a_sharded_table(fresh_engine: sa.Engine, layout: str) -> None:
    if layout == "single":
        pytest.skip("users is one table on one datasource: nothing to rename")
    metadata = sa.MetaData()
    sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "orders",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id")),
    )
    metadata.create_all(fresh_engine)
    assert sa.inspect(fresh_engine).has_table("orders")


@pytest.mark.xfail(
    strict=True,
    raises=sa.exc.DBAPIError,
    reason="SQLAlchemy writes an OFFSET without a LIMIT with the backend's 'no limit': "
    "SQLite's LIMIT -1 and PostgreSQL's LIMIT ALL are refused across shards, MySQL's "
    "LIMIT n, 18446744073709551615 overflows when tenantdb adds the offset",
)
def test_an_offset_without_a_limit_across_shards(fresh_engine: sa.Engine, layout: str) -> None:
    if layout == "single":
        pytest.skip("one users table: the statement is sent as written")
    metadata = sa.MetaData()
    users = sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True))
    metadata.create_all(fresh_engine)
    with fresh_engine.begin() as connection:
        admin = connection.execution_options(tenantdb_admin=True)
        admin.execute(users.insert(), [{"id": i} for i in range(5)])
        ids = admin.execute(sa.select(users.c.id).order_by(users.c.id).offset(3)).scalars()
        assert ids.all() == [3, 4]
