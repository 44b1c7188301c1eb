"""Fuzz of the SQL front end (parse, template, tenant confinement, routing) with no database.

``cluster.explain(sql, params, tenant="a")`` runs on clusters of the three dialects (a
SQLite file that is never created, PostgreSQL and MariaDB URLs on port 1 that nothing
answers: explain never connects) over random text, token soups from an SQL alphabet,
mutations of the statements of the isolation suite, and deeply nested expressions, each
with random parameters.

Invariant: explain returns a RoutePlan (whose ``to_dict()`` works) or raises a subclass
of ``tenantdb.Error``; any other exception is a bug. The work is bounded by the inputs
(sizes, nesting depths, union branches), not by the clock: ``HANG_LIMIT_S`` only catches a
call that effectively never ends (the slowest inputs take a few seconds at most on a busy
machine), it is not a benchmark. Derandomized with no example database, so CI fuzzes the
same inputs each run; the number of inputs is printed and recorded as test properties.
"""

from __future__ import annotations

import collections
import functools
import importlib.util
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tenantdb

#: A hang guard, not a timing test: far above any normal call (the slowest nestings took
#: up to 2.8 s on a busy 2-core machine), so only a real hang or blow-up trips it.
HANG_LIMIT_S = 30.0
DIALECTS = ("sqlite", "postgres", "mysql")
COUNTS: collections.Counter[str] = collections.Counter()


def _load_statements() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "integration" / "isolation" / "statements.py"
    spec = importlib.util.spec_from_file_location("_isolation_statements", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


STATEMENTS = _load_statements()

KEYWORDS = (
    "SELECT",
    "FROM",
    "WHERE",
    "JOIN",
    "LEFT",
    "RIGHT",
    "FULL",
    "CROSS",
    "NATURAL",
    "ON",
    "USING",
    "UNION",
    "ALL",
    "INTERSECT",
    "EXCEPT",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "WITH",
    "RECURSIVE",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "EXISTS",
    "IS",
    "NULL",
    "LIKE",
    "BETWEEN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "DISTINCT",
    "CONFLICT",
    "DO",
    "NOTHING",
    "DUPLICATE",
    "KEY",
    "REPLACE",
    "RETURNING",
    "LATERAL",
    "OVER",
    "PARTITION",
    "CREATE",
    "DROP",
    "TABLE",
    "ALTER",
    "PRAGMA",
    "SHOW",
    "COPY",
    "CALL",
    "EXPLAIN",
    "TRUE",
    "FALSE",
    "DEFAULT",
    "OUTFILE",
    "IGNORE",
    "count(*)",
    "max(",
    "lower(",
    "pg_sleep(",
    "sleep(",
    "now()",
)
IDENTIFIERS = (
    "orders",
    "order_items",
    "countries",
    "settings",
    "secrets",
    "pg_class",
    "sqlite_master",
    "tenant_id",
    "id",
    "amount",
    "note",
    "order_id",
    "sku",
    "o",
    "i",
    "x",
    "public",
    "b",
    "main",
    "information_schema",
    '"orders"',
    '"ORDERS"',
    "`orders`",
    "ORDERS",
    "*",
)
PUNCTUATION = (
    "(",
    ")",
    ",",
    ";",
    ".",
    "=",
    "<>",
    "!=",
    "<",
    ">",
    "+",
    "-",
    "/",
    "||",
    "::",
    "'",
    '"',
    "`",
    "%s",
    "%(a)s",
    "%(t)s",
    "%%",
    "%",
    "?",
    "$1",
    ":x",
    "@x",
    "@@x",
    "--",
    "/*",
    "*/",
    "/*!",
    "#",
    "\n",
    "\\",
    "0",
    "1",
    "101",
    "'a'",
    "'b'",
    "''",
    "'o''brien'",
    "1e9",
)
TOKENS = KEYWORDS + IDENTIFIERS + PUNCTUATION

param_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["a", "b", "%s", "'; DROP TABLE orders; --"]),
    st.binary(max_size=8),
)
params_strategy = st.one_of(
    st.none(),
    st.lists(param_values, max_size=5).map(tuple),
    st.lists(param_values, max_size=5),
    st.dictionaries(st.sampled_from(["a", "t", "id", "x"]), param_values, max_size=3),
)


