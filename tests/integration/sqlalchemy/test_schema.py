"""Schema work through logical names: create_all twice, drop_all, has_table, get_columns,
get_table_names, and what is reported when some physical tables are missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tenantdb.integrations.sqlalchemy import missing_tables

from ..conftest import Backend
from .conftest import config_for, engine_url

metadata = sa.MetaData()
accounts = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("tenant_id", sa.String(20), nullable=False),
    sa.Column("email", sa.String(80), nullable=False),
    sa.Index("ix_users_email", "email"),
)
notes = sa.Table(
    "notes",  # not in the configuration: a single table on the default datasource
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("body", sa.Text),
)


@pytest.fixture
def databases(backend: Backend, layout: str) -> list[str]:
    return backend.new_databases(1 if layout == "single" else 2)


@pytest.fixture
def schema_engine(backend: Backend, layout: str, databases: list[str]) -> Iterator[sa.Engine]:
    config = config_for(backend, layout, databases)
    engine = sa.create_engine(engine_url(backend), connect_args={"config": config})
    yield engine
    engine.dispose()


def test_create_all_twice_then_drop_all(schema_engine: sa.Engine) -> None:
    metadata.create_all(schema_engine)
    metadata.create_all(schema_engine)  # a second run finds every table and does nothing
    inspector = sa.inspect(schema_engine)
    assert inspector.has_table("users")
    assert inspector.has_table("notes")
    assert inspector.get_table_names() == ["notes", "users"]
    metadata.drop_all(schema_engine)
    metadata.drop_all(schema_engine)
    inspector = sa.inspect(schema_engine)
    assert not inspector.has_table("users")
    assert inspector.get_table_names() == []


def test_columns_and_indexes_of_a_logical_table(schema_engine: sa.Engine) -> None:
    metadata.create_all(schema_engine)
    inspector = sa.inspect(schema_engine)
    columns = inspector.get_columns("users")
    assert [c["name"] for c in columns] == ["id", "tenant_id", "email"]
    assert [c["nullable"] for c in columns] == [False, False, False]
    assert inspector.get_pk_constraint("users")["constrained_columns"] == ["id"]
    indexes = inspector.get_indexes("users")
    assert [(i["name"], i["column_names"]) for i in indexes] == [("ix_users_email", ["email"])]
    assert inspector.get_foreign_keys("users") == []
    reflected = sa.Table("users", sa.MetaData(), autoload_with=schema_engine)
    assert list(reflected.columns.keys()) == ["id", "tenant_id", "email"]


def test_a_missing_shard_is_reported_and_created_again(
    schema_engine: sa.Engine, layout: str, backend: Backend, databases: list[str]
) -> None:
    if layout != "sharded":
        pytest.skip("only a sharded table has some physical tables and not others")
    metadata.create_all(schema_engine)
    backend.query(databases[1], "DROP TABLE users_1")
    assert not sa.inspect(schema_engine).has_table("users")
    missing = missing_tables(schema_engine, "users")
    assert [(m.datasource, m.name) for m in missing] == [("ds1", "users_1")]
    with pytest.raises(sa.exc.NoSuchTableError, match=r"users_1 on ds1"):
        sa.inspect(schema_engine).get_columns("users")
    metadata.create_all(schema_engine)  # creates users_1 (and its index), skips users_0
    assert missing_tables(schema_engine, "users") == []
    assert [i["name"] for i in sa.inspect(schema_engine).get_indexes("users")] == ["ix_users_email"]
