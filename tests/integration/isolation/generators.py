"""Generated adversarial statements: classes of attack, spelled many ways.

``statements.py`` lists statements one by one; this module *generates* them from a few
axes (shape x position x spelling x table), so a fix that closes only the quoted statement
of a class still fails here. Every generator returns ``GenCase`` values for one dialect;
the products are sampled with a fixed seed where they are large (``sample``), so CI runs
the same statements every time.

Classes (issue 13 items 1-3, issue 21 items 1-2 and the registry):

``error_oracle_cases``
    An expression that raises a database error only for some row values (integer
    overflow, division by zero, failing casts, MariaDB strict-mode conversions, JSON and
    regular-expression functions), guarded by B's values and placed in every position of
    SELECT / UPDATE / DELETE / INSERT ... SELECT / upserts, with and without index hints.
``quoted_tenant_column_cases``
    The tenant column single-quoted, double-quoted, backticked, bracketed, upper or mixed
    case, Unicode-escaped, in every place a statement assigns or inserts it.
``null_tenant_column_cases``
    INSERTs whose tenant column is NULL, DEFAULT or a None parameter (issue 20), in those
    spellings, VALUES rows (mixed with the tenant's id), INSERT ... SELECT, UNION, upserts
    on A's and B's keys, the column or the parameter named twice; the mirror is told 'a'.
``cte_shadow_cases``
    CTE names shadowing real relations (undeclared, tenant, tenant_scoped, system
    catalogs, the registry table) in every shape whose scoping the backend resolves to
    the real relation: the CTE's own body, a forward reference, a DML target, nested WITH,
    WITH RECURSIVE.
``writable_cte_cases``
    PostgreSQL data-modifying CTEs nested in INSERT / UPDATE / DELETE / SELECT.
``registry_cases``
    The registry's tables by every spelling and in every position.

Expectations (``GenCase.expect``):

``mirror``
    The outcome through tenantdb must equal the outcome of the same statement on the
    mirror (A's rows only): if the mirror runs, tenantdb returns the same rows (row count,
    A's rows afterwards) or refuses; a driver error where the mirror has none is a leak
    (an error oracle). If the mirror fails, tenantdb refuses or fails too (with
    ``mirror_may_fail`` it may also run: the failure is the hint's, not the data's).
``blocked``
    The statement names a relation a tenant may never reach: a refusal or a driver error
    (for a name that does not exist), never a run.
``no_error``
    No oracle is comparable (an upsert that conflicts with B's key inserts on the mirror):
    tenantdb runs or refuses; a driver error is a leak.

In every case B's rows, the non-tenant tables, the undeclared table and the registry table
must stay unchanged, and no error shown to the tenant may carry B's values. This module
imports only the standard library.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

MIRROR = "mirror"
BLOCKED = "blocked"
NO_ERROR = "no_error"

DIALECTS = ("sqlite", "postgres", "mysql")
SEED = 20260213
REGISTRY_TABLE = "tenantdb_tenants"
REGISTRY_COLUMNS = ("id", "version", "data")


@dataclass(frozen=True)
class GenCase:
    name: str
    sql: str
    params: Any = None
    """A tuple for ``%s``, a dict for ``%(name)s``, or None."""
    expect: str = MIRROR
    mirror_may_fail: bool = False
    why: str = ""
    mirror_sql: str | None = None
    """The statement the mirror runs instead of ``sql`` (None: ``sql`` itself): where
    tenantdb gives NULL its meaning in a tenant session, the mirror is told it outright."""
    mirror_params: Any = None
    """The parameters the mirror gets instead of ``params`` (None: ``params``)."""
    must_run: bool = False
    """A refusal fails the case when the mirror runs the statement: tenantdb promises to
    run this shape (not only to keep B's rows safe)."""


def sample(
    cases: Sequence[GenCase], per_group: int, group: Callable[[GenCase], str]
) -> list[GenCase]:
    """At most ``per_group`` cases of each group (fixed seed); every group keeps some."""
    groups: dict[str, list[GenCase]] = {}
    for case in cases:
        groups.setdefault(group(case), []).append(case)
    rng = random.Random(SEED)
    kept: list[GenCase] = []
    for key in sorted(groups):
        members = groups[key]
        kept.extend(members if len(members) <= per_group else rng.sample(members, per_group))
    return kept


def _unique(cases: Iterable[GenCase]) -> list[GenCase]:
    seen: dict[str, GenCase] = {}
    for case in cases:
        if case.name in seen:
            raise AssertionError(f"duplicate generated case name {case.name}")
        seen[case.name] = case
    return list(seen.values())


# --- 1. error oracles -------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopedTable:
    """A tenant-scoped table: an integer and a text column, and values only B's rows hold."""

    name: str
    int_col: str
    text_col: str
    b_int: int
    b_text: str


ORACLE_TABLES = (
    ScopedTable("orders", "amount", "note", 1010, "b1"),  # strategy tenant
    ScopedTable("notes", "id", "body", 101, "b-note1"),  # single, tenant_scoped
)
#: Guards true on B's rows only (``id > 100``: every other tenant's row, the dump form).
GUARDS: dict[str, Callable[[ScopedTable, str], str]] = {
    "bint": lambda t, p: f"{p}{t.int_col} = {t.b_int}",
    "btext": lambda t, p: f"{p}{t.text_col} = '{t.b_text}'",
    "bids": lambda t, p: f"{p}id > 100",
}

Trigger = Callable[[ScopedTable, str, str], str]


def _t(template: str) -> Trigger:
    """A condition true on rows the guard ``{g}`` misses; it raises when the guard holds."""
    return lambda t, p, g: template.format(g=g, p=p, i=t.int_col, s=t.text_col)


#: Per dialect: conditions that raise a database error exactly when the guard holds.
TRIGGERS: dict[str, dict[str, Trigger]] = {
    "postgres": {
        "overflow": _t("9223372036854775807 + CASE WHEN {g} THEN {p}{i} ELSE 0 END > 0"),
        "div0": _t("1 / CASE WHEN {g} THEN 0 ELSE 1 END = 1"),
        "cast_int": _t("CAST(CASE WHEN {g} THEN {p}{s} ELSE '0' END AS INTEGER) = 0"),
        "cast_json": _t("CAST(CASE WHEN {g} THEN {p}{s} ELSE '0' END AS JSON) IS NOT NULL"),
        "regexp": _t("{p}{s} ~ CASE WHEN {g} THEN '(' ELSE '.*' END"),
    },
    "sqlite": {
        "abs_overflow": _t("abs(CASE WHEN {g} THEN -9223372036854775807 - 1 ELSE 0 END) >= 0"),
        "json": _t(
            "json_extract(CASE WHEN {g} THEN '{{' || {p}{s} ELSE '{{}}' END, '$') IS NOT NULL"
        ),
        "like_escape": _t("{p}{s} LIKE '%' ESCAPE CASE WHEN {g} THEN 'xy' ELSE 'x' END"),
    },
    "mysql": {
        "overflow": _t("9223372036854775807 + CASE WHEN {g} THEN {p}{i} ELSE 0 END > 0"),
        "div0": _t("1 / CASE WHEN {g} THEN 0 ELSE 1 END = 1"),
        "strict_concat": _t(
            "CASE WHEN {g} THEN CONCAT({p}tenant_id, ':', {p}id, ':', {p}{s}) ELSE '0' END = 0"
        ),
        "strict_cast": _t("CAST(CASE WHEN {g} THEN {p}{s} ELSE '0' END AS SIGNED) = 0"),
        # A bad REGEXP pattern is only a warning on MariaDB; EXP's range is an error.
        "exp_range": _t("EXP(CASE WHEN {g} THEN 1000 ELSE 0 END) > 0"),
    },
}

#: Index hints after a table name (``{t}``: the table), per dialect and statement kind.
HINTS: dict[str, dict[str, str]] = {
    "postgres": {},
    "sqlite": {"indexed_by": " INDEXED BY ix_tenant_{t}", "not_indexed": " NOT INDEXED"},
    "mysql": {
        "force_pk": " FORCE INDEX (PRIMARY)",
        "use_pk": " USE INDEX (PRIMARY)",
        "ignore_tenant_ix": " IGNORE INDEX (ix_tenant_{t})",
    },
}

Position = Callable[[ScopedTable, Callable[[str], str], str], str]


def _positions(dialect: str) -> dict[str, Position]:
    """Statements placing condition ``c(prefix)`` on table ``t``'s rows (``h``: a hint)."""

    def group_by(t: ScopedTable) -> str:
        return ", ".join(dict.fromkeys(f"t.{c}" for c in ("id", t.int_col, t.text_col)))

    positions: dict[str, Position] = {
        "select_where": lambda t, c, h: f"SELECT t.id FROM {t.name} t{h} WHERE {c('t.')}",
        "select_range_and": lambda t, c, h: (
            f"SELECT t.id FROM {t.name} t{h} WHERE t.id > 0 AND {c('t.')}"
        ),
        "update_where": lambda t, c, h: (
            f"UPDATE {t.name}{h} SET {t.text_col} = {t.text_col} WHERE {c('')}"
        ),
        "update_set_value": lambda t, c, h: (
            f"UPDATE {t.name} SET {t.text_col} = CASE WHEN {c('')} THEN 'y' ELSE 'z' END"
        ),
        "delete_where": lambda t, c, h: f"DELETE FROM {t.name}{h} WHERE {c('')}",
        "join_tenant_inner": lambda t, c, h: (
            f"SELECT i.id, t.id FROM order_items i JOIN {t.name} t ON {c('t.')}"
        ),
        "join_tenant_left": lambda t, c, h: (
            f"SELECT i.id, t.id FROM order_items i LEFT JOIN {t.name} t ON {c('t.')}"
        ),
        "join_shared_inner": lambda t, c, h: (
            f"SELECT c.code, t.id FROM countries c JOIN {t.name} t ON {c('t.')}"
        ),
        "join_shared_left_of": lambda t, c, h: (
            f"SELECT t.id, c.code FROM {t.name} t LEFT JOIN countries c ON {c('t.')}"
        ),
        "join_shared_right_of": lambda t, c, h: (
            f"SELECT c.code, t.id FROM countries c LEFT JOIN {t.name} t ON {c('t.')}"
        ),
        "in_subquery": lambda t, c, h: (
            f"SELECT o.id FROM orders o WHERE o.id IN (SELECT t.id FROM {t.name} t WHERE {c('t.')})"
        ),
        "exists": lambda t, c, h: (
            "SELECT c.code FROM countries c WHERE EXISTS "
            f"(SELECT 1 FROM {t.name} t WHERE {c('t.')})"
        ),
        "scalar": lambda t, c, h: f"SELECT (SELECT count(*) FROM {t.name} t WHERE {c('t.')})",
        "correlated": lambda t, c, h: (
            "SELECT o.id FROM orders o WHERE EXISTS "
            f"(SELECT 1 FROM {t.name} t WHERE t.id <> o.id AND {c('t.')})"
        ),
        "derived": lambda t, c, h: (
            f"SELECT x.id FROM (SELECT t.id FROM {t.name} t WHERE {c('t.')}) x"
        ),
        "cte_body": lambda t, c, h: (
            f"WITH x AS (SELECT t.id FROM {t.name} t WHERE {c('t.')}) SELECT id FROM x"
        ),
        "union_branch": lambda t, c, h: (
            f"SELECT t.id FROM {t.name} t WHERE t.id < 0 "
            f"UNION ALL SELECT t.id FROM {t.name} t WHERE {c('t.')}"
        ),
        "insert_select": lambda t, c, h: (
            f"INSERT INTO notes (id, body) SELECT t.id + 500, 'copy' FROM {t.name} t "
            f"WHERE {c('t.')}"
        ),
        "having": lambda t, c, h: (
            f"SELECT t.id FROM {t.name} t GROUP BY {group_by(t)} HAVING {c('t.')}"
        ),
        "order_by": lambda t, c, h: (
            f"SELECT t.id FROM {t.name} t ORDER BY CASE WHEN {c('t.')} THEN 0 ELSE 1 END, t.id"
        ),
        "select_list": lambda t, c, h: (
            f"SELECT t.id, CASE WHEN {c('t.')} THEN 1 ELSE 0 END FROM {t.name} t"
        ),
        "update_exists": lambda t, c, h: (
            "UPDATE order_items SET sku = sku WHERE EXISTS "
            f"(SELECT 1 FROM {t.name} t WHERE {c('t.')})"
        ),
        "delete_in": lambda t, c, h: (
            "DELETE FROM order_items WHERE order_id + 1000 IN "
            f"(SELECT t.id FROM {t.name} t WHERE {c('t.')})"
        ),
    }
    if dialect in ("postgres", "sqlite"):
        positions["upsert_where"] = lambda t, c, h: (
            f"INSERT INTO {t.name} (id, {t.text_col}) VALUES (101, 'x') ON CONFLICT (id) "
            f"DO UPDATE SET {t.text_col} = excluded.{t.text_col} WHERE {c(t.name + '.')}"
        )
        positions["upsert_set"] = lambda t, c, h: (
            f"INSERT INTO {t.name} (id, {t.text_col}) VALUES (101, 'x') ON CONFLICT (id) "
            f"DO UPDATE SET {t.text_col} = CASE WHEN {c(t.name + '.')} THEN 'y' ELSE 'z' END"
        )
    if dialect == "mysql":
        positions["odku_set"] = lambda t, c, h: (
            f"INSERT INTO {t.name} (id, {t.text_col}) VALUES (101, 'x') ON DUPLICATE KEY "
            f"UPDATE {t.text_col} = CASE WHEN {c(t.name + '.')} THEN 'y' ELSE 'z' END"
        )
    return positions


#: Positions that take an index hint after the (first) table name.
HINTED = {"select_where", "select_range_and", "update_where", "delete_where"}
#: Upserts that conflict with B's key: no mirror comparison (the mirror inserts).
B_KEY_UPSERTS = {"upsert_where", "upsert_set", "odku_set"}


def error_oracle_cases(dialect: str, per_group: int = 6) -> list[GenCase]:
    """Error-raising conditions x guards x tables x positions (x hints), sampled."""
    cases: list[GenCase] = []
    triggers = TRIGGERS[dialect]
    for (pname, position), (tname, trigger), (gname, guard), table in itertools.product(
        _positions(dialect).items(), triggers.items(), GUARDS.items(), ORACLE_TABLES
    ):
        hints: dict[str, str] = {"nohint": ""}
        if pname in HINTED:
            hints.update(HINTS[dialect])
            if dialect == "mysql" and pname == "delete_where":
                hints = {"nohint": ""}  # single-table DELETE takes no index hint
        for hname, hint in hints.items():

            def cond(
                prefix: str, table: ScopedTable = table, guard: Any = guard, trigger: Any = trigger
            ) -> str:
                return trigger(table, prefix, guard(table, prefix))

            sql = position(table, cond, hint.format(t=table.name))
            cases.append(
                GenCase(
                    name=f"eo-{pname}-{hname}-{tname}-{gname}-{table.name}",
                    sql=sql,
                    expect=NO_ERROR if pname in B_KEY_UPSERTS else MIRROR,
                    mirror_may_fail=hname != "nohint",
                )
            )
    # Every position and hint keeps cases; triggers, guards and tables are sampled within.
    kept = sample(cases, per_group, lambda c: "-".join(c.name.split("-")[1:3]))
    return _unique(kept)


def trigger_probes(dialect: str) -> list[tuple[str, str]]:
    """(name, DML) pairs that must fail on the raw database: each trigger fires there on
    B's rows, so the error-oracle tests can fail."""
    table = ORACLE_TABLES[0]
    probes = []
    for tname, trigger in TRIGGERS[dialect].items():
        for gname, guard in GUARDS.items():
            condition = trigger(table, "", guard(table, ""))
            probes.append((f"{tname}-{gname}", f"UPDATE orders SET note = note WHERE {condition}"))
    return probes


# --- 2. quoted spellings of the tenant column --------------------------------------------------

TENANT_COLUMN_SPELLINGS: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "'tenant_id'",
        "'TENANT_ID'",
        '"tenant_id"',
        '"Tenant_Id"',
        "`tenant_id`",
        "`TENANT_ID`",
        "[tenant_id]",
        "[Tenant_ID]",
        "TENANT_ID",
        "tEnAnT_iD",
    ),
    "postgres": (
        "'tenant_id'",
        '"tenant_id"',
        "TENANT_ID",
        "Tenant_Id",
        'U&"tenant\\005fid"',
        'U&"\\0074enant_id"',
        '"TENANT_ID"',
    ),
    "mysql": (
        "'tenant_id'",
        '"tenant_id"',
        "`tenant_id`",
        "`TENANT_ID`",
        "`Tenant_Id`",
        "TENANT_ID",
        "tEnAnT_iD",
    ),
}
#: The value written: a literal, a parameter, an expression.
TENANT_VALUES: tuple[tuple[str, str, tuple[Any, ...] | None], ...] = (
    ("literal", "'b'", None),
    ("param", "%s", ("b",)),
    ("expr", "lower('B')", None),
)
#: (table, the payload text column, an id of A's row).
WRITE_TABLES = (("orders", "note", 1), ("notes", "body", 1))


