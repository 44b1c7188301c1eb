"""Property: random statements over the tenant tables never cross the tenant boundary.

A small grammar (``StatementGen``) writes SELECT (joins, LEFT JOINs, derived tables, CTEs,
UNION branches), UPDATE, DELETE (also UPDATE ... FROM, DELETE ... USING and MySQL's
multi-table forms), INSERT ... VALUES and INSERT ... SELECT over ``orders``,
``order_items`` and ``notes`` (a single table declared tenant_scoped) with random aliases
(``orders`` may be an alias of ``order_items``), nested boolean predicates (AND / OR /
NOT, comparisons with literals and parameters that name tenants ``a`` and ``b``, IN
lists, IS NULL, EXISTS, IN and scalar subqueries, correlated or not). The SQL is valid on
all three backends, so a driver error is a finding, not noise.

Each statement runs as tenant ``a``. Invariants:

- it runs, or raises TenantIsolationError / UnsupportedSQLError / SQLSyntaxError; an
  INSERT that names ``b`` (or copies a tenant_id column) and an UPDATE that assigns the
  tenant column (in any spelling the database reads as tenant_id) must raise
  TenantIsolationError; an INSERT that names only ``a`` or omits the column must run;
- B's rows (every row whose tenant_id is not ``a``) and the non-tenant tables are
  unchanged, compared exactly in Python;
- every tenant_id column returned is ``a`` (the first column of every SELECT is one);
- the rows, the row count of a write and A's rows afterwards equal what the same statement
  gives on the mirror database that holds only A's rows.

Examples per backend: ``EXAMPLES``; derandomized, no example database, so CI runs the same
statements every time. The count of statements run and refused is printed and recorded as
test properties.

On both fronts (``front``): the asyncio front runs ``ASYNC_EXAMPLES``, a third as many
(derandomized too). Which statements are refused and how they are rewritten is decided by
the router both fronts share; the smaller sample shows the asyncio front executes them alike.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import tenantdb
from fronts import Front

from ..conftest import Backend
from .conftest import BACKEND_MARKS, IsolationEnv, Outcome, backend_param, multiset
from .statements import TENANT

EXAMPLES = {"sqlite": 500, "postgres": 150, "mysql": 150}
ASYNC_EXAMPLES = {"sqlite": 170, "postgres": 50, "mysql": 50}
REFUSALS = (tenantdb.TenantIsolationError, tenantdb.UnsupportedSQLError, tenantdb.SQLSyntaxError)

INT_COLUMNS = {"orders": ("id", "amount"), "order_items": ("id", "order_id"), "notes": ("id",)}
TEXT_COLUMNS = {
    "orders": ("tenant_id", "note"),
    "order_items": ("tenant_id", "sku"),
    "notes": ("tenant_id", "body"),
}
#: The column an INSERT fills besides id and tenant_id, and its kind; the text column an
#: UPDATE may set.
PAYLOAD = {
    "orders": ("amount", "int"),
    "order_items": ("order_id", "int"),
    "notes": ("body", "text"),
}
TEXT_PAYLOAD = {"orders": "note", "order_items": "sku", "notes": "body"}
INT_VALUES = (0, 1, 2, 3, 5, 101, 103, 105, 1010, 1030)
TEXT_VALUES = ("a", "b", "a1", "b1", "sku1", "sku101", "x")
ALIASES = ("o", "i", "x", "y", "z", "t1", "orders", "order_items", "notes")
#: ``notes`` is the single table declared tenant_scoped.
TABLE_NAMES = ("orders", "order_items", "notes")
OPERATORS = ("=", "<>", "<", ">", "<=", ">=")
#: Ways to write the tenant column that each database reads as tenant_id.
TENANT_SPELLINGS = {
    "postgres": ("tenant_id", "TENANT_ID", "Tenant_Id", '"tenant_id"'),
    "mysql": ("tenant_id", "TENANT_ID", "`tenant_id`", "`Tenant_ID`"),
    "sqlite": ("tenant_id", "TENANT_ID", '"tenant_id"', '"TENANT_ID"', "`Tenant_Id`"),
}


class Ref:
    """A table (or derived table / CTE with the same columns) visible under ``name``."""

    def __init__(self, table: str, name: str, sql: str) -> None:
        self.table, self.name, self.sql = table, name, sql


class StatementGen:
    """Draws one statement; ``params`` collects its parameters in textual order."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any], dialect: str) -> None:
        self.draw = draw
        self.dialect = dialect
        #: Named parameters (``%(p1)s``): CTE bodies are drawn after the text before them.
        self.params: dict[str, Any] = {}
        #: CTEs are left out where a backend cannot take them (MariaDB's INSERT ... SELECT).
        self.allow_cte = True
        self.used: set[str] = set()
        self.ctes: list[str] = []
        #: 'run' (must run), 'refuse' (must raise TenantIsolationError) or 'any'.
        self.expect = "any"
        #: Tables a subquery must not read (MySQL: the target of an UPDATE/DELETE).
        self.forbidden: set[str] = set()

    # --- small draws -------------------------------------------------------------------
    def pick(self, options: Any) -> Any:
        return self.draw(st.sampled_from(list(options)))

    def chance(self, percent: int) -> bool:
        return bool(self.draw(st.integers(0, 99)) < percent)

    def name_for(self, table: str) -> str:
        # Aliases include the other table's name (``order_items AS orders``).
        free = [a for a in ALIASES if a not in self.used and a != table]
        free.append(f"t{len(self.used) + 2}_{table[:1]}")  # never used yet: pool never empty
        if table not in self.used:
            free.append(table)  # the bare table name, unaliased
        name = str(self.pick(free))
        self.used.add(name)
        return name

    def value(self, kind: str) -> str:
        options = INT_VALUES if kind == "int" else TEXT_VALUES
        value = self.pick(options)
        if self.chance(40):
            return self.param(value)
        return str(value) if kind == "int" else f"'{value}'"

    def param(self, value: Any) -> str:
        name = f"p{len(self.params) + 1}"
        self.params[name] = value
        return f"%({name})s"

    def column(self, scope: list[Ref], kind: str) -> str:
        ref = self.pick(scope)
        columns = INT_COLUMNS if kind == "int" else TEXT_COLUMNS
        return f"{ref.name}.{self.pick(columns[ref.table])}"

    # --- table references ---------------------------------------------------------------
    def table_ref(self, depth: int, tables: tuple[str, ...] = TABLE_NAMES) -> Ref:
        table = str(self.pick(tables))
        name = self.name_for(table)
        shapes = ("table", "table", "table", "derived", "cte" if self.allow_cte else "derived")
        shape = self.pick(shapes) if depth > 0 else "table"
        if shape == "table":
            sql = table if name == table else f"{table} {self.pick(('', 'AS '))}{name}"
            return Ref(table, name, sql)
        inner = Ref(table, self.name_for(table), "")
        inner.sql = inner.name if inner.name == table else f"{table} {inner.name}"
        where = f" WHERE {self.predicate([inner], depth - 1)}" if self.chance(70) else ""
        body = f"SELECT * FROM {inner.sql}{where}"
        if name == table:  # a derived table or CTE needs a name of its own
            name = self.name_for(table)
        if shape == "derived":
            return Ref(table, name, f"({body}) {self.pick(('', 'AS '))}{name}")
        cte = f"c{len(self.ctes) + 1}"
        self.ctes.append(f"{cte} AS ({body})")
        return Ref(table, name, f"{cte} {name}")

    # --- predicates -----------------------------------------------------------------------
    def predicate(self, scope: list[Ref], depth: int) -> str:
        simple = ("cmp", "cmp", "cmp_columns", "in_list", "null", "const")
        nested = ("and", "or", "or", "not", "exists", "in_subquery", "scalar")
        kind = self.pick(simple + nested if depth > 0 else simple)
        if kind == "cmp":
            value_kind = self.pick(("int", "text"))
            op = self.pick(OPERATORS)
            return f"{self.column(scope, value_kind)} {op} {self.value(value_kind)}"
        if kind == "cmp_columns":
            value_kind = self.pick(("int", "text"))
            left = self.column(scope, value_kind)
            return f"{left} {self.pick(OPERATORS)} {self.column(scope, value_kind)}"
        if kind == "in_list":
            value_kind = self.pick(("int", "text"))
            column = self.column(scope, value_kind)
            values = ", ".join(self.value(value_kind) for _ in range(self.draw(st.integers(1, 3))))
            return f"{column} {self.pick(('IN', 'NOT IN'))} ({values})"
        if kind == "null":
            column = self.column(scope, self.pick(("int", "text")))
            return f"{column} IS {self.pick(('NULL', 'NOT NULL'))}"
        if kind == "const":
            return str(self.pick(("1 = 1", "1 = 0")))
        if kind in ("and", "or"):
            left = self.predicate(scope, depth - 1)
            right = self.predicate(scope, depth - 1)
            return f"({left} {kind.upper()} {right})"
        if kind == "not":
            return f"NOT ({self.predicate(scope, depth - 1)})"
        tables = tuple(t for t in TABLE_NAMES if t not in self.forbidden) or TABLE_NAMES
        inner = self.table_ref(0, tables)
        inner_scope = [inner, *scope]
        where = f" WHERE {self.predicate(inner_scope, depth - 1)}" if self.chance(80) else ""
        if kind == "exists":
            return f"{self.pick(('', 'NOT '))}EXISTS (SELECT 1 FROM {inner.sql}{where})"
        inner_column = self.column([inner], "int")
        if kind == "in_subquery":
            outer = self.column(scope, "int")
            op = self.pick(("IN", "NOT IN"))
            return f"{outer} {op} (SELECT {inner_column} FROM {inner.sql}{where})"
        aggregate = self.pick((f"max({inner_column})", f"min({inner_column})", "count(*)"))
        outer = self.column(scope, "int")
        op = self.pick(OPERATORS)
        return f"{outer} {op} (SELECT {aggregate} FROM {inner.sql}{where})"

    # --- statements ---------------------------------------------------------------------------
    def select_core(self, wide: bool) -> str:
        first = self.table_ref(2)
        scope = [first]
        sql_from = first.sql
        if self.chance(45):
            second = self.table_ref(1)
            join = self.pick(("JOIN", "LEFT JOIN", "INNER JOIN"))
            key = self.pick(("order_id", "id")) if second.table == "order_items" else "id"
            on = f"{second.name}.{key}"
            condition = f"{on} = {first.name}.id"
            if self.chance(50):
                condition = (
                    f"({condition} {self.pick(('AND', 'OR'))} {self.predicate([first, second], 1)})"
                )
            sql_from += f" {join} {second.sql} ON {condition}"
            scope.append(second)
        columns = [f"{first.name}.tenant_id", f"{first.name}.id"]
        if wide:
            for ref in scope[1:]:
                columns += [f"{ref.name}.tenant_id", f"{ref.name}.id"]
        where = f" WHERE {self.predicate(scope, 3)}" if self.chance(80) else ""
        return f"SELECT {', '.join(columns)} FROM {sql_from}{where}"

    def select(self) -> str:
        branches = self.draw(st.integers(1, 3)) if self.chance(35) else 1
        if branches == 1:
            body = self.select_core(wide=True)
        else:
            parts = [self.select_core(wide=False)]
            for _ in range(branches - 1):
                operator = self.pick(("UNION", "UNION ALL"))
                parts += [operator, self.select_core(wide=False)]
            body = " ".join(parts)
        return f"WITH {', '.join(self.ctes)} {body}" if self.ctes else body

    def update(self) -> str:
        table = str(self.pick(TABLE_NAMES))
        if self.dialect == "mysql":
            self.forbidden.add(table)
        name = self.name_for(table) if self.chance(50) else table
        self.used.add(name)
        target = Ref(table, name, table if name == table else f"{table} AS {name}")
        column, kind = PAYLOAD[table]
        text_column = TEXT_PAYLOAD[table]
        options = ("literal", "param", "arithmetic", "scalar", "text")
        shape = self.pick(options) if kind == "int" else "text"
        if self.chance(12):
            shape = "tenant"
        if shape == "tenant":  # never allowed, whatever the value
            self.expect = "refuse"
            spelled = self.pick(TENANT_SPELLINGS[self.dialect])
            value = self.value("text")
            if self.dialect != "mysql" and self.chance(40):
                assignment = f"({text_column}, {spelled}) = ({self.value('text')}, {value})"
            else:
                assignment = f"{spelled} = {value}"
        elif shape == "text":
            assignment = f"{text_column} = {self.value('text')}"
        elif shape == "arithmetic":
            assignment = f"{column} = {column} + {self.value('int')}"
        elif shape == "scalar":
            others = tuple(t for t in TABLE_NAMES if t not in self.forbidden)
            inner = self.table_ref(0, others)
            where = f" WHERE {self.predicate([inner, target], 1)}" if self.chance(70) else ""
            assignment = f"{column} = (SELECT count(*) FROM {inner.sql}{where})"
        else:
            assignment = f"{column} = {self.value('int')}"
        where = f" WHERE {self.predicate([target], 3)}" if self.chance(85) else ""
        return f"UPDATE {target.sql} SET {assignment}{where}"

    def delete(self) -> str:
        table = str(self.pick(TABLE_NAMES))
        if self.dialect == "mysql":
            self.forbidden.add(table)
        self.used.add(table)
        target = Ref(table, table, table)
        where = f" WHERE {self.predicate([target], 3)}" if self.chance(90) else ""
        return f"DELETE FROM {table}{where}"

    def join_target(self) -> tuple[Ref, Ref, str]:
        """Target and joined table of a multi-table UPDATE/DELETE and their join condition."""
        table, joined = (str(self.pick(TABLE_NAMES)) for _ in range(2))
        if self.dialect == "mysql":
            self.forbidden |= {table, joined}
        target = Ref(table, self.name_for(table), "")
        target.sql = table if target.name == table else f"{table} {target.name}"
        other = self.table_ref(0, (joined,))
        key = self.pick(("order_id", "id")) if joined == "order_items" else "id"
        return target, other, f"{other.name}.{key} = {target.name}.id"

    def update_join(self) -> str:
        """PostgreSQL/SQLite UPDATE ... FROM; MySQL multi-table UPDATE. The new value is a
        constant: which rows change is then deterministic, whichever row a join picks."""
        target, other, condition = self.join_target()
        column, kind = PAYLOAD[target.table]
        value = self.value(kind)
        where = f" AND {self.predicate([target, other], 2)}" if self.chance(70) else ""
        if self.dialect == "mysql":
            return (
                f"UPDATE {target.sql} JOIN {other.sql} ON {condition} "
                f"SET {target.name}.{column} = {value} WHERE 1 = 1{where}"
            )
        if target.name != target.table:
            target.sql = f"{target.table} AS {target.name}"
        return (
            f"UPDATE {target.sql} SET {column} = {value} FROM {other.sql} WHERE {condition}{where}"
        )

    def delete_join(self) -> str:
        """MySQL multi-table DELETE, PostgreSQL DELETE ... USING (SQLite has neither)."""
        if self.dialect == "sqlite":
            return self.delete()
        target, other, condition = self.join_target()
        where = f" AND {self.predicate([target, other], 2)}" if self.chance(70) else ""
        if self.dialect == "mysql":
            return (
                f"DELETE {target.name} FROM {target.sql} JOIN {other.sql} ON {condition} "
                f"WHERE 1 = 1{where}"
            )
        if target.name != target.table:
            target.sql = f"{target.table} AS {target.name}"
        return f"DELETE FROM {target.sql} USING {other.sql} WHERE {condition}{where}"

    def tenant_value(self, allow_column: str | None = None) -> str | None:
        """None: omit the column; else the SQL for its value (and ``expect`` updated)."""
        options = ["omit", "a", "a_param", "b", "b_param"]
        if allow_column:
            options.append("column")
        choice = self.pick(options)
        if choice == "omit":
            return None
        if choice in ("b", "b_param", "column"):
            self.expect = "refuse"
        if choice == "column":
            return allow_column
        tenant = TENANT if choice.startswith("a") else "b"
        if choice.endswith("_param"):
            return self.param(tenant)
        return f"'{tenant}'"

    def insert_values(self) -> str:
        table = str(self.pick(TABLE_NAMES))
        other, kind = PAYLOAD[table]
        rows = self.draw(st.integers(1, 3))
        with_tenant = self.chance(60)
        self.expect = "run"
        values = []
        for k in range(rows):
            row = [str(900 + k)]
            if with_tenant:
                tenant = self.tenant_value()
                if tenant is None:
                    tenant = "'a'"
                row.append(tenant)
            row.append(self.value(kind))
            values.append(f"({', '.join(row)})")
        spelled = self.pick(TENANT_SPELLINGS[self.dialect])
        columns = f"id, {spelled + ', ' if with_tenant else ''}{other}"
        return f"INSERT INTO {table} ({columns}) VALUES {', '.join(values)}"

    def insert_select(self) -> str:
        table = str(self.pick(TABLE_NAMES))
        other, kind = PAYLOAD[table]
        self.expect = "run"
        self.allow_cte = self.dialect != "mysql"
        source = self.table_ref(1)
        tenant = self.tenant_value(allow_column=f"{source.name}.tenant_id")
        spelled = self.pick(TENANT_SPELLINGS[self.dialect])
        columns = f"id, {'' if tenant is None else spelled + ', '}{other}"
        picked = [f"{source.name}.id + 5000"]
        if tenant is not None:
            picked.append(tenant)
        picked.append(self.column([source], kind))
        where = f" WHERE {self.predicate([source], 2)}" if self.chance(70) else ""
        select = f"SELECT {', '.join(picked)} FROM {source.sql}{where}"
        if self.ctes:
            select = f"WITH {', '.join(self.ctes)} {select}"
        return f"INSERT INTO {table} ({columns}) {select}"

    def statement(self) -> str:
        kind = self.pick(
            (
                *("select", "select", "select", "update", "delete", "insert", "insert_select"),
                *("update_join", "delete_join"),
            )
        )
        return str(getattr(self, kind if kind != "insert" else "insert_values")())


