from __future__ import annotations

import pytest

from tenantdb import UnsupportedSQLError
from tenantdb.core.sql import quote_name, rename_created


def test_create_table_gets_the_new_quoted_name_and_keeps_everything_else() -> None:
    sql = "CREATE TABLE events_202612 (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'events_202612')"
    assert rename_created(sql, "sqlite", table="events_202701") == (
        "CREATE TABLE \"events_202701\" (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'events_202612')"
    )


def test_if_not_exists_temp_and_schema_qualifier_are_kept() -> None:
    sql = 'CREATE TEMP TABLE IF NOT EXISTS main."Events_1"(x int)'
    assert rename_created(sql, "sqlite", table="Events_2") == (
        'CREATE TEMP TABLE IF NOT EXISTS main."Events_2"(x int)'
    )


def test_create_index_renames_index_and_table() -> None:
    sql = (
        "CREATE UNIQUE INDEX ix_at_202612 ON public.events_202612 USING btree (created_at) "
        "WHERE (created_at > '2026-01-01'::date)"
    )
    assert rename_created(sql, "postgres", table="events_202701", index="ix_at_202701") == (
        'CREATE UNIQUE INDEX "ix_at_202701" ON public."events_202701" USING btree (created_at) '
        "WHERE (created_at > '2026-01-01'::date)"
    )


def test_create_index_on_only() -> None:
    sql = "CREATE INDEX ix_1 ON ONLY t_1 (a)"
    assert rename_created(sql, "postgres", table="t_2", index="ix_2") == (
        'CREATE INDEX "ix_2" ON ONLY "t_2" (a)'
    )


def test_mysql_show_create_table_output() -> None:
    sql = (
        "CREATE TABLE `events_202612` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`),\n"
        "  KEY `ix_202612` (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )
    renamed = rename_created(sql, "mysql", table="events_202701")
    assert renamed == sql.replace("`events_202612`", "`events_202701`", 1)


def test_comments_before_the_name_are_kept() -> None:
    sql = "CREATE TABLE /* keep */ t1 (x int)"
    assert rename_created(sql, "sqlite", table="t2") == 'CREATE TABLE /* keep */ "t2" (x int)'


def test_quote_name_escapes_quotes() -> None:
    assert quote_name('a"b', "postgres") == '"a""b"'
    assert quote_name("a`b", "mysql") == "`a``b`"


@pytest.mark.parametrize(
    "sql",
    ["CREATE VIEW v AS SELECT 1", "DROP TABLE t", "CREATE TABLE (x int)", "SELECT 1"],
)
def test_other_statements_are_refused(sql: str) -> None:
    with pytest.raises(UnsupportedSQLError, match="cannot rename"):
        rename_created(sql, "sqlite", table="x", index="y")


def test_create_index_needs_the_new_index_name() -> None:
    with pytest.raises(UnsupportedSQLError, match="new index name"):
        rename_created("CREATE INDEX a ON t (x)", "sqlite", table="t2")