def quoted_tenant_column_cases(dialect: str, per_group: int = 8) -> list[GenCase]:
    """Every spelling x every assigning shape x value x table (sampled per shape)."""
    shapes: dict[str, str] = {
        "update_set": "UPDATE {t} SET {c} = {v} WHERE id = {a}",
        "update_set_second": "UPDATE {t} SET {s} = 'x', {c} = {v}",
        "update_set_all": "UPDATE {t} SET {c} = {v}",
        "insert_columns": "INSERT INTO {t} (id, {c}, {s}) VALUES (60, {v}, 'x')",
        "insert_select": "INSERT INTO {t} (id, {c}, {s}) SELECT id + 600, {v}, 'x' FROM {t}",
    }
    if dialect in ("postgres", "sqlite"):
        shapes |= {
            "row_value_set": "UPDATE {t} SET ({s}, {c}) = ('x', {v}) WHERE id = {a}",
            "upsert_set": (
                "INSERT INTO {t} (id, {s}) VALUES ({a}, 'x') ON CONFLICT (id) "
                "DO UPDATE SET {c} = {v}"
            ),
            "upsert_row_value": (
                "INSERT INTO {t} (id, {s}) VALUES ({a}, 'x') ON CONFLICT (id) "
                "DO UPDATE SET ({c}, {s}) = ({v}, 'y')"
            ),
            "update_from": (
                "UPDATE {t} SET {c} = {v} FROM countries c WHERE c.code = 'de' AND {t}.id = {a}"
            ),
        }
    if dialect == "mysql":
        shapes |= {
            "odku_set": (
                "INSERT INTO {t} (id, {s}) VALUES ({a}, 'x') ON DUPLICATE KEY UPDATE {c} = {v}"
            ),
            "multi_update": (
                "UPDATE {t} o JOIN countries c ON c.code = 'de' SET o.{c} = {v} WHERE o.id = {a}"
            ),
            "insert_set_form": "INSERT INTO {t} SET id = 61, {c} = {v}, {s} = 'x'",
        }
    cases: list[GenCase] = []
    for (shape, template), (si, spelling), (vname, value, params), (
        table,
        text,
        a_id,
    ) in itertools.product(
        shapes.items(),
        enumerate(TENANT_COLUMN_SPELLINGS[dialect]),
        TENANT_VALUES,
        WRITE_TABLES,
    ):
        if shape == "multi_update" and not spelling[0].isalpha() and spelling[0] != "`":
            continue  # o.'tenant_id' is not SQL anywhere
        sql = template.format(t=table, c=spelling, v=value, s=text, a=a_id)
        cases.append(
            GenCase(
                name=f"qc-{shape}-sp{si}-{vname}-{table}",
                sql=sql,
                params=params,
                why=f"the tenant column spelled {spelling}",
            )
        )
    return _unique(sample(cases, per_group, lambda c: c.name.split("-")[1]))