def tenant_columns(outcome: Outcome) -> list[int]:
    return [i for i, c in enumerate(outcome.columns) if c.lower() == "tenant_id"]


def check_example(
    iso: IsolationEnv, sql: str, params: dict[str, Any], expect: str, stats: Any
) -> None:
    iso.restore()
    before = iso.others()
    args = params or None
    stats["examples"] += 1
    try:
        outcome = iso.run(sql, args)
    except REFUSALS as exc:
        after = iso.others()
        assert after == before, f"refused, yet B's rows changed\n{sql}\n{params}"
        if expect == "run":
            pytest.fail(f"refused an INSERT the contract allows: {exc}\n{sql}\n{params}")
        if expect == "refuse" and not isinstance(exc, tenantdb.TenantIsolationError):
            pytest.fail(f"refused with {exc!r}, not TenantIsolationError\n{sql}")
        stats["refused"] += 1
        stats[f"refused: {str(exc)[:70]}"] += 1
        return
    except tenantdb.DatabaseError as exc:
        iso.reset_cluster()
        try:
            iso.on_mirror(sql, args)
        except Exception as mirror_exc:
            pytest.fail(f"test bug: the grammar wrote invalid SQL ({mirror_exc})\n{sql}\n{params}")
        pytest.fail(f"driver error through tenantdb only: {exc!r}\n{sql}\n{params}")
    stats["ran"] += 1
    after = iso.others()
    assert after == before, f"B's rows changed\n{sql}\n{params}\nbefore {before}\nafter {after}"
    assert expect != "refuse", f"ran although it names another tenant\n{sql}\n{params}"
    if outcome.rows is not None:
        indexes = tenant_columns(outcome)
        assert indexes, f"test bug: no tenant_id column\n{sql}"
        assert indexes[0] == 0, f"test bug: tenant_id is not the first column\n{sql}"
        for row in outcome.rows:
            for i in indexes:
                assert row[i] in (TENANT, None), f"row of another tenant: {row}\n{sql}\n{params}"
    expected = iso.on_mirror(sql, args)
    if outcome.rows is not None:
        assert expected.rows is not None
        got, want = multiset(outcome.rows), multiset(expected.rows)
        assert got == want, (
            f"rows differ from A's data alone\n{sql}\n{params}\n"
            f"extra {[r for r in got if r not in want]}\n"
            f"missing {[r for r in want if r not in got]}"
        )
    else:
        assert outcome.rowcount == expected.rowcount, (
            f"rowcount {outcome.rowcount}, on A's data alone {expected.rowcount}\n{sql}\n{params}"
        )
    own, want_own = iso.own(), iso.mirror_own()
    assert own == want_own, f"A's rows differ from A's data alone\n{sql}\n{params}"


