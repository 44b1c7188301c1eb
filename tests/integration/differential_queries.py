"""Schema, data and query generator of the differential test (``test_differential.py``).

Everything here is deterministic for a given seed and pure: no I/O. The test creates the
same tables in a sharded cluster and in one plain database, loads :func:`generate_data`
into both, and runs every :class:`Query` of :func:`generate_queries` on both.

Values are canonical Python values (``int``, ``Decimal``, ``float``, ``str``,
``datetime.date``, ``datetime.datetime``, ``None``); :func:`adapt` turns them into what a
backend's driver takes (SQLite has no DATE, TIMESTAMP or DECIMAL type: ISO strings and
floats there).

Text values are lowercase ASCII letters only, so that code-point order (how tenantdb merges
ORDER BY across shards), SQLite's BINARY, PostgreSQL's ``C`` and MariaDB's
``utf8mb4_general_ci`` collations all order them the same way; the case-sensitivity limit
has its own test.
"""

from __future__ import annotations

import datetime
import itertools
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

DEFAULT_SEED = 20260501
TODAY = datetime.date(2025, 12, 15)
"""The cluster's injected clock: ``audit`` has month tables 2025-01 through 2026-01."""
AUDIT_START = datetime.date(2025, 1, 1)

TENANTS: dict[str, int] = {
    "acme": 0,
    "globex": 1,
    "initech": 2,
    "umbrella": 0,
    "hooli": 1,
    "stark": 2,
}
"""Static tenants of ``orders`` → index of their datasource."""

INVOICE_BOUNDARIES = (100, 200, 350)

KINDS = ("click", "view", "buy", "share", "login", "refund")
WORDS = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
)
STATUSES = ("new", "paid", "shipped", "void")
ACTORS = ("ann", "bob", "cid", "dee", "eve")
ACTIONS = ("create", "update", "delete", "login")


# -- schema -----------------------------------------------------------------------------

_TYPES: dict[str, dict[str, str]] = {
    # placeholder type names in the DDL templates → each dialect's column type
    "postgres": {
        "DECIMAL": "NUMERIC(12,2)",
        "FLOAT": "DOUBLE PRECISION",
        "DATE": "DATE",
        "TS": "TIMESTAMP",
        "TEXT": "VARCHAR(40)",
        "UUID": "UUID",
    },
    "mysql": {
        "DECIMAL": "NUMERIC(12,2)",
        "FLOAT": "DOUBLE PRECISION",
        "DATE": "DATE",
        "TS": "DATETIME",
        "TEXT": "VARCHAR(40)",
        "UUID": "CHAR(36)",
    },
    "sqlite": {
        "DECIMAL": "NUMERIC(12,2)",
        "FLOAT": "REAL",
        "DATE": "TEXT",
        "TS": "TEXT",
        "TEXT": "VARCHAR(40)",
        "UUID": "TEXT",
    },
}

COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "countries": (
        ("id", "INTEGER NOT NULL PRIMARY KEY"),
        ("code", "TEXT NOT NULL"),
        ("name", "TEXT NOT NULL"),
        ("region", "TEXT"),
    ),
    "events": (
        ("id", "INTEGER NOT NULL PRIMARY KEY"),
        ("user_id", "INTEGER NOT NULL"),
        ("kind", "TEXT NOT NULL"),
        ("country_id", "INTEGER"),
        ("amount", "DECIMAL"),
        ("score", "FLOAT"),
        ("note", "TEXT"),
        ("created_at", "TS NOT NULL"),
    ),
    "accounts": (
        ("id", "INTEGER NOT NULL PRIMARY KEY"),
        ("account_id", "INTEGER NOT NULL"),
        ("name", "TEXT NOT NULL"),
        ("country_id", "INTEGER"),
        ("tier", "INTEGER"),
        ("opened", "DATE"),
    ),
    "ledger": (
        ("id", "INTEGER NOT NULL PRIMARY KEY"),
        ("account_id", "INTEGER NOT NULL"),
        ("kind", "TEXT NOT NULL"),
        ("amount", "DECIMAL NOT NULL"),
        ("fee", "FLOAT"),
        ("posted", "DATE NOT NULL"),
        ("memo", "TEXT"),
    ),
    "invoices": (
        ("id", "INTEGER NOT NULL PRIMARY KEY"),
        ("invoice_id", "INTEGER NOT NULL"),
        ("customer", "TEXT NOT NULL"),
        ("total", "DECIMAL"),
        ("paid", "INTEGER NOT NULL"),
        ("due", "DATE"),
    ),
    "audit": (
        ("id", "INTEGER NOT NULL PRIMARY KEY"),
        ("actor", "TEXT NOT NULL"),
        ("action", "TEXT NOT NULL"),
        ("weight", "FLOAT"),
        ("created_at", "TS NOT NULL"),
    ),
    "visits": (
        ("id", "INTEGER NOT NULL PRIMARY KEY"),
        ("token", "UUID NOT NULL"),
        ("kind", "TEXT NOT NULL"),
        ("hits", "INTEGER"),
    ),
    "orders": (
        ("id", "INTEGER NOT NULL PRIMARY KEY"),
        ("tenant_id", "TEXT NOT NULL"),
        ("customer", "TEXT NOT NULL"),
        ("amount", "DECIMAL"),
        ("status", "TEXT NOT NULL"),
        ("placed", "DATE NOT NULL"),
    ),
}
"""Logical tables → (column, type template); every table has the unique integer ``id``."""


def create_table_sql(table: str, dialect: str) -> str:
    """The CREATE TABLE statement of ``table`` for ``dialect`` (no placeholders)."""
    types = _TYPES[dialect]
    columns = []
    for name, spec in COLUMNS[table]:
        head, _, rest = spec.partition(" ")
        columns.append(f"{name} {types.get(head, head)}{' ' + rest if rest else ''}")
    return f"CREATE TABLE {table} ({', '.join(columns)})"


def insert_sql(table: str) -> str:
    """``INSERT INTO table (every column) VALUES (%s, ...)``."""
    names = [name for name, _ in COLUMNS[table]]
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"


_SHARED = {"tenant_scoped": False}

DECLARED_KEY_TYPES: dict[str, str] = {"events": "int", "visits": "uuid", "audit": "datetime"}
"""Tables whose ``key_type`` the cluster declares; the others leave it unset."""


def cluster_config(urls: Sequence[str]) -> dict[str, Any]:
    """The sharded cluster over three datasources ``ds0``..``ds2`` (one URL each)."""
    names = [f"ds{i}" for i in range(len(urls))]
    return {
        "datasources": {name: {"url": url} for name, url in zip(names, urls, strict=True)},
        "binding_tables": [["accounts", "ledger"]],
        "tables": {
            # Sharded tables without a tenant column, read in plain sessions. Some declare
            # key_type (a non-canonical key spelling must then be answered), the others do
            # not (such a spelling may be refused): the spelling shapes cover both.
            "events": {
                "strategy": "hash_mod",
                "key": "user_id",
                "shards": 6,
                "key_type": DECLARED_KEY_TYPES["events"],
                **_SHARED,
            },
            "visits": {
                "strategy": "hash_mod",
                "key": "token",
                "shards": 4,
                "key_type": DECLARED_KEY_TYPES["visits"],
                **_SHARED,
            },
            "accounts": {"strategy": "mod", "key": "account_id", "shards": 4, **_SHARED},
            "ledger": {"strategy": "mod", "key": "account_id", "shards": 4, **_SHARED},
            "invoices": {
                "strategy": "range",
                "key": "invoice_id",
                "boundaries": list(INVOICE_BOUNDARIES),
                **_SHARED,
            },
            "audit": {
                "strategy": "time_range",
                "key": "created_at",
                "interval": "month",
                "start": AUDIT_START.isoformat(),
                "pre_create": 1,
                "key_type": DECLARED_KEY_TYPES["audit"],
                **_SHARED,
            },
            "countries": {"strategy": "broadcast"},
            "orders": {"strategy": "tenant"},
        },
        "tenants": {tenant: {"datasource": names[index]} for tenant, index in TENANTS.items()},
    }


# -- data -------------------------------------------------------------------------------

Row = tuple[Any, ...]