#: NULL, DEFAULT and None in the tenant column: (name, the value written, params, the value
#: the mirror gets instead: its tenant_id defaults to 'a', so it is told 'a' outright).
NULL_VALUES: tuple[tuple[str, str, Any, str, Any], ...] = (
    ("null", "NULL", None, "'a'", None),
    ("default", "DEFAULT", None, "'a'", None),
    ("param", "%s", (None,), "%s", ("a",)),
    ("named", "%(t)s", {"t": None}, "%(t)s", {"t": "a"}),
)


def null_tenant_column_cases(dialect: str, per_group: int = 10) -> list[GenCase]:
    """INSERTs whose tenant column is NULL, DEFAULT or a None parameter (issue 20): every
    column spelling x shape (VALUES, mixed rows, INSERT ... SELECT, a UNION, upserts on A's
    key and on B's, the parameter named twice) x value x table, sampled per shape. The row
    must land as A's (the mirror, told 'a', holds the same rows afterwards) or the statement
    be refused; B's rows never change."""
    #: Shapes tenantdb promises to run wherever the mirror runs them; the others (a UNION,
    #: an upsert on B's key) may be refused.
    promised = {
        "values",
        "mixed_rows",
        "insert_select",
        "upsert_own",
        "upsert_where",
        "odku_own",
        "insert_set_form",
    }
    shapes: dict[str, tuple[str, str]] = {
        # name: (template, expectation)
        "values": ("INSERT INTO {t} (id, {c}, {s}) VALUES (60, {v}, 'x')", MIRROR),
        "mixed_rows": (
            "INSERT INTO {t} (id, {s}, {c}) VALUES (61, 'x', {v}), (62, 'y', 'a'), (63, 'z', {v})",
            MIRROR,
        ),
        "named_twice": ("INSERT INTO {t} ({c}, id, {s}, {c}) VALUES ({v}, 64, 'x', {v})", MIRROR),
        "insert_select": (
            "INSERT INTO {t} (id, {c}, {s}) SELECT id + 600, {v}, 'x' FROM {t}",
            MIRROR,
        ),
        "union": (
            "INSERT INTO {t} (id, {c}, {s}) SELECT 65, {v}, 'x' UNION SELECT 66, 'a', 'y'",
            MIRROR,
        ),
    }
    if dialect in ("postgres", "sqlite"):
        shapes |= {
            "upsert_own": (
                "INSERT INTO {t} (id, {c}, {s}) VALUES ({a}, {v}, 'x') ON CONFLICT (id) "
                "DO UPDATE SET {s} = excluded.{s}",
                MIRROR,
            ),
            "upsert_b_key": (
                "INSERT INTO {t} (id, {c}, {s}) VALUES ({b}, {v}, 'x') ON CONFLICT (id) "
                "DO UPDATE SET {s} = excluded.{s}",
                NO_ERROR,
            ),
            "upsert_where": (
                "INSERT INTO {t} (id, {c}, {s}) VALUES ({a}, {v}, 'x') ON CONFLICT (id) "
                "DO UPDATE SET {s} = excluded.{s} WHERE {t}.tenant_id = {v}",
                MIRROR,
            ),
        }
    if dialect == "mysql":
        shapes |= {
            "odku_own": (
                "INSERT INTO {t} (id, {c}, {s}) VALUES ({a}, {v}, 'x') "
                "ON DUPLICATE KEY UPDATE {s} = VALUES({s})",
                MIRROR,
            ),
            "odku_b_key": (
                "INSERT INTO {t} (id, {c}, {s}) VALUES ({b}, {v}, 'x') "
                "ON DUPLICATE KEY UPDATE {s} = VALUES({s})",
                NO_ERROR,
            ),
            "insert_set_form": ("INSERT INTO {t} SET id = 67, {c} = {v}, {s} = 'x'", MIRROR),
        }
    cases: list[GenCase] = []
    for (shape, (template, expect)), (si, spelling), (vname, value, params, mvalue, mparams), (
        table,
        text,
        a_id,
    ) in itertools.product(
        shapes.items(),
        enumerate(TENANT_COLUMN_SPELLINGS[dialect]),
        NULL_VALUES,
        WRITE_TABLES,
    ):
        if value == "DEFAULT" and shape in ("insert_select", "union"):
            continue  # DEFAULT is a VALUES keyword only
        if shape == "upsert_where" and vname != "named":
            continue  # only one named parameter is the tenant in both places
        if dialect == "sqlite" and value == "DEFAULT":
            continue  # SQLite has no DEFAULT in VALUES; the mirror could not say it
        count = template.count("{v}")
        if isinstance(params, tuple):
            params, mparams = params * count, mparams * count
        fields = {"t": table, "c": spelling, "s": text, "a": a_id, "b": 101}
        cases.append(
            GenCase(
                name=f"nt-{shape}-sp{si}-{vname}-{table}",
                sql=template.format(v=value, **fields),
                params=params,
                expect=expect,
                why=f"the tenant column spelled {spelling}, given {value} ({params})",
                mirror_sql=template.format(v=mvalue, **fields),
                mirror_params=mparams,
                # tenantdb does not parse U&"..." names at all (refused as syntax).
                must_run=shape in promised and not spelling.startswith("U&"),
            )
        )
    return _unique(sample(cases, per_group, lambda c: c.name.split("-")[1]))