def _cluster_config(dialect: str, directory: Path) -> dict[str, Any]:
    url = {
        "sqlite": f"sqlite:///{directory / 'never-created.db'}",
        "postgres": "postgresql://app@127.0.0.1:1/fuzz",
        "mysql": "mysql://app@127.0.0.1:1/fuzz",
    }[dialect]
    return {
        "dialect": dialect,
        "tenant_column": "tenant_id",
        "datasources": {"ds0": {"url": url}},
        "tables": {
            "orders": {"strategy": "tenant"},
            "order_items": {"strategy": "tenant"},
            "countries": {"strategy": "broadcast"},
            "settings": {"strategy": "single", "tenant_scoped": False},
        },
        "tenants": {"a": {"datasource": "ds0"}, "b": {"datasource": "ds0"}},
    }


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tenantdb.Cluster]]:
    directory = tmp_path_factory.mktemp("fuzz")
    built = {d: tenantdb.connect(_cluster_config(d, directory)) for d in DIALECTS}
    yield built
    for cluster in built.values():
        cluster.close()
    assert not (directory / "never-created.db").exists(), "explain opened the SQLite file"


def explain_everywhere(
    clusters: dict[str, tenantdb.Cluster], kind: str, sql: str, params: Any
) -> None:
    for dialect, cluster in clusters.items():
        COUNTS[kind] += 1
        started = time.perf_counter()
        try:
            plan = cluster.explain(sql, params, tenant="a")
        except tenantdb.Error:
            COUNTS[f"{kind}: errors"] += 1
        else:
            assert isinstance(plan, tenantdb.RoutePlan)
            plan.to_dict()
            COUNTS[f"{kind}: plans"] += 1
        elapsed = time.perf_counter() - started
        assert elapsed < HANG_LIMIT_S, f"{dialect}: explain took {elapsed:.1f} s on {sql!r:.300}"


def report(kind: str, record_property: Callable[[str, object], None], capsys: Any) -> None:
    record_property(f"{kind}_inputs", COUNTS[kind])
    total = sum(v for k, v in COUNTS.items() if ":" not in k)
    with capsys.disabled():
        print(
            f"\n[front-end fuzz] {kind}: {COUNTS[kind]} inputs ({COUNTS[kind + ': plans']} plans, "
            f"{COUNTS[kind + ': errors']} tenantdb errors); {total} inputs so far"
        )


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def test_random_text(
    clusters: dict[str, tenantdb.Cluster], record_property: Any, capsys: Any
) -> None:
    @fuzz_settings(400)
    @given(
        st.one_of(st.text(max_size=120), st.text(alphabet="()'\";,.*=%s?-/ \n\\`$@#", max_size=60)),
        params_strategy,
    )
    def fuzz(sql: str, params: Any) -> None:
        explain_everywhere(clusters, "text", sql, params)

    fuzz()
    report("text", record_property, capsys)
    assert COUNTS["text"] >= 400 * len(DIALECTS)