def generate_data(seed: int = DEFAULT_SEED) -> dict[str, list[Row]]:
    """Rows of every table (canonical Python values, columns in :data:`COLUMNS` order)."""
    rng = random.Random(seed)

    def maybe(value: Any, null_share: float) -> Any:
        return None if rng.random() < null_share else value

    def money(low: int, high: int) -> Decimal:
        return Decimal(rng.randint(low * 100, high * 100)) / 100

    def day(start: datetime.date, span_days: int) -> datetime.date:
        return start + datetime.timedelta(days=rng.randrange(span_days))

    def moment(start: datetime.date, span_days: int) -> datetime.datetime:
        base = datetime.datetime.combine(day(start, span_days), datetime.time())
        return base + datetime.timedelta(seconds=rng.randrange(86_400))

    data: dict[str, list[Row]] = {}
    data["countries"] = [
        (i, f"c{chr(96 + i)}", WORDS[i - 1], maybe(rng.choice(("east", "west", "north")), 0.2))
        for i in range(1, 13)
    ]
    data["events"] = [
        (
            i,
            rng.randint(1, 80),
            rng.choice(KINDS),
            maybe(rng.randint(1, 12), 0.1),
            maybe(money(0, 500), 0.15),
            # some repeated scores so ORDER BY score has ties that id must break
            maybe(rng.choice((0.5, 1.25, rng.uniform(-100, 100))), 0.2),
            maybe(rng.choice(WORDS), 0.4),
            moment(datetime.date(2025, 1, 1), 365),
        )
        for i in range(1, 601)
    ]
    account_ids = rng.sample(range(1, 120), 60)
    data["accounts"] = [
        (
            1000 + n,
            account_id,
            f"{rng.choice(WORDS)} {rng.choice(WORDS)}",
            maybe(rng.randint(1, 12), 0.1),
            maybe(rng.randint(1, 4), 0.2),
            maybe(day(datetime.date(2020, 1, 1), 2000), 0.1),
        )
        for n, account_id in enumerate(account_ids, 1)
    ]
    # Most ledger rows belong to an account; some to account ids no account has.
    ledger_accounts = account_ids[:50] + list(range(120, 130))
    data["ledger"] = [
        (
            i,
            rng.choice(ledger_accounts),
            rng.choice(("credit", "debit", "fee")),
            money(-200, 800),
            maybe(round(rng.uniform(0, 5), 3), 0.3),
            day(datetime.date(2024, 6, 1), 500),
            maybe(rng.choice(WORDS), 0.5),
        )
        for i in range(1, 501)
    ]
    invoice_ids = rng.sample(range(1, 500), 220)
    data["invoices"] = [
        (
            i,
            invoice_id,
            rng.choice(WORDS),
            maybe(money(10, 2000), 0.1),
            rng.randint(0, 1),
            maybe(day(datetime.date(2025, 1, 1), 400), 0.2),
        )
        for i, invoice_id in enumerate(invoice_ids, 1)
    ]
    audit: list[Row] = []
    for i in range(1, 421):
        if i % 20 == 0:
            # exactly on a month boundary (the first instant of a period table)
            created = datetime.datetime(2025, rng.randint(1, 12), 1)
        else:
            created = moment(AUDIT_START, 365)
        audit.append(
            (
                i,
                rng.choice(ACTORS),
                rng.choice(ACTIONS),
                maybe(round(rng.uniform(0, 10), 2), 0.25),
                created,
            )
        )
    data["audit"] = audit
    tenants = sorted(TENANTS)
    data["orders"] = [
        (
            i,
            rng.choice(tenants),
            rng.choice(WORDS),
            maybe(money(1, 300), 0.1),
            rng.choice(STATUSES),
            day(datetime.date(2025, 1, 1), 300),
        )
        for i in range(1, 331)
    ]
    # after every other table, so their rows stay what they were before visits existed
    data["visits"] = [
        (
            i,
            uuid.UUID(int=rng.getrandbits(128), version=4),
            rng.choice(KINDS),
            maybe(rng.randint(0, 50), 0.2),
        )
        for i in range(1, 121)
    ]
    return data


def adapt(value: Any, dialect: str) -> Any:
    """A canonical value as ``dialect``'s driver takes it (SQLite: ISO text and floats;
    a UUID is text except on PostgreSQL)."""
    if isinstance(value, uuid.UUID) and dialect != "postgres":
        return str(value)
    if dialect != "sqlite":
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def adapt_row(row: Sequence[Any], dialect: str) -> Row:
    return tuple(adapt(value, dialect) for value in row)


def adapt_params(
    params: Sequence[Any] | Mapping[str, Any], dialect: str
) -> tuple[Any, ...] | dict[str, Any]:
    """Positional or named parameters with every value adapted for ``dialect``."""
    if isinstance(params, Mapping):
        return {name: adapt(value, dialect) for name, value in params.items()}
    return adapt_row(params, dialect)