# --- 3. CTE names shadowing real relations -------------------------------------------------------


@dataclass(frozen=True)
class Relation:
    """A relation a CTE may shadow: ``name`` (what the CTE is called), ``source`` (how the
    statement reads the real relation), columns to read, and its kind."""

    name: str
    source: str
    columns: str
    kind: str  # tenant | undeclared | system | registry
    #: An INSERT column list and values, an UPDATE assignment; None: no DML shapes.
    insert: tuple[str, str] | None = None
    update: str | None = None


def relations(dialect: str) -> list[Relation]:
    rels = [
        Relation("orders", "orders", "tenant_id, id", "tenant", ("id, amount", "70, 1"),
                 "note = 'shadowed'"),
        Relation("notes", "notes", "tenant_id, id", "tenant", ("id, body", "70, 'x'"),
                 "body = 'shadowed'"),
        Relation("secrets", "secrets", "id, value", "undeclared", ("id, value", "9, 'x'"),
                 "value = 'x'"),
        Relation(REGISTRY_TABLE, REGISTRY_TABLE, "id, data", "registry",
                 ("id, version, data", "'evil', 1, '{}'"), "version = version + 1"),
    ]  # fmt: skip
    if dialect == "postgres":
        rels += [
            Relation("pg_stats", "pg_stats", "tablename, attname", "system"),
            Relation("pg_tables", "pg_tables", "schemaname, tablename", "system"),
            Relation("pg_class", "pg_class", "relname, reltuples", "system"),
            Relation("pg_namespace", "pg_namespace", "nspname", "system"),
            Relation("pg_settings", "pg_settings", "name, setting", "system", None,
                     "setting = 'b'"),
            Relation("pg_stat_user_tables", "pg_stat_user_tables", "relname, n_live_tup",
                     "system"),
            Relation("tables", "information_schema.tables", "table_name", "system"),
            Relation("pg_roles", "pg_catalog.pg_roles", "rolname", "system"),
        ]  # fmt: skip
    elif dialect == "sqlite":
        rels += [
            Relation("sqlite_master", "sqlite_master", "name, sql", "system"),
            Relation("sqlite_schema", "sqlite_schema", "name, sql", "system"),
            Relation("sqlite_temp_master", "sqlite_temp_master", "name", "system"),
            Relation("tables", "main.sqlite_master", "name", "system"),
        ]
    else:
        rels += [
            Relation("tables", "information_schema.tables", "table_name", "system"),
            Relation("user", "mysql.user", "user, host", "system"),
            Relation("processlist", "information_schema.processlist", "info", "system"),
        ]
    return rels