def test_token_soup(
    clusters: dict[str, tenantdb.Cluster], record_property: Any, capsys: Any
) -> None:
    @fuzz_settings(500)
    @given(
        st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40),
        st.sampled_from([" ", "", "\n", "  "]),
        params_strategy,
    )
    def fuzz(tokens: list[str], separator: str, params: Any) -> None:
        explain_everywhere(clusters, "tokens", separator.join(tokens), params)

    fuzz()
    report("tokens", record_property, capsys)
    assert COUNTS["tokens"] >= 500 * len(DIALECTS)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Any]:
    """A statement of the isolation suite, changed 1-4 times; mostly with its own params."""
    case = draw(st.sampled_from(STATEMENTS.CASES))
    sql: str = case.sql
    params = case.params if draw(st.integers(0, 9)) < 7 else draw(params_strategy)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(
            st.sampled_from(
                [
                    "insert_char",
                    "delete",
                    "replace_char",
                    "insert_token",
                    "replace_token",
                    "delete_token",
                    "duplicate",
                    "truncate",
                ]
            )
        )
        if not sql:
            sql = draw(st.sampled_from(TOKENS))
            continue
        at = draw(st.integers(0, len(sql)))
        if op == "insert_char":
            sql = sql[:at] + draw(st.characters()) + sql[at:]
        elif op == "replace_char":
            sql = sql[:at] + draw(st.sampled_from("()'\";,.=%?-*/ `$@#\\\n0ab")) + sql[at + 1 :]
        elif op == "delete":
            sql = sql[:at] + sql[at + draw(st.integers(1, 8)) :]
        elif op == "truncate":
            sql = sql[:at]
        elif op == "duplicate":
            sql = sql[:at] + sql[max(0, at - 20) : at] + sql[at:]
        else:
            words = sql.split(" ")
            k = draw(st.integers(0, len(words) - 1))
            if op == "insert_token":
                words.insert(k, draw(st.sampled_from(TOKENS)))
            elif op == "replace_token":
                words[k] = draw(st.sampled_from(TOKENS))
            elif len(words) > 1:
                del words[k]
            sql = " ".join(words)
    return sql, params


def test_mutated_statements(
    clusters: dict[str, tenantdb.Cluster], record_property: Any, capsys: Any
) -> None:
    @fuzz_settings(600)
    @given(mutated())
    def fuzz(mutation: tuple[str, Any]) -> None:
        explain_everywhere(clusters, "mutations", *mutation)

    fuzz()
    report("mutations", record_property, capsys)
    assert COUNTS["mutations"] >= 600 * len(DIALECTS)


def test_unmutated_statements(
    clusters: dict[str, tenantdb.Cluster], record_property: Any, capsys: Any
) -> None:
    for case in STATEMENTS.CASES:
        explain_everywhere(clusters, "seeds", case.sql, case.params)
    report("seeds", record_property, capsys)
    assert COUNTS["seeds"] == len(STATEMENTS.CASES) * len(DIALECTS)


NESTINGS = (
    ("SELECT ", "(", "1", ")"),
    ("SELECT tenant_id FROM orders WHERE ", "NOT ", "id = 1", ""),
    ("SELECT tenant_id FROM orders WHERE ", "(id = 1 OR ", "1=1", ")"),
    (
        "SELECT tenant_id FROM orders WHERE id IN ",
        "(SELECT order_id FROM order_items WHERE id IN ",
        "(1)",
        ")",
    ),
    ("SELECT 1 FROM ", "(SELECT * FROM ", "orders", ") x"),
    ("SELECT tenant_id, id FROM orders", " UNION SELECT tenant_id, id FROM orders", "", ""),
    ("SELECT ", "-", "1", ""),
    ("SELECT ", "1 + ", "1", ""),
)


DEPTHS = (1, 10, 100, 300, 500, 700, 1000)
#: A UNION chain costs about 1 ms per branch to analyse (no hang): it stops at 300
#: branches to bound the test's work.
MAX_UNION_BRANCHES = 300


def _from_deep_stack(frames: int, call: Callable[[], None]) -> None:
    """Run ``call`` ``frames`` Python frames deeper: applications call from deep stacks
    (web frameworks, ORMs), which leaves less of the recursion limit to the parser."""
    if frames == 0:
        call()
    else:
        _from_deep_stack(frames - 1, call)


@pytest.mark.parametrize("shape", NESTINGS, ids=[repr(s[1].strip()[:24]) for s in NESTINGS])
def test_deep_nesting(
    clusters: dict[str, tenantdb.Cluster],
    shape: tuple[str, str, str, str],
    record_property: Any,
    capsys: Any,
) -> None:
    head, open_, middle, close = shape
    depths = [d for d in DEPTHS if "UNION" not in open_ or d <= MAX_UNION_BRANCHES]
    for depth in depths:
        sql = head + open_ * depth + middle + close * depth
        call = functools.partial(explain_everywhere, clusters, "nesting", sql, None)
        for frames in (0, 150):
            _from_deep_stack(frames, call)
    report("nesting", record_property, capsys)