# -- queries ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    """One generated query and how to compare its two results.

    ``ordered``: the ORDER BY is total (ends with a unique column or all group keys), so
    the row lists must be equal in order; otherwise they are compared as multisets.
    ``approx``: 0-based columns holding AVG, compared as floats with a tolerance (their
    type and scale legitimately differ: the merged AVG is SUM/COUNT in Python).
    ``tenant``: run in that tenant's session; ``admin``: run in an admin session;
    neither: a session without tenant.
    """

    shape: str
    sql: str
    params: tuple[Any, ...] | dict[str, Any] = ()
    """Positional (``%s``) or named (``%(name)s``) parameters."""
    ordered: bool = False
    approx: frozenset[int] = field(default_factory=frozenset)
    tenant: str | None = None
    admin: bool = False
    may_refuse: bool = False
    """tenantdb may refuse it (RoutingError, UnsupportedSQLError) instead of answering: a
    key spelling on a table without ``key_type``, or a time key spelling; any answer must
    still be exact. These run in their own test, not in the main run."""

    def describe(self) -> str:
        who = f"tenant={self.tenant}" if self.tenant else "admin" if self.admin else "no tenant"
        return f"[{self.shape}] ({who}) {self.sql} params={self.params!r}"


@dataclass(frozen=True, slots=True)
class _Sharded:
    """What the generator knows about one sharded table."""

    name: str
    key: str
    columns: tuple[str, ...]
    numeric: tuple[str, ...]
    """Columns SUM/AVG apply to."""
    sortable: tuple[str, ...]
    """Columns to order by (some with NULLs)."""
    groupable: tuple[str, ...]
    """Low-cardinality columns to group by / select DISTINCT."""
    key_values: Callable[[random.Random], Any]
    """A key value (may miss every row)."""


def generate_queries(
    dialect: str, data: dict[str, list[Row]], seed: int = DEFAULT_SEED
) -> list[Query]:
    """The seeded list of queries for ``dialect`` (a few hundred), every shape tenantdb is
    documented to answer exactly."""
    return _Generator(dialect, data, random.Random(seed)).run()


class _Generator:
    def __init__(self, dialect: str, data: dict[str, list[Row]], rng: random.Random) -> None:
        self.dialect = dialect
        self.data = data
        self.rng = rng
        self.queries: list[Query] = []
        user_ids = sorted({row[1] for row in data["events"]})
        account_ids = sorted({row[1] for row in data["ledger"]} | {r[1] for r in data["accounts"]})
        invoice_ids = sorted(row[1] for row in data["invoices"])
        self.tables = [
            _Sharded(
                "events",
                "user_id",
                ("id", "user_id", "kind", "country_id", "amount", "score", "note", "created_at"),
                ("amount", "score", "user_id"),
                ("score", "amount", "note", "kind", "created_at", "user_id", "country_id"),
                ("kind", "country_id", "note"),
                lambda r: r.choice(user_ids) if r.random() < 0.9 else r.randint(81, 99),
            ),
            _Sharded(
                "accounts",
                "account_id",
                ("id", "account_id", "name", "country_id", "tier", "opened"),
                ("tier", "account_id"),
                ("tier", "opened", "name", "country_id", "account_id"),
                ("tier", "country_id"),
                lambda r: r.choice(account_ids),
            ),
            _Sharded(
                "ledger",
                "account_id",
                ("id", "account_id", "kind", "amount", "fee", "posted", "memo"),
                ("amount", "fee"),
                ("fee", "amount", "memo", "posted", "account_id", "kind"),
                ("kind", "memo"),
                lambda r: r.choice(account_ids),
            ),
            _Sharded(
                "invoices",
                "invoice_id",
                ("id", "invoice_id", "customer", "total", "paid", "due"),
                ("total", "paid"),
                ("total", "due", "customer", "invoice_id", "paid"),
                ("customer", "paid"),
                lambda r: r.choice(invoice_ids) if r.random() < 0.9 else r.randint(500, 600),
            ),
            _Sharded(
                "audit",
                "created_at",
                ("id", "actor", "action", "weight", "created_at"),
                ("weight",),
                ("weight", "created_at", "actor", "action"),
                ("actor", "action"),
                lambda r: r.choice([row[4] for row in data["audit"]]),
            ),
        ]
        self.by_name = {t.name: t for t in self.tables}

    # -- helpers ----------------------------------------------------------------------

    def add(
        self,
        shape: str,
        sql: str,
        params: Sequence[Any] | Mapping[str, Any] = (),
        **options: Any,
    ) -> None:
        bound = dict(params) if isinstance(params, Mapping) else tuple(params)
        self.queries.append(Query(shape, sql, bound, **options))

    def columns(self, table: _Sharded, count: int) -> list[str]:
        """``count`` random columns of ``table``, always including ``id`` first."""
        others = [c for c in table.columns if c != "id"]
        return ["id", *self.rng.sample(others, min(count, len(others)))]

    def direction(self) -> str:
        return self.rng.choice(("", " ASC", " DESC"))

    def nulls(self) -> str:
        """An explicit NULLS FIRST/LAST now and then (MariaDB has no such syntax)."""
        if self.dialect == "mysql" or self.rng.random() < 0.6:
            return ""
        return self.rng.choice((" NULLS FIRST", " NULLS LAST"))

    def key_range(self, table: _Sharded) -> tuple[Any, Any]:
        a, b = table.key_values(self.rng), table.key_values(self.rng)
        return (a, b) if a <= b else (b, a)

    # -- shapes -----------------------------------------------------------------------

    def run(self) -> list[Query]:
        for table in self.tables:
            self.point_and_in(table)
            self.ranges(table)
            self.scans(table)
            self.ordered_pages(table)
            self.aggregates(table)
            self.grouped(table)
            self.distinct(table)
        self.time_ranges()
        self.range_boundaries()
        self.expressions()
        self.edge_cases()
        self.broadcast()
        self.joins()
        self.subqueries()
        self.unions()
        self.tenant_orders()
        self.admin_orders()
        # Last, so that adding them left every query above as it was.
        self.with_ties()
        self.key_spellings()
        self.uuid_spellings()
        self.time_spellings()
        self.derived_tables()
        return self.queries

    def point_and_in(self, t: _Sharded) -> None:
        for _ in range(4):
            cols = ", ".join(self.columns(t, 3))
            self.add(
                "point",
                f"SELECT {cols} FROM {t.name} WHERE {t.key} = %s ORDER BY id",
                [t.key_values(self.rng)],
                ordered=True,
            )
        for n in (2, 5, 12):
            keys = [t.key_values(self.rng) for _ in range(n)]
            marks = ", ".join(["%s"] * n)
            self.add(
                "in-list",
                f"SELECT * FROM {t.name} WHERE {t.key} IN ({marks}) ORDER BY id",
                keys,
                ordered=True,
            )
        keys = [t.key_values(self.rng) for _ in range(3)]
        self.add(
            "in-list-unordered",
            f"SELECT id, {t.key} FROM {t.name} WHERE {t.key} IN (%s, %s, %s)",
            keys,
        )
        self.add(
            "in-list-with-null",
            f"SELECT id FROM {t.name} WHERE {t.key} IN (%s, %s, NULL) ORDER BY id DESC",
            [t.key_values(self.rng), t.key_values(self.rng)],
            ordered=True,
        )
        self.add(
            "key-or",
            f"SELECT id, {t.key} FROM {t.name} WHERE {t.key} = %s OR {t.key} = %s ORDER BY id",
            [t.key_values(self.rng), t.key_values(self.rng)],
            ordered=True,
        )
        sort = self.rng.choice(t.sortable)
        self.add(
            "point-aggregate",
            f"SELECT COUNT(*), MIN({sort}), MAX({sort}) FROM {t.name} WHERE {t.key} = %s",
            [t.key_values(self.rng)],
        )

    def ranges(self, t: _Sharded) -> None:
        for _ in range(3):
            low, high = self.key_range(t)
            self.add(
                "key-between",
                f"SELECT id, {t.key} FROM {t.name} WHERE {t.key} BETWEEN %s AND %s "
                f"ORDER BY {t.key}{self.direction()}, id",
                [low, high],
                ordered=True,
            )
            self.add(
                "key-half-open",
                f"SELECT id FROM {t.name} WHERE {t.key} >= %s AND {t.key} < %s ORDER BY id",
                [low, high],
                ordered=True,
            )
        bound = t.key_values(self.rng)
        self.add(
            "key-less",
            f"SELECT id, {t.key} FROM {t.name} WHERE {t.key} < %s",
            [bound],
        )
        self.add(
            "key-greater-equal-count",
            f"SELECT COUNT(*) FROM {t.name} WHERE {t.key} >= %s",
            [bound],
        )
        low, high = self.key_range(t)
        self.add(
            "key-range-or",
            f"SELECT id FROM {t.name} WHERE {t.key} < %s OR {t.key} > %s ORDER BY id",
            [low, high],
            ordered=True,
        )

    def scans(self, t: _Sharded) -> None:
        self.add("full-scan", f"SELECT * FROM {t.name}")
        self.add("full-scan-ordered", f"SELECT * FROM {t.name} ORDER BY id DESC", ordered=True)
        column = self.rng.choice(t.groupable)
        self.add(
            "scan-non-key-filter",
            f"SELECT id, {column} FROM {t.name} WHERE {column} IS NOT NULL ORDER BY {column}",
        )
        self.add("scan-is-null", f"SELECT id FROM {t.name} WHERE {column} IS NULL")

    def ordered_pages(self, t: _Sharded) -> None:
        total = len(self.data[t.name])
        for _ in range(6):
            first = self.rng.choice(t.sortable)
            keys = [f"{first}{self.direction()}{self.nulls()}"]
            if self.rng.random() < 0.5:
                second = self.rng.choice([c for c in t.sortable if c != first])
                keys.append(f"{second}{self.direction()}{self.nulls()}")
            keys.append(f"id{self.direction()}")
            limit = self.rng.choice((1, 5, 10, 25))
            offset = self.rng.choice((0, 0, 3, 40, total // 2, total - 5, total + 10))
            cols = ", ".join([*self.columns(t, 2), first])
            if self.rng.random() < 0.5:
                self.add(
                    "order-limit-offset",
                    f"SELECT {cols} FROM {t.name} ORDER BY {', '.join(keys)} "
                    f"LIMIT {limit} OFFSET {offset}",
                    ordered=True,
                )
            else:
                self.add(
                    "order-limit-offset-params",
                    f"SELECT {cols} FROM {t.name} ORDER BY {', '.join(keys)} LIMIT %s OFFSET %s",
                    [limit, offset],
                    ordered=True,
                )
        # ORDER BY a column that is not selected, and by a select-list alias
        sort = self.rng.choice(t.sortable)
        self.add(
            "order-by-unselected",
            f"SELECT id FROM {t.name} ORDER BY {sort} DESC, id LIMIT 15",
            ordered=True,
        )
        self.add(
            "order-by-alias",
            f"SELECT id AS ident, {sort} AS s FROM {t.name} ORDER BY s, ident LIMIT 12 OFFSET 7",
            ordered=True,
        )
        self.add(
            "order-by-position",
            f"SELECT {sort}, id FROM {t.name} ORDER BY 1 DESC, 2 LIMIT 9",
            ordered=True,
        )
        self.add(
            "order-non-total",
            f"SELECT id, {sort} FROM {t.name} ORDER BY {sort}",
        )
        self.add(
            "limit-only-total-order",
            f"SELECT id FROM {t.name} WHERE {t.key} IS NOT NULL ORDER BY id LIMIT 7",
            ordered=True,
        )

    def aggregates(self, t: _Sharded) -> None:
        num = self.rng.choice(t.numeric)
        sort = self.rng.choice(t.sortable)
        self.add(
            "aggregate",
            f"SELECT COUNT(*), COUNT({sort}), SUM({num}), MIN({sort}), MAX({sort}) FROM {t.name}",
        )
        for num in t.numeric:
            self.add("avg", f"SELECT AVG({num}), COUNT(*) FROM {t.name}", approx=frozenset({0}))
            self.add(
                "avg-aliased",
                f"SELECT SUM({num}) AS total, AVG({num}) AS mean, MAX({num}) AS top FROM {t.name}",
                approx=frozenset({1}),
            )
        self.add(
            "aggregate-empty",
            f"SELECT COUNT(*), SUM({num}), MIN({sort}), AVG({num}) FROM {t.name} WHERE id < 0",
            approx=frozenset({3}),
        )
        group = self.rng.choice(t.groupable)
        self.add(
            "aggregate-filtered",
            f"SELECT COUNT(*), SUM({num}) FROM {t.name} WHERE {group} IS NOT NULL AND id > %s",
            [self.rng.randint(1, 200)],
        )

    def grouped(self, t: _Sharded) -> None:
        for group in t.groupable:
            num = self.rng.choice(t.numeric)
            sort = self.rng.choice(t.sortable)
            self.add(
                "group-by",
                f"SELECT {group}, COUNT(*), SUM({num}), MIN({sort}), MAX({sort}) "
                f"FROM {t.name} GROUP BY {group}",
            )
            self.add(
                "group-by-ordered",
                f"SELECT {group}, COUNT(*) AS n, AVG({num}) AS mean FROM {t.name} "
                f"GROUP BY {group} ORDER BY {group}{self.direction()}",
                ordered=True,
                approx=frozenset({2}),
            )
            self.add(
                "group-key-not-selected",
                f"SELECT COUNT(*), MAX({sort}) FROM {t.name} GROUP BY {group}",
            )
            self.add(
                "group-order-by-aggregate-alias",
                f"SELECT {group}, COUNT(*) AS n FROM {t.name} GROUP BY {group} "
                f"ORDER BY n DESC, {group} LIMIT 3",
                ordered=True,
            )
            self.add(
                "group-order-by-unselected-aggregate",
                f"SELECT {group} FROM {t.name} GROUP BY {group} "
                f"ORDER BY COUNT(*){self.direction()}, {group}",
                ordered=True,
            )
            self.add(
                "group-limit-offset",
                f"SELECT {group}, SUM({num}) AS s FROM {t.name} GROUP BY {group} "
                f"ORDER BY {group} DESC LIMIT 4 OFFSET 2",
                ordered=True,
            )
        a, b = t.groupable[0], t.groupable[1]
        self.add(
            "group-by-two",
            f"SELECT {a}, {b}, COUNT(*) FROM {t.name} GROUP BY {a}, {b} ORDER BY {a}, {b}",
            ordered=True,
        )
        self.add(
            "group-by-filtered",
            f"SELECT {a}, COUNT(*), MIN(id) FROM {t.name} WHERE id > %s GROUP BY {a}",
            [self.rng.randint(1, 300)],
        )
        self.add(
            "group-by-point",
            f"SELECT {a}, COUNT(*) FROM {t.name} WHERE {t.key} = %s GROUP BY {a} ORDER BY {a}",
            [t.key_values(self.rng)],
            ordered=True,
        )

    def distinct(self, t: _Sharded) -> None:
        for group in t.groupable:
            self.add("distinct", f"SELECT DISTINCT {group} FROM {t.name}")
            self.add(
                "distinct-ordered-limit",
                f"SELECT DISTINCT {group} FROM {t.name} ORDER BY {group} DESC LIMIT 4 OFFSET 1",
                ordered=True,
            )
        a, b = t.groupable[0], t.groupable[1]
        self.add(
            "distinct-two",
            f"SELECT DISTINCT {a}, {b} FROM {t.name} ORDER BY {a}, {b}",
            ordered=True,
        )
        self.add(
            "distinct-filtered",
            f"SELECT DISTINCT {a} FROM {t.name} WHERE id > %s",
            [self.rng.randint(1, 300)],
        )

    def time_ranges(self) -> None:
        """``audit`` by month: ranges that cross periods, start before the first period or
        end after the last one, and bounds exactly on a period's first instant."""
        ts = datetime.datetime
        windows = [
            (ts(2024, 6, 1), ts(2025, 2, 10)),
            (ts(2025, 3, 1), ts(2025, 4, 1)),
            (ts(2025, 11, 20, 12), ts(2026, 3, 1)),
            (ts(2025, 5, 31, 23, 59, 59), ts(2025, 6, 1)),
        ]
        for low, high in windows:
            self.add(
                "time-range-half-open",
                "SELECT id, actor, created_at FROM audit WHERE created_at >= %s "
                "AND created_at < %s ORDER BY created_at, id",
                [low, high],
                ordered=True,
            )
            self.add(
                "time-range-between-count",
                "SELECT actor, COUNT(*), MAX(weight) FROM audit "
                "WHERE created_at BETWEEN %s AND %s GROUP BY actor",
                [low, high],
            )
        for month in (1, 4, 7, 12):
            self.add(
                "time-point-on-boundary",
                "SELECT id, action FROM audit WHERE created_at = %s ORDER BY id",
                [ts(2025, month, 1)],
                ordered=True,
            )
        self.add(
            "time-range-open-ended",
            "SELECT id FROM audit WHERE created_at > %s ORDER BY created_at DESC, id LIMIT 10",
            [ts(2025, 10, 15)],
            ordered=True,
        )
        self.add(
            "time-range-before",
            "SELECT COUNT(*), MIN(created_at), MAX(created_at) FROM audit WHERE created_at <= %s",
            [ts(2025, 2, 14, 8)],
        )

    def range_boundaries(self) -> None:
        """``invoices`` by range: bounds exactly on the shard boundaries."""
        edges = (0, *INVOICE_BOUNDARIES, 600)
        for low, high in itertools.pairwise(edges):
            self.add(
                "range-shard-exact",
                "SELECT id, invoice_id FROM invoices WHERE invoice_id >= %s "
                "AND invoice_id < %s ORDER BY invoice_id",
                [low, high],
                ordered=True,  # invoice_id is unique
            )
        for edge in INVOICE_BOUNDARIES:
            self.add(
                "range-around-boundary",
                "SELECT invoice_id, total FROM invoices WHERE invoice_id BETWEEN %s AND %s "
                "ORDER BY invoice_id DESC",
                [edge - 3, edge + 3],
                ordered=True,
            )
            self.add(
                "range-point-boundary",
                "SELECT COUNT(*) FROM invoices WHERE invoice_id = %s OR invoice_id = %s",
                [edge, edge - 1],
            )

    def expressions(self) -> None:
        """Expressions in ORDER BY, GROUP BY and aggregates; ``*`` beside other columns;
        GROUP BY by alias and position; LIMIT 0; key conditions that cannot prune."""
        self.add(
            "order-by-expression",
            "SELECT id, score FROM events ORDER BY COALESCE(score, 0) DESC, id LIMIT 20",
            ordered=True,
        )
        self.add(
            "aggregate-of-expression",
            "SELECT kind, SUM(amount * 2) AS doubled, "
            "SUM(CASE WHEN score > 0 THEN 1 ELSE 0 END) AS positive "
            "FROM events GROUP BY kind ORDER BY kind",
            ordered=True,
        )
        self.add(
            "group-by-alias",
            "SELECT kind AS k, COUNT(*) AS n FROM events GROUP BY k ORDER BY k",
            ordered=True,
        )
        # A name that is both an output alias and a column: every backend groups by the
        # column (issue 13); the statement shows it is one, so the merge must do the same.
        expression = self.rng.choice(("amount / 10", "amount * 2", "amount + 1", "-amount"))
        self.add(
            "group-by-name-of-alias-and-column",
            f"SELECT {expression} AS amount, COUNT(*) AS n FROM events GROUP BY amount",
        )
        self.add(
            "group-by-position",
            "SELECT note, MAX(created_at) FROM events GROUP BY 1 ORDER BY 1 DESC",
            ordered=True,
        )
        self.add(
            "group-limit-param",
            "SELECT country_id, COUNT(*) AS n FROM events GROUP BY country_id "
            "ORDER BY n DESC, country_id LIMIT %s OFFSET %s",
            [4, 1],
            ordered=True,
        )
        self.add(
            "star-order-limit",
            "SELECT * FROM events ORDER BY score DESC, id LIMIT 8 OFFSET 3",
            ordered=True,
        )
        self.add(
            "star-after-column",
            "SELECT c.name, e.* FROM events e JOIN countries c ON c.id = e.country_id "
            "ORDER BY e.amount, e.id LIMIT 15 OFFSET 100",
            ordered=True,
        )
        self.add(
            "star-before-column",
            "SELECT e.*, c.code FROM countries c JOIN events e ON e.country_id = c.id "
            "ORDER BY c.code DESC, e.id LIMIT 15",
            ordered=True,
        )
        self.add("limit-zero", "SELECT id FROM events ORDER BY id LIMIT 0", ordered=True)
        self.add(
            "key-under-not",
            "SELECT id FROM events WHERE NOT (user_id = %s) ORDER BY id LIMIT 30 OFFSET 500",
            [self.by_name["events"].key_values(self.rng)],
            ordered=True,
        )
        self.add(
            "key-in-function",
            "SELECT id FROM events WHERE user_id + 0 = %s ORDER BY id",
            [self.by_name["events"].key_values(self.rng)],
            ordered=True,
        )
        self.add(
            "date-filter",
            "SELECT id, posted FROM ledger WHERE posted BETWEEN %s AND %s "
            "ORDER BY posted, id LIMIT 40",
            [datetime.date(2024, 9, 1), datetime.date(2025, 1, 31)],
            ordered=True,
        )
        self.add(
            "derived-table",
            "SELECT t.kind, COUNT(*) FROM (SELECT kind FROM events WHERE amount > %s) t "
            "GROUP BY t.kind ORDER BY t.kind",
            [Decimal("250")],
            ordered=True,
        )
        self.add(
            "order-by-avg-alias",
            "SELECT kind, AVG(score) AS m FROM events GROUP BY kind ORDER BY m DESC, kind",
            ordered=True,
            approx=frozenset({1}),
        )
        self.add(
            "group-order-by-unselected-key",
            "SELECT COUNT(*), SUM(score) FROM events GROUP BY kind ORDER BY kind DESC",
            ordered=True,
        )
        self.add(
            "group-order-by-positions",
            "SELECT kind, COUNT(*) FROM events GROUP BY kind ORDER BY 2 DESC, 1",
            ordered=True,
        )
        self.add(
            "group-over-some-shards",
            "SELECT kind, COUNT(*), SUM(amount) FROM events WHERE user_id IN (%s, %s, %s, %s) "
            "GROUP BY kind ORDER BY kind",
            [self.by_name["events"].key_values(self.rng) for _ in range(4)],
            ordered=True,
        )
        self.add(
            "group-by-date",
            "SELECT posted, COUNT(*), SUM(amount) FROM ledger GROUP BY posted "
            "ORDER BY posted DESC LIMIT 12 OFFSET 3",
            ordered=True,
        )
        self.add(
            "boolean-expression",
            "SELECT id, amount > 100, score IS NULL FROM events WHERE user_id < %s ORDER BY id",
            [20],
            ordered=True,
        )
        self.add(
            "self-join-on-key",
            "SELECT a.id, b.id FROM events a JOIN events b ON a.user_id = b.user_id "
            "WHERE a.kind = %s AND b.kind = %s ORDER BY a.id, b.id",
            ["buy", "refund"],
            ordered=True,
        )
        self.add(
            "self-subquery-on-key",
            "SELECT id FROM events WHERE user_id IN "
            "(SELECT user_id FROM events WHERE kind = %s) ORDER BY id",
            ["share"],
            ordered=True,
        )
        if self.dialect == "postgres":
            self.add(
                "offset-without-limit",
                "SELECT id FROM events ORDER BY id OFFSET 590",
                ordered=True,
            )
            self.add(
                "fetch-first",
                "SELECT id, score FROM events ORDER BY score DESC NULLS LAST, id "
                "FETCH FIRST 6 ROWS ONLY",
                ordered=True,
            )
        self.add(
            "cte",
            "WITH big AS (SELECT id, user_id, amount FROM events WHERE amount > %s) "
            "SELECT id, amount FROM big ORDER BY amount DESC, id LIMIT 10",
            [Decimal("100")],
            ordered=True,
        )

    def edge_cases(self) -> None:
        """Empty and contradictory conditions, ranges outside every shard, named
        parameters, DISTINCT inside aggregates, GROUP BY spelled in other ways."""
        ts = datetime.datetime
        events = self.by_name["events"]
        self.add(
            "key-contradiction",
            "SELECT COUNT(*), SUM(amount) FROM events WHERE user_id = %s AND user_id = %s",
            [3, 4],
        )
        self.add(
            "key-contradiction-rows",
            "SELECT id FROM events WHERE user_id = %s AND user_id = %s ORDER BY id",
            [3, 4],
            ordered=True,
        )
        self.add(
            "range-reversed-between",
            "SELECT COUNT(*) FROM invoices WHERE invoice_id BETWEEN %s AND %s",
            [300, 200],
        )
        self.add(
            "time-range-before-start",
            "SELECT COUNT(*), MAX(created_at) FROM audit WHERE created_at < %s",
            [ts(2024, 6, 1)],
        )
        self.add(
            "time-range-after-end",
            "SELECT id FROM audit WHERE created_at >= %s ORDER BY id",
            [ts(2027, 6, 1)],
            ordered=True,
        )
        self.add(
            "time-point-before-start",
            "SELECT id FROM audit WHERE created_at = %s",
            [ts(2024, 6, 1)],
        )
        self.add(
            "grouped-empty",
            "SELECT kind, COUNT(*) FROM events WHERE id < 0 GROUP BY kind",
        )
        self.add(
            "aggregate-limit-offset",
            "SELECT COUNT(*) FROM events LIMIT 1 OFFSET %s",
            [self.rng.choice((0, 1))],
        )
        self.add(
            "named-params",
            "SELECT id, kind FROM events WHERE user_id IN (%(a)s, %(b)s) AND kind <> %(k)s "
            "ORDER BY id",
            {"a": events.key_values(self.rng), "b": events.key_values(self.rng), "k": "view"},
            ordered=True,
        )
        self.add(
            "named-params-scan",
            "SELECT kind, COUNT(*) FROM events WHERE amount > %(low)s GROUP BY kind "
            "ORDER BY kind LIMIT %(n)s",
            {"low": Decimal("123.45"), "n": 4},
            ordered=True,
        )
        self.add(
            "in-broadcast-subquery",
            "SELECT id FROM events WHERE country_id IN "
            "(SELECT id FROM countries WHERE region = %s) ORDER BY id",
            ["east"],
            ordered=True,
        )
        self.add(
            "order-by-case",
            "SELECT id, score FROM events ORDER BY CASE WHEN score IS NULL THEN 1 ELSE 0 END, "
            "id LIMIT 5 OFFSET 470",
            ordered=True,
        )
        self.add("distinct-star", "SELECT DISTINCT * FROM events WHERE user_id < %s", [30])
        self.add(
            "max-distinct",
            "SELECT MAX(DISTINCT amount), MIN(DISTINCT kind) FROM events",
        )
        self.add(
            "group-by-unqualified-select-qualified",
            "SELECT e.kind, COUNT(*) FROM events e GROUP BY kind ORDER BY e.kind",
            ordered=True,
        )
        self.add(
            "group-by-qualified",
            "SELECT kind, COUNT(*) FROM events e GROUP BY e.kind ORDER BY kind",
            ordered=True,
        )
        self.add(
            "sum-distinct",
            "SELECT SUM(DISTINCT country_id) FROM events",
        )
        self.add(
            "sum-distinct-grouped",
            "SELECT kind, SUM(DISTINCT country_id) FROM events GROUP BY kind ORDER BY kind",
            ordered=True,
        )
        self.add(
            "avg-distinct",
            # 0.5 and 1.25 are scores on every shard: counted once by one database
            "SELECT AVG(DISTINCT score) FROM events",
            approx=frozenset({0}),
        )

    def broadcast(self) -> None:
        self.add("broadcast-scan", "SELECT * FROM countries ORDER BY id", ordered=True)
        self.add("broadcast-point", "SELECT name FROM countries WHERE id = %s", [3])
        self.add(
            "broadcast-group",
            "SELECT region, COUNT(*) FROM countries GROUP BY region ORDER BY region",
            ordered=True,
        )
        for table, alias, column in (
            ("events", "e", "kind"),
            ("accounts", "e", "name"),
        ):
            t = self.by_name[table]
            self.add(
                "join-broadcast",
                f"SELECT {alias}.id, {alias}.{column}, c.name FROM {table} {alias} "
                f"JOIN countries c ON c.id = {alias}.country_id ORDER BY {alias}.id",
                ordered=True,
            )
            self.add(
                "join-broadcast-point",
                f"SELECT {alias}.id, c.code FROM {table} {alias} "
                f"JOIN countries c ON c.id = {alias}.country_id "
                f"WHERE {alias}.{t.key} = %s ORDER BY {alias}.id",
                [t.key_values(self.rng)],
                ordered=True,
            )
            self.add(
                "join-broadcast-group",
                f"SELECT c.region, COUNT(*) AS n FROM {table} {alias} "
                f"JOIN countries c ON c.id = {alias}.country_id GROUP BY c.region "
                "ORDER BY c.region",
                ordered=True,
            )
            self.add(
                "left-join-broadcast",
                f"SELECT {alias}.id, c.name FROM {table} {alias} "
                f"LEFT JOIN countries c ON c.id = {alias}.country_id "
                f"ORDER BY c.name, {alias}.id LIMIT 20 OFFSET 10",
                ordered=True,
            )

    def joins(self) -> None:
        accounts = self.by_name["accounts"]
        base = (
            "SELECT a.id, a.name, l.id, l.amount FROM accounts a "
            "JOIN ledger l ON l.account_id = a.account_id"
        )
        self.add("binding-join", f"{base} ORDER BY l.id", ordered=True)
        self.add("binding-join-unordered", base)
        for _ in range(4):
            self.add(
                "binding-join-point",
                f"{base} WHERE a.account_id = %s ORDER BY l.id",
                [accounts.key_values(self.rng)],
                ordered=True,
            )
        keys = [accounts.key_values(self.rng) for _ in range(4)]
        self.add(
            "binding-join-in",
            f"{base} WHERE l.account_id IN (%s, %s, %s, %s) ORDER BY l.id",
            keys,
            ordered=True,
        )
        self.add(
            "binding-join-using",
            "SELECT account_id, a.name, l.kind FROM accounts a JOIN ledger l USING (account_id) "
            "ORDER BY l.posted DESC, l.id LIMIT 25 OFFSET 30",
            ordered=True,  # l.id (not selected) is unique: the row order is determined
        )
        self.add(
            "binding-join-using-total",
            "SELECT l.id, account_id, l.kind FROM accounts a JOIN ledger l USING (account_id) "
            "ORDER BY l.posted DESC, l.id LIMIT 25 OFFSET 30",
            ordered=True,
        )
        self.add(
            "binding-join-order-limit",
            f"{base} WHERE l.amount > %s ORDER BY l.amount DESC, l.id LIMIT 10 OFFSET 5",
            [Decimal("100.00")],
            ordered=True,
        )
        self.add(
            "binding-join-group",
            "SELECT a.name, COUNT(*) AS n, SUM(l.amount) AS total FROM accounts a "
            "JOIN ledger l ON l.account_id = a.account_id GROUP BY a.name ORDER BY a.name",
            ordered=True,
        )
        self.add(
            "binding-join-group-by-key",
            "SELECT a.account_id, COUNT(*), MIN(l.posted), MAX(l.fee), AVG(l.amount) "
            "FROM accounts a JOIN ledger l ON l.account_id = a.account_id "
            "GROUP BY a.account_id ORDER BY a.account_id",
            ordered=True,
            approx=frozenset({4}),
        )
        self.add(
            "binding-join-aggregate",
            "SELECT COUNT(*), SUM(l.amount), MAX(a.tier) FROM accounts a "
            "JOIN ledger l ON l.account_id = a.account_id WHERE l.kind = %s",
            ["fee"],
        )
        self.add(
            "binding-left-join",
            "SELECT a.id, a.account_id, l.id, l.kind FROM accounts a "
            "LEFT JOIN ledger l ON l.account_id = a.account_id ORDER BY a.id, l.id",
            ordered=True,  # l.id is NULL at most once per a.id: still a total order
        )
        self.add(
            "binding-left-join-nulls",
            "SELECT a.id, a.name FROM accounts a "
            "LEFT JOIN ledger l ON l.account_id = a.account_id WHERE l.id IS NULL ORDER BY a.id",
            ordered=True,
        )
        self.add(
            "binding-join-broadcast",
            "SELECT l.id, a.name, c.code FROM accounts a "
            "JOIN ledger l ON l.account_id = a.account_id "
            "JOIN countries c ON c.id = a.country_id ORDER BY l.id LIMIT 30",
            ordered=True,
        )

    def subqueries(self) -> None:
        self.add(
            "binding-left-join-count",
            "SELECT a.id, COUNT(l.id), SUM(l.amount) FROM accounts a "
            "LEFT JOIN ledger l ON l.account_id = a.account_id GROUP BY a.id ORDER BY a.id",
            ordered=True,
        )
        self.add(
            "binding-join-distinct",
            "SELECT DISTINCT a.tier, l.kind FROM accounts a "
            "JOIN ledger l ON l.account_id = a.account_id",
        )
        self.add(
            "binding-correlated-scalar",
            "SELECT a.id, (SELECT COUNT(*) FROM ledger l WHERE l.account_id = a.account_id) "
            "FROM accounts a ORDER BY a.id",
            ordered=True,
        )
        ledger_amount = Decimal(self.rng.randint(300, 700))
        self.add(
            "binding-in-subquery",
            "SELECT id, account_id FROM accounts WHERE account_id IN "
            "(SELECT account_id FROM ledger WHERE amount > %s) ORDER BY id",
            [ledger_amount],
            ordered=True,
        )
        self.add(
            "binding-correlated-exists",
            "SELECT a.id FROM accounts a WHERE EXISTS "
            "(SELECT 1 FROM ledger l WHERE l.account_id = a.account_id AND l.kind = %s) "
            "ORDER BY a.id",
            ["fee"],
            ordered=True,
        )
        self.add(
            "binding-correlated-not-exists",
            "SELECT a.id FROM accounts a WHERE NOT EXISTS "
            "(SELECT 1 FROM ledger l WHERE l.account_id = a.account_id) ORDER BY a.id",
            ordered=True,
        )

    def unions(self) -> None:
        self.add(
            "union-all",
            "SELECT id, kind FROM events WHERE amount > %s "
            "UNION ALL SELECT id, kind FROM events WHERE score < %s",
            [Decimal("400"), -50.0],
        )
        self.add(
            "union-all-ordered-limit",
            "SELECT id, kind FROM events WHERE amount > %s "
            "UNION ALL SELECT id, kind FROM events WHERE score < %s ORDER BY 1 DESC, 2 LIMIT 10",
            [Decimal("400"), -50.0],
            ordered=True,
        )
        self.add(
            "union-distinct-ordered",
            "SELECT kind FROM events WHERE amount > %s "
            "UNION SELECT kind FROM events WHERE score < %s ORDER BY 1",
            [Decimal("300"), 0.0],
            ordered=True,
        )

    def tenant_orders(self) -> None:
        for tenant in sorted(TENANTS):
            self.add(
                "tenant-scan",
                "SELECT * FROM orders WHERE tenant_id = %s ORDER BY id",
                [tenant],
                ordered=True,
                tenant=tenant,
            )
            self.add(
                "tenant-page",
                "SELECT id, customer, amount FROM orders WHERE tenant_id = %s "
                "ORDER BY amount DESC, id LIMIT %s OFFSET %s",
                [tenant, 5, self.rng.choice((0, 10, 40))],
                ordered=True,
                tenant=tenant,
            )
            self.add(
                "tenant-group",
                "SELECT status, COUNT(*), SUM(amount), AVG(amount) FROM orders "
                "WHERE tenant_id = %s GROUP BY status ORDER BY status",
                [tenant],
                ordered=True,
                approx=frozenset({3}),
                tenant=tenant,
            )
            self.add(
                "tenant-point",
                "SELECT id, status FROM orders WHERE tenant_id = %s AND id = %s",
                [tenant, self.rng.randint(1, 330)],
                tenant=tenant,
            )
            self.add(
                "tenant-join-broadcast",
                "SELECT o.id, c.name FROM orders o JOIN countries c ON c.name = o.customer "
                "WHERE o.tenant_id = %s ORDER BY o.id",
                [tenant],
                ordered=True,
                tenant=tenant,
            )

    def admin_orders(self) -> None:
        self.add("admin-scan", "SELECT * FROM orders", admin=True)
        self.add(
            "admin-page",
            "SELECT id, tenant_id, placed FROM orders ORDER BY placed DESC, id LIMIT 20 OFFSET %s",
            [self.rng.choice((0, 50, 300))],
            ordered=True,
            admin=True,
        )
        self.add(
            "admin-group",
            "SELECT tenant_id, COUNT(*), SUM(amount), MIN(placed), MAX(amount) FROM orders "
            "GROUP BY tenant_id ORDER BY tenant_id",
            ordered=True,
            admin=True,
        )
        self.add(
            "admin-group-status",
            "SELECT status, AVG(amount) AS mean FROM orders GROUP BY status ORDER BY status",
            ordered=True,
            approx=frozenset({1}),
            admin=True,
        )
        self.add(
            "admin-distinct",
            "SELECT DISTINCT tenant_id FROM orders ORDER BY tenant_id",
            ordered=True,
            admin=True,
        )
        self.add(
            "admin-filter",
            "SELECT id, amount FROM orders WHERE amount >= %s AND status = %s ORDER BY id",
            [Decimal("150"), "paid"],
            ordered=True,
            admin=True,
        )
        self.add(
            "admin-count",
            "SELECT COUNT(*), COUNT(amount) FROM orders WHERE tenant_id IN (%s, %s)",
            ["acme", "stark"],
            admin=True,
        )

    # -- spellings and ties (issue 13) -------------------------------------------------

    def with_ties(self) -> None:
        """``FETCH FIRST n ROWS WITH TIES`` ordered by columns with many ties (and NULLs),
        across shards, with a random n and OFFSET: every row tied with the last one counts.
        PostgreSQL only; tenantdb refuses it on the other backends."""
        ties = (
            ("events", ("kind", "country_id", "note")),
            ("accounts", ("tier", "country_id")),
            ("ledger", ("kind", "memo")),
            ("invoices", ("paid", "customer")),
            ("audit", ("actor", "action")),
        )
        if self.dialect != "postgres":
            for _ in range(2):
                table, columns = self.rng.choice(ties)
                column = self.rng.choice(columns)
                self.add(
                    "fetch-with-ties-elsewhere",
                    f"SELECT id, {column} FROM {table} ORDER BY {column} "
                    f"FETCH FIRST {self.rng.randint(1, 9)} ROWS WITH TIES",
                )
            return
        for _ in range(12):
            table, columns = self.rng.choice(ties)
            keys = self.rng.sample(columns, self.rng.choice((1, 1, 2)))
            order = ", ".join(f"{k}{self.direction()}{self.nulls()}" for k in keys)
            total = len(self.data[table])
            n = self.rng.randint(1, 12)
            offset = self.rng.choice(
                (None, 0, self.rng.randint(1, 30), self.rng.randint(40, total))
            )
            where = ""
            params: list[Any] = []
            if self.rng.random() < 0.3:
                where = " WHERE id > %s"
                params.append(self.rng.randint(1, 100))
            skip = ""
            if self.rng.random() < 0.5:
                if offset is not None:
                    skip = f" OFFSET {offset} ROWS"
                fetch = f"FETCH FIRST {n} ROWS WITH TIES"
            else:
                if offset is not None:
                    skip = " OFFSET %s ROWS"
                    params.append(offset)
                fetch = "FETCH FIRST %s ROWS WITH TIES"
                params.append(n)
            # Which rows of a tie group an OFFSET skips is arbitrary, so with an OFFSET only
            # the ordering columns are selected: their multiset is determined.
            cols = ", ".join(keys if offset is not None else ["id", *keys])
            self.add(
                "fetch-with-ties",
                f"SELECT {cols} FROM {table}{where} ORDER BY {order}{skip} {fetch}",
                params,
                # the order within a group of ties is arbitrary: compared as multisets
            )

    def int_spelling(self, value: int) -> str:
        """A string the databases read as ``value`` against an integer column."""
        return self.rng.choice(
            (f"0{value}", f" {value}", f"+{value}", f"00{value}", f"{value} ", f" +0{value}")
        )

    def key_spellings(self) -> None:
        """Integer keys written as strings that are not canonical (``'05'``, ``' 5'``,
        ``'+5'``), as parameters and as literals, in ``=`` and ``IN``. A table with a
        declared key_type must answer them; one without may refuse them."""
        for t in (self.by_name[name] for name in ("events", "accounts", "ledger", "invoices")):
            may_refuse = t.name not in DECLARED_KEY_TYPES
            for _ in range(3):
                cols = ", ".join(self.columns(t, 2))
                self.add(
                    "key-spelling-param",
                    f"SELECT {cols} FROM {t.name} WHERE {t.key} = %s ORDER BY id",
                    [self.int_spelling(t.key_values(self.rng))],
                    ordered=True,
                    may_refuse=may_refuse,
                )
            for _ in range(2):
                literal = self.int_spelling(t.key_values(self.rng))
                self.add(
                    "key-spelling-literal",
                    f"SELECT id, {t.key} FROM {t.name} WHERE {t.key} = '{literal}' ORDER BY id",
                    ordered=True,
                    may_refuse=may_refuse,
                )
            keys: list[Any] = [t.key_values(self.rng) for _ in range(4)]
            params = [self.int_spelling(k) if self.rng.random() < 0.7 else k for k in keys]
            self.add(
                "key-spelling-in-params",
                f"SELECT id, {t.key} FROM {t.name} WHERE {t.key} IN (%s, %s, %s, %s) ORDER BY id",
                params,
                ordered=True,
                may_refuse=may_refuse,
            )
            items = [
                f"'{self.int_spelling(t.key_values(self.rng))}'"
                if self.rng.random() < 0.7
                else str(t.key_values(self.rng))
                for _ in range(3)
            ]
            self.add(
                "key-spelling-in-literals",
                f"SELECT COUNT(*), MIN(id), MAX(id) FROM {t.name} "
                f"WHERE {t.key} IN ({', '.join(items)})",
                may_refuse=may_refuse,
            )

    def uuid_spelling(self, value: uuid.UUID) -> str:
        """Upper or mixed case of a UUID's canonical text."""
        text = str(value)
        if self.rng.random() < 0.5:
            return text.upper()
        return "".join(c.upper() if self.rng.random() < 0.5 else c for c in text)

    def uuid_spellings(self) -> None:
        """``visits`` (hash_mod on a UUID, key_type uuid): upper- and mixed-case keys."""
        tokens = [row[1] for row in self.data["visits"]]

        def token() -> uuid.UUID:
            if self.rng.random() < 0.85:
                return self.rng.choice(tokens)
            return uuid.UUID(int=self.rng.getrandbits(128), version=4)  # matches no row

        for _ in range(3):
            self.add(
                "uuid-spelling-param",
                "SELECT id, kind, hits FROM visits WHERE token = %s ORDER BY id",
                [self.uuid_spelling(token())],
                ordered=True,
            )
            self.add(
                "uuid-spelling-literal",
                f"SELECT id, hits FROM visits WHERE token = '{self.uuid_spelling(token())}'",
            )
        self.add(
            "uuid-spelling-in",
            "SELECT id, kind FROM visits WHERE token IN (%s, %s, %s) ORDER BY id",
            [self.uuid_spelling(token()), str(token()), self.uuid_spelling(token())],
            ordered=True,
        )
        self.add(
            "uuid-spelling-in-literals",
            "SELECT COUNT(*), SUM(hits) FROM visits WHERE token IN "
            f"('{self.uuid_spelling(token())}', '{self.uuid_spelling(token())}')",
        )

    def time_spelling(self, boundary: datetime.datetime) -> str:
        """A spelling of an instant next to ``boundary`` (a period's first instant): more
        than 6 fractional digits just before or after it, or the compact ``YYYYMMDD``."""
        before = boundary - datetime.timedelta(days=1)
        extra = self.rng.choice(("", "1", "37"))
        kind = self.rng.choice(("up", "down", "after", "compact"))
        if kind == "up":  # PostgreSQL rounds it to the boundary
            return f"{before:%Y-%m-%d} 23:59:59.999999{self.rng.choice('6789')}{extra}"
        if kind == "down":
            return f"{before:%Y-%m-%d} 23:59:59.999999{self.rng.choice('1234')}{extra}"
        if kind == "after":
            return f"{boundary:%Y-%m-%d} 00:00:00.000000{self.rng.choice('1234')}{extra}"
        return f"{boundary:%Y%m%d}"

    def time_spellings(self) -> None:
        """``audit`` by month: time keys with sub-microsecond fractions and compact dates,
        near period boundaries (the data has rows exactly on them), as literals and
        parameters, in points, IN lists and ranges. Answered exactly or refused."""
        months = [datetime.datetime(2025, m, 1) for m in range(2, 13)]
        months.append(datetime.datetime(2026, 1, 1))

        def spelled() -> str:
            return self.time_spelling(self.rng.choice(months))

        for _ in range(5):
            self.add(
                "time-spelling-point-literal",
                f"SELECT id, action FROM audit WHERE created_at = '{spelled()}' ORDER BY id",
                ordered=True,
                may_refuse=True,
            )
            self.add(
                "time-spelling-point-param",
                "SELECT id, actor FROM audit WHERE created_at = %s ORDER BY id",
                [spelled()],
                ordered=True,
                may_refuse=True,
            )
        for _ in range(4):
            low, high = sorted(self.rng.sample(months, 2))
            low_text, high_text = self.time_spelling(low), self.time_spelling(high)
            self.add(
                "time-spelling-half-open",
                f"SELECT id, created_at FROM audit WHERE created_at >= '{low_text}' "
                f"AND created_at < '{high_text}' ORDER BY created_at, id",
                ordered=True,
                may_refuse=True,
            )
            self.add(
                "time-spelling-between-count",
                "SELECT COUNT(*), MIN(created_at), MAX(created_at) FROM audit "
                "WHERE created_at BETWEEN %s AND %s",
                [self.time_spelling(low), self.time_spelling(high)],
                may_refuse=True,
            )
            bound = spelled()
            op = self.rng.choice(("<", "<=", ">", ">="))
            self.add(
                "time-spelling-one-sided",
                f"SELECT COUNT(*), MAX(id) FROM audit WHERE created_at {op} %s",
                [bound],
                may_refuse=True,
            )
        self.add(
            "time-spelling-in",
            "SELECT id FROM audit WHERE created_at IN (%s, %s, %s) ORDER BY id",
            [spelled(), spelled(), spelled()],
            ordered=True,
            may_refuse=True,
        )

    def derived_tables(self) -> None:
        """CTEs and derived tables over the binding tables (issue 16): key conditions
        inside them prune the outer statement when its rows need their rows, and a CTE
        column that is the key joins binding tables; shapes that must keep every shard
        (a LEFT-joined CTE, a RIGHT JOIN after a key condition, a union with another
        branch, an OR outside) sit beside them."""
        accounts = self.by_name["accounts"]

        def key() -> Any:
            return accounts.key_values(self.rng)

        for _ in range(3):
            self.add(
                "cte-key-point",
                "WITH r AS (SELECT id, account_id, amount FROM ledger WHERE account_id = %s) "
                "SELECT id, amount FROM r ORDER BY id",
                [key()],
                ordered=True,
            )
            self.add(
                "derived-key-in",
                "SELECT t.id, t.kind FROM (SELECT id, account_id, kind FROM ledger "
                "WHERE account_id IN (%s, %s, %s)) t ORDER BY t.id",
                [key(), key(), key()],
                ordered=True,
            )
            self.add(
                "cte-renamed-key-condition",
                "WITH r AS (SELECT id, account_id AS acc, kind FROM ledger) "
                "SELECT id, kind FROM r WHERE acc = %s ORDER BY id",
                [key()],
                ordered=True,
            )
            self.add(
                "cte-joined-on-key-pruned",
                "WITH r AS (SELECT id, account_id, amount FROM ledger WHERE account_id = %s) "
                "SELECT a.id, r.id, r.amount FROM accounts a JOIN r ON r.account_id = a.account_id "
                "ORDER BY r.id",
                [key()],
                ordered=True,
            )
            self.add(
                "cte-left-joined-keeps-every-shard",
                "WITH r AS (SELECT id, account_id FROM ledger WHERE account_id = %s) "
                "SELECT a.id, r.id FROM accounts a LEFT JOIN r ON r.account_id = a.account_id "
                "ORDER BY a.id, r.id",
                [key()],
                ordered=True,
            )
            self.add(
                "right-join-after-key-condition",
                "SELECT l.id, l2.id FROM ledger l JOIN accounts a "
                "ON a.account_id = l.account_id AND l.account_id = %s "
                "RIGHT JOIN ledger l2 ON l2.account_id = a.account_id ORDER BY l2.id, l.id",
                [key()],
                ordered=True,
            )
            self.add(
                "derived-union-all-of-points",
                "SELECT t.id FROM (SELECT id, account_id FROM ledger WHERE account_id = %s "
                "UNION ALL SELECT id, account_id FROM accounts WHERE account_id = %s) t "
                "ORDER BY t.id",
                [key(), key()],
                ordered=True,
            )
            self.add(
                "cte-union-with-unrestricted-branch",
                "WITH r AS (SELECT id, account_id FROM ledger WHERE account_id = %s "
                "UNION ALL SELECT id, account_id FROM accounts) SELECT id FROM r ORDER BY id",
                [key()],
                ordered=True,
            )
            self.add(
                "cte-read-twice-joined-on-key",
                "WITH r AS (SELECT id, account_id, amount FROM ledger) "
                "SELECT x.id, y.id FROM r x JOIN r y ON y.account_id = x.account_id "
                "WHERE x.account_id = %s AND y.amount > x.amount ORDER BY x.id, y.id",
                [key()],
                ordered=True,
            )
            self.add(
                "cte-outer-or",
                "WITH r AS (SELECT id, account_id, amount FROM ledger WHERE account_id = %s) "
                "SELECT id FROM r WHERE account_id = %s OR amount > %s ORDER BY id",
                [key(), key(), Decimal(self.rng.randint(0, 600))],
                ordered=True,
            )
            self.add(
                "derived-aggregate-pruned",
                "SELECT n, total FROM (SELECT COUNT(*) AS n, SUM(amount) AS total FROM ledger "
                "WHERE account_id = %s) t",
                [key()],
            )
        self.add(
            "cte-joined-on-key",
            "WITH recent AS (SELECT id, account_id, amount FROM ledger WHERE amount > %s) "
            "SELECT a.id, r.id, r.amount FROM accounts a "
            "JOIN recent r ON r.account_id = a.account_id ORDER BY r.id",
            [Decimal(self.rng.randint(100, 500))],
            ordered=True,
        )
        self.add(
            "cte-grouped-by-key-joined",
            "WITH t AS (SELECT account_id, SUM(amount) AS total, COUNT(*) AS n FROM ledger "
            "GROUP BY account_id) SELECT a.id, t.total, t.n FROM accounts a "
            "JOIN t ON t.account_id = a.account_id ORDER BY a.id",
            ordered=True,
        )
        self.add(
            "correlated-through-derived",
            "SELECT a.id, (SELECT SUM(x.amount) FROM (SELECT account_id, amount FROM ledger) x "
            "WHERE x.account_id = a.account_id) FROM accounts a ORDER BY a.id",
            ordered=True,
        )
        self.add(
            "cte-select-star-pruned",
            "WITH r AS (SELECT * FROM ledger WHERE account_id = %s) "
            "SELECT id, kind FROM r ORDER BY id",
            [key()],
            ordered=True,
        )
        self.add(
            "cte-chain",
            "WITH a AS (SELECT id, account_id FROM ledger WHERE account_id IN (%s, %s)), "
            "b AS (SELECT id, account_id FROM a) SELECT id FROM b ORDER BY id",
            [key(), key()],
            ordered=True,
        )
        self.add(
            "except-on-key",
            "SELECT account_id FROM ledger EXCEPT SELECT account_id FROM accounts",
        )
        self.add(
            "intersect-on-key",
            "SELECT account_id, kind FROM ledger WHERE kind = %s "
            "INTERSECT SELECT account_id, kind FROM ledger WHERE amount > %s",
            ["fee", Decimal("100")],
        )