#: Shape name → (template, does the backend resolve the shadowed name to the real
#: relation?). ``{n}``: CTE name, ``{q}``: the real relation, ``{c}``: columns.
SHADOW_SHAPES: dict[str, tuple[str, frozenset[str]]] = {
    "own_body": (
        "WITH {n} AS (SELECT {c} FROM {q}) SELECT {c} FROM {n}",
        frozenset({"postgres", "mysql"}),
    ),
    "own_body_star": (
        "WITH {n} AS (SELECT * FROM {q}) SELECT * FROM {n}",
        frozenset({"postgres", "mysql"}),
    ),
    "own_body_filtered": (
        "WITH {n} AS (SELECT {c} FROM {q} WHERE 1 = 1) SELECT count(*) FROM {n}",
        frozenset({"postgres", "mysql"}),
    ),
    "forward_ref": (
        "WITH x AS (SELECT {c} FROM {q}), {n} AS (SELECT 1 AS k) SELECT * FROM x",
        frozenset({"postgres", "mysql"}),
    ),
    "forward_ref_chain": (
        "WITH x AS (SELECT {c} FROM {q}), y AS (SELECT * FROM x), {n} AS (SELECT 1 AS k) "
        "SELECT * FROM y",
        frozenset({"postgres", "mysql"}),
    ),
    "nested_in_exists": (
        "SELECT c.code FROM countries c WHERE EXISTS "
        "(WITH {n} AS (SELECT {c} FROM {q}) SELECT 1 FROM {n})",
        frozenset({"postgres", "mysql"}),
    ),
    "nested_in_derived": (
        "SELECT * FROM (WITH {n} AS (SELECT {c} FROM {q}) SELECT {c} FROM {n}) d",
        frozenset({"postgres", "mysql"}),
    ),
    "nested_in_scalar": (
        "SELECT (WITH {n} AS (SELECT {c} FROM {q}) SELECT count(*) FROM {n})",
        frozenset({"postgres", "mysql"}),
    ),
    "recursive_anchor": (
        "WITH RECURSIVE {n} AS (SELECT {c} FROM {q} UNION ALL SELECT {c} FROM {n} WHERE 1 = 0) "
        "SELECT {c} FROM {n}",
        frozenset(),
    ),
    "recursive_forward": (
        "WITH RECURSIVE x AS (SELECT {c} FROM {q}), {n} AS (SELECT 1 AS k) SELECT * FROM x",
        frozenset(),
    ),
    "recursive_counter": (
        "WITH RECURSIVE {n}(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM {n} WHERE k < 3) "
        "SELECT k FROM {n}",
        frozenset(),
    ),
    "union_with_cte": (
        "WITH {n} AS (SELECT 1 AS k) SELECT k FROM {n} UNION ALL "
        "SELECT count(*) FROM (SELECT {c} FROM {q}) z",
        frozenset({"sqlite", "postgres", "mysql"}),
    ),
}
#: DML targets named like a CTE: the target is always the real relation.
SHADOW_DML: dict[str, str] = {
    "dml_update": "WITH {n} AS (SELECT 1 AS k) UPDATE {q} SET {u}",
    "dml_update_where": "WITH {n} AS (SELECT 1 AS k) UPDATE {q} SET {u} WHERE 1 = 1",
    "dml_delete": "WITH {n} AS (SELECT 1 AS k) DELETE FROM {q}",
    "dml_insert": "WITH {n} AS (SELECT 1 AS k) INSERT INTO {q} ({ic}) VALUES ({iv})",
    "dml_insert_select_cte": ("WITH {n} AS (SELECT {iv}) INSERT INTO {q} ({ic}) SELECT * FROM {n}"),
}