@pytest.mark.parametrize("backend", [backend_param(name) for name in BACKEND_MARKS], indirect=True)
def test_random_statements_stay_confined(
    backend: Backend,
    iso: IsolationEnv,
    front: Front,
    record_property: Callable[[str, object], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    stats: collections.Counter[str] = collections.Counter()
    examples = (EXAMPLES if front.name == "sync" else ASYNC_EXAMPLES)[backend.name]

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def run(data: st.DataObject) -> None:
        gen = StatementGen(data.draw, backend.dialect)
        sql = gen.statement()
        check_example(iso, sql, gen.params, gen.expect, stats)

    try:
        run()
    finally:
        record_property("examples", stats["examples"])
        record_property("ran", stats["ran"])
        record_property("refused", stats["refused"])
        with capsys.disabled():
            reasons = sorted(
                (k for k in stats if k.startswith("refused: ")), key=lambda k: -stats[k]
            )
            print(
                f"\n[isolation property {backend.name}, {front.name}] "
                f"{stats['examples']} statements: {stats['ran']} ran, {stats['refused']} refused"
                + "".join(f"\n    {stats[k]} x {k}" for k in reasons[:5])
            )
    assert stats["examples"] >= examples
    # Every generated SELECT/UPDATE/DELETE is a shape the contract confines rather than
    # refuses; only INSERTs naming another tenant must be refused. Mostly refusing would
    # make the property vacuous.
    assert stats["ran"] >= stats["examples"] // 2, f"most statements were refused: {dict(stats)}"