# -- admin scans over schema-isolated tenants (issue 14) ----------------------------------

SCHEMA_TENANTS = ("globex", "hooli", "stark")
"""Tenants of :data:`TENANTS` that are schema-isolated in the schema-tenant world; their
even-numbered orders are stored without a tenant id (written before tenantdb filled it in
for them), the odd ones through their sessions."""


def schema_cluster_config(urls: Sequence[str], schemas: Mapping[str, str]) -> dict[str, Any]:
    """Only ``orders`` over ``urls``, with the tenants of :data:`SCHEMA_TENANTS` placed in
    the schemas ``schemas`` names (tenant → schema) on their usual datasource."""
    config = cluster_config(urls)
    config["tables"] = {"orders": {"strategy": "tenant"}}
    del config["binding_tables"]
    for tenant in SCHEMA_TENANTS:
        config["tenants"][tenant].update(isolation="schema", schema=schemas[tenant])
    return config


def schema_scan_queries(seed: int = DEFAULT_SEED) -> list[Query]:
    """Admin scans that name the tenant column (GROUP BY, WHERE, ORDER BY, JOIN ... ON,
    subqueries, expressions) with schema tenants among the targets: each must answer as
    if every row carried its tenant's id."""
    rng = random.Random(seed)
    tenants = sorted(TENANTS)
    queries: list[Query] = []

    def add(shape: str, sql: str, params: Sequence[Any] = (), ordered: bool = True) -> None:
        queries.append(Query(shape, sql, tuple(params), ordered=ordered, admin=True))

    add(
        "schema-group",
        "SELECT tenant_id, COUNT(*), SUM(amount), MIN(placed) FROM orders "
        "GROUP BY tenant_id ORDER BY tenant_id",
    )
    for tenant in tenants:
        add(
            "schema-where",
            "SELECT id, tenant_id, amount FROM orders WHERE tenant_id = %s ORDER BY id",
            [tenant],
        )
    for _ in range(3):
        add(
            "schema-in",
            "SELECT COUNT(*), SUM(amount) FROM orders WHERE tenant_id IN (%s, %s)",
            rng.sample(tenants, 2),
            ordered=False,
        )
        add(
            "schema-not",
            "SELECT COUNT(*) FROM orders WHERE tenant_id <> %s AND status = %s",
            [rng.choice(tenants), rng.choice(STATUSES)],
            ordered=False,
        )
        add(
            "schema-order",
            "SELECT id, tenant_id, placed FROM orders ORDER BY tenant_id DESC, id "
            "LIMIT 20 OFFSET %s",
            [rng.choice((0, 40, 150, 300))],
        )
    add("schema-distinct", "SELECT DISTINCT tenant_id FROM orders ORDER BY tenant_id")
    add(
        "schema-group-status",
        "SELECT tenant_id, status, COUNT(*) FROM orders WHERE amount >= %s "
        "GROUP BY tenant_id, status ORDER BY tenant_id, status",
        [Decimal(rng.randint(20, 200))],
    )
    add(
        "schema-qualified",
        "SELECT o.tenant_id, COUNT(*) FROM orders o WHERE o.status = %s "
        "GROUP BY o.tenant_id ORDER BY o.tenant_id",
        [rng.choice(STATUSES)],
    )
    add(
        "schema-expression",
        "SELECT UPPER(tenant_id) AS t, COUNT(*) FROM orders GROUP BY UPPER(tenant_id) ORDER BY t",
    )
    add(
        "schema-case",
        "SELECT CASE WHEN tenant_id = %s THEN 'mine' ELSE 'other' END AS side, COUNT(*) "
        "FROM orders GROUP BY 1 ORDER BY 1",
        [rng.choice(SCHEMA_TENANTS)],
    )
    add(
        "schema-join",
        "SELECT o.id, p.id FROM orders o JOIN orders p ON p.tenant_id = o.tenant_id "
        "AND p.customer = o.customer AND p.id < o.id ORDER BY o.id, p.id",
    )
    add(
        "schema-semijoin",
        "SELECT id, tenant_id FROM orders WHERE tenant_id IN "
        "(SELECT tenant_id FROM orders WHERE amount > %s AND status = %s) ORDER BY id",
        [Decimal(rng.randint(250, 299)), "void"],
    )
    return queries