def cte_shadow_cases(dialect: str) -> list[GenCase]:
    """Every relation kind x every shadowing shape (read and DML)."""
    cases: list[GenCase] = []
    for rel in relations(dialect):
        reachable_kind = rel.kind != "tenant"
        for shape, (template, reads_real) in SHADOW_SHAPES.items():
            qualified = "." in rel.source
            real = dialect in reads_real or (qualified and shape != "recursive_counter")
            sql = template.format(n=rel.name, q=rel.source, c=rel.columns)
            expect = BLOCKED if reachable_kind and real else MIRROR
            cases.append(GenCase(f"cte-{shape}-{rel.name}", sql, expect=expect))
        for shape, template in SHADOW_DML.items():
            if shape.startswith("dml_update") and rel.update is None:
                continue
            if shape.startswith("dml_insert") and rel.insert is None:
                continue
            if shape == "dml_delete" and rel.kind == "system":
                continue
            ic, iv = rel.insert or ("", "")
            sql = template.format(n=rel.name, q=rel.source, u=rel.update, ic=ic, iv=iv)
            if rel.name == "pg_settings":  # one setting, so the UPDATE cannot fail on others
                sql = sql.replace(" WHERE 1 = 1", "") + " WHERE name = 'search_path'"
            expect = BLOCKED if reachable_kind else MIRROR
            cases.append(GenCase(f"cte-{shape}-{rel.name}", sql, expect=expect))
    return _unique(cases)


