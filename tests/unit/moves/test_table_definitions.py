"""How a move makes a table the target lacks from the source's definition, per backend,
and what it refuses to make (the servers' side: tests/integration/test_move_isolations.py).
Pure."""

from __future__ import annotations

import pytest

from tenantdb.core.moves import (
    PostgresColumn,
    PostgresConstraint,
    mysql_table,
    postgres_index,
    postgres_table,
    sqlite_table,
)

COLUMNS = (
    PostgresColumn("id", "integer", True, None),
    PostgresColumn("Note", "character varying(40)", False, "'x'::character varying", collation="C"),
    PostgresColumn("amount", "numeric(10,2)", True, "0"),
)
CONSTRAINTS = (
    PostgresConstraint("orders_amount_check", "c", "CHECK ((amount >= (0)::numeric))"),
    PostgresConstraint("orders_pkey", "p", "PRIMARY KEY (id)"),
    PostgresConstraint("orders_note_key", "u", 'UNIQUE ("Note")'),
)
INDEX = "CREATE INDEX orders_amount ON orders USING btree (amount)"


def test_a_postgres_table_is_written_from_its_catalog_rows_unqualified() -> None:
    create, index = postgres_table("orders", COLUMNS, CONSTRAINTS, [INDEX])
    assert create == (
        'CREATE TABLE "orders" ("id" integer NOT NULL,'
        ' "Note" character varying(40) COLLATE "C" DEFAULT \'x\'::character varying,'
        ' "amount" numeric(10,2) DEFAULT 0 NOT NULL,'
        ' CONSTRAINT "orders_pkey" PRIMARY KEY (id),'
        ' CONSTRAINT "orders_note_key" UNIQUE ("Note"),'
        ' CONSTRAINT "orders_amount_check" CHECK ((amount >= (0)::numeric)))'
    )
    assert index == INDEX


@pytest.mark.parametrize(
    ("column", "constraint", "message"),
    [
        (PostgresColumn("id", "integer", True, None, identity="d"), None, "identity column"),
        (PostgresColumn("id", "integer", True, "(a + 1)", generated="s"), None, "generated"),
        (
            PostgresColumn("id", "integer", True, "nextval('orders_id_seq'::regclass)"),
            None,
            "from a sequence",
        ),
        (
            PostgresColumn("id", "integer", True, None),
            PostgresConstraint("fk", "f", "FOREIGN KEY (id) REFERENCES other(id)"),
            "foreign key",
        ),
    ],
)
def test_what_a_copy_could_not_reproduce_is_refused(
    column: PostgresColumn, constraint: PostgresConstraint | None, message: str
) -> None:
    with pytest.raises(ValueError, match=f"table 'orders'.*{message}"):
        postgres_table("orders", [column], [constraint] if constraint else [], [])


def test_a_postgres_index_names_its_table_unqualified() -> None:
    printed = 'acme."Orders"'
    assert (
        postgres_index(f"CREATE INDEX i ON {printed} USING btree (a)", printed, "Orders")
        == 'CREATE INDEX i ON "Orders" USING btree (a)'
    )
    assert (
        postgres_index(f"CREATE INDEX i ON ONLY {printed} USING btree (a)", printed, "Orders")
        == 'CREATE INDEX i ON ONLY "Orders" USING btree (a)'
    )
    with pytest.raises(ValueError, match="unexpected index definition"):
        postgres_index("CREATE INDEX i ON other.t USING btree (a)", printed, "Orders")


def test_a_postgres_table_needs_columns() -> None:
    with pytest.raises(ValueError, match="no columns"):
        postgres_table("orders", [], [], [])


SHOWN = "CREATE TABLE `orders` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB"


def test_a_mariadb_table_is_made_in_the_target_schema() -> None:
    (statement,) = mysql_table(SHOWN, "orders", "acme_2")
    assert statement.startswith("CREATE TABLE `acme_2`.`orders` (\n  `id` int(11)")
    assert statement.endswith("ENGINE=InnoDB")
    assert mysql_table(SHOWN, "orders", None) == (SHOWN,)


def test_a_mariadb_definition_with_a_foreign_key_or_of_another_table_is_refused() -> None:
    with pytest.raises(ValueError, match="foreign key"):
        mysql_table(SHOWN.replace("PRIMARY KEY", "FOREIGN KEY"), "orders", "s")
    with pytest.raises(ValueError, match="unexpected definition"):
        mysql_table(SHOWN, "items", "s")


def test_a_sqlite_table_is_made_from_its_stored_text() -> None:
    table = "CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT)"
    index = "CREATE INDEX orders_note ON orders (note)"
    assert sqlite_table("orders", table, [index]) == (table, index)
    with pytest.raises(ValueError, match="foreign key"):
        sqlite_table("orders", table.replace("TEXT", "REFERENCES notes(id)"), [])
