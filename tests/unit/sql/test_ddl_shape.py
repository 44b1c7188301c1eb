from __future__ import annotations

import pytest

from tenantdb import UnsupportedSQLError
from tenantdb.core.sql import DdlShape, ObjectName, describe_ddl


def test_create_table_with_schema_and_guard() -> None:
    assert describe_ddl("CREATE TABLE IF NOT EXISTS App.T (x int)", "postgres") == DdlShape(
        "create_table", (ObjectName("t", "app"),), guarded=True
    )


def test_postgres_folds_unquoted_names_and_keeps_quoted_ones() -> None:
    shape = describe_ddl('CREATE TABLE "MyTable" (x int)', "postgres")
    assert shape.tables == (ObjectName("MyTable"),)
    assert describe_ddl("CREATE TABLE MyTable (x int)", "postgres").tables == (
        ObjectName("mytable"),
    )


@pytest.mark.parametrize("dialect", ["mysql", "sqlite"])
def test_other_dialects_keep_names_as_written(dialect: str) -> None:
    assert describe_ddl("CREATE TABLE MyTable (x int)", dialect).tables == (ObjectName("MyTable"),)


def test_create_index_names_index_and_table_in_the_same_schema() -> None:
    shape = describe_ddl("CREATE UNIQUE INDEX Ix_1 ON s.t_1 (x)", "postgres")
    assert shape.kind == "create_index"
    assert shape.tables == (ObjectName("t_1", "s"),)
    assert shape.index == ObjectName("ix_1", "s")
    assert not shape.guarded


def test_drop_table_lists_every_table() -> None:
    shape = describe_ddl("DROP TABLE IF EXISTS a, b CASCADE", "postgres")
    assert shape == DdlShape("drop_table", (ObjectName("a"), ObjectName("b")), guarded=True)


def test_alter_add_and_drop_columns() -> None:
    shape = describe_ddl(
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS a int, ADD COLUMN B int, DROP COLUMN c",
        "postgres",
    )
    assert shape.added_columns == (ObjectName("a", guarded=True), ObjectName("b"))
    assert shape.dropped_columns == (ObjectName("c"),)
    assert not shape.other_actions
    assert not shape.renames_table


def test_mysql_add_without_column_keyword() -> None:
    shape = describe_ddl("ALTER TABLE t ADD note TEXT, DROP old", "mysql")
    assert shape.added_columns == (ObjectName("note"),)
    assert shape.dropped_columns == (ObjectName("old"),)


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE t ALTER COLUMN x TYPE bigint",
        "ALTER TABLE t ADD CONSTRAINT c UNIQUE (x)",
        "ALTER TABLE t ADD COLUMN a int, DROP CONSTRAINT c",
        "ALTER TABLE t RENAME COLUMN a TO b",
    ],
)
def test_other_alter_actions_are_flagged(sql: str) -> None:
    assert describe_ddl(sql, "postgres").other_actions


def test_rename_to_is_flagged() -> None:
    shape = describe_ddl("ALTER TABLE t RENAME TO u", "postgres")
    assert shape.renames_table
    assert shape.other_actions


@pytest.mark.parametrize("sql", ["SELECT 1", "CREATE VIEW v AS SELECT 1", "DROP INDEX ix"])
def test_non_table_ddl_is_refused(sql: str) -> None:
    with pytest.raises(UnsupportedSQLError):
        describe_ddl(sql, "postgres")