# --- 4. writable CTEs nested in DML (PostgreSQL) -----------------------------------------------

NESTED_DML: dict[str, str] = {
    "set_tenant_b": "UPDATE {t} SET tenant_id = 'b', {s} = 'forged' WHERE id = 1 RETURNING id",
    "set_tenant_param": "UPDATE {t} SET tenant_id = %s WHERE id = 1 RETURNING id",
    "set_tenant_quoted": "UPDATE {t} SET \"tenant_id\" = 'b' WHERE id = 1 RETURNING id",
    "set_tenant_upper": "UPDATE {t} SET TENANT_ID = 'b' RETURNING id",
    "set_tenant_row_value": (
        "UPDATE {t} SET (tenant_id, {s}) = ('b', 'x') WHERE id = 1 RETURNING id"
    ),
    "update_all": "UPDATE {t} SET {s} = 'forged' RETURNING id",
    "update_b_ids": "UPDATE {t} SET {s} = 'forged' WHERE id > 100 RETURNING id",
    "delete_all": "DELETE FROM {t} RETURNING id",
    "delete_b_ids": "DELETE FROM {t} WHERE id > 100 RETURNING id",
    "insert_for_b": "INSERT INTO {t} (id, tenant_id, {s}) VALUES (90, 'b', 'forged') RETURNING id",
    "insert_for_b_select": (
        "INSERT INTO {t} (id, tenant_id, {s}) SELECT id + 90, 'b', 'x' FROM {t} RETURNING id"
    ),
    "insert_own": "INSERT INTO {t} (id, {s}) VALUES (90, 'mine') RETURNING id",
    "update_secrets": "UPDATE secrets SET value = 'x' RETURNING id",
    "delete_secrets": "DELETE FROM secrets RETURNING id",
    "insert_secrets": "INSERT INTO secrets (id, value) VALUES (9, 'x') RETURNING id",
    "update_registry": f"UPDATE {REGISTRY_TABLE} SET version = version + 1 RETURNING 1 AS id",
}
OUTER: dict[str, str] = {
    "update": "UPDATE orders SET amount = amount WHERE false",
    "update_from_cte": "UPDATE orders SET amount = amount WHERE id IN (SELECT id FROM u)",
    "delete": "DELETE FROM order_items WHERE false",
    "insert": "INSERT INTO notes (id, body) VALUES (600, 'outer')",
    "insert_select": "INSERT INTO notes (id, body) SELECT id + 600, 'outer' FROM u",
    "select": "SELECT count(*) FROM u",
    "select_sibling": "SELECT 1",
}


def writable_cte_cases(dialect: str, per_group: int = 5) -> list[GenCase]:
    if dialect != "postgres":
        return []
    cases: list[GenCase] = []
    for (iname, inner), (oname, outer), (table, text, _a) in itertools.product(
        NESTED_DML.items(), OUTER.items(), WRITE_TABLES
    ):
        if ("secrets" in inner or REGISTRY_TABLE in inner) and table != "orders":
            continue  # the nested DML names no tenant table: one table is enough
        sql = f"WITH u AS ({inner.format(t=table, s=text)}) {outer}"
        if oname == "select_sibling":
            sql = f"WITH u AS ({inner.format(t=table, s=text)}), v AS (SELECT 1) SELECT 1"
        params = ("b",) if "%s" in inner else None
        touches_private = "secrets" in inner or REGISTRY_TABLE in inner
        cases.append(
            GenCase(
                f"wcte-{iname}-{oname}-{table}",
                sql,
                params=params,
                expect=BLOCKED if touches_private else MIRROR,
            )
        )
    return _unique(sample(cases, per_group, lambda c: c.name.split("-")[1]))


# --- 6. the registry's tables by every spelling --------------------------------------------


def registry_spellings(dialect: str) -> tuple[str, ...]:
    common = (REGISTRY_TABLE, REGISTRY_TABLE.upper(), "TenantDB_Tenants")
    if dialect == "postgres":
        return (*common, f'"{REGISTRY_TABLE}"', f"public.{REGISTRY_TABLE}",
                f'"public"."{REGISTRY_TABLE}"', f"PUBLIC.{REGISTRY_TABLE.upper()}",
                'U&"tenantdb\\005ftenants"')  # fmt: skip
    if dialect == "sqlite":
        return (*common, f'"{REGISTRY_TABLE}"', f"`{REGISTRY_TABLE}`", f"[{REGISTRY_TABLE}]",
                f"main.{REGISTRY_TABLE}", f'"main"."{REGISTRY_TABLE.upper()}"',
                f"'{REGISTRY_TABLE}'")  # fmt: skip
    return (*common, f"`{REGISTRY_TABLE}`", f"`{REGISTRY_TABLE.upper()}`",
            f"{{database}}.{REGISTRY_TABLE}", f"`{{database}}`.`{REGISTRY_TABLE}`")  # fmt: skip


REGISTRY_POSITIONS: dict[str, str] = {
    "select": "SELECT id, data FROM {r}",
    "select_count": "SELECT count(*) FROM {r}",
    "exists": "SELECT id FROM orders WHERE EXISTS (SELECT 1 FROM {r})",
    "in_subquery": "SELECT id FROM orders WHERE tenant_id IN (SELECT id FROM {r})",
    "scalar": "SELECT (SELECT max(data) FROM {r})",
    "join": "SELECT o.id, r.data FROM orders o JOIN {r} r ON r.id = o.tenant_id",
    "cte": "WITH x AS (SELECT id, data FROM {r}) SELECT id, data FROM x",
    "derived": "SELECT d.id FROM (SELECT id FROM {r}) d",
    "union": "SELECT note FROM orders UNION SELECT data FROM {r}",
    "update": "UPDATE {r} SET version = version + 1 WHERE id = 'b'",
    "update_status": "UPDATE {r} SET data = replace(data, 'active', 'suspended')",
    "delete": "DELETE FROM {r} WHERE id = 'b'",
    "insert": "INSERT INTO {r} (id, version, data) VALUES ('evil', 1, '{{}}')",
    "insert_select": "INSERT INTO notes (id, body) SELECT 700, max(data) FROM {r}",
    "update_from_registry": "UPDATE orders SET note = (SELECT max(data) FROM {r})",
}


def registry_cases(dialect: str, per_group: int = 6) -> list[GenCase]:
    cases = [
        GenCase(f"reg-{pname}-sp{si}", template.format(r=spelling), expect=BLOCKED)
        for (pname, template), (si, spelling) in itertools.product(
            REGISTRY_POSITIONS.items(), enumerate(registry_spellings(dialect))
        )
    ]
    return _unique(sample(cases, per_group, lambda c: c.name.split("-")[1]))


GENERATORS: dict[str, Callable[[str], list[GenCase]]] = {
    "error_oracle": error_oracle_cases,
    "quoted_tenant_column": quoted_tenant_column_cases,
    "null_tenant_column": null_tenant_column_cases,
    "cte_shadow": cte_shadow_cases,
    "writable_cte": writable_cte_cases,
    "registry": registry_cases,
}


def counts() -> dict[str, dict[str, int]]:
    """Statements each class generates per dialect (for the report and a test)."""
    return {cls: {d: len(gen(d)) for d in DIALECTS} for cls, gen in GENERATORS.items()}
