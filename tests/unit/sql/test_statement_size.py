"""Statement size: a configurable limit refused before parsing, and linear cost below it.

No test asserts elapsed time: the large statements only have to finish inside a 60 s hang
guard (quadratic rendering took minutes at 100,000 parameters).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import tenantdb
from tenantdb import ConfigError, UnsupportedSQLError
from tenantdb.core.sql import check_statement_size, parse_template, scan
from tenantdb.core.sql._render import render_tree

HANG_GUARD = 60.0


def _config(**extra: Any) -> dict[str, Any]:
    return {
        "dialect": "sqlite",
        "datasources": {"ds0": {"url": "sqlite:///unused-0.db"}},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"a": {"datasource": "ds0"}},
        **extra,
    }


def _finishes(fn: Callable[[], object]) -> object:
    """Run ``fn`` in a thread; fail (instead of hanging the suite) after the guard."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(HANG_GUARD)
    assert not worker.is_alive(), f"did not finish within the {HANG_GUARD:.0f} s hang guard"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


def test_size_check_counts_utf8_bytes() -> None:
    check_statement_size("SELECT 1", 8)
    with pytest.raises(UnsupportedSQLError, match="max_statement_bytes"):
        check_statement_size("SELECT 12", 8)
    # 4 characters, 8 bytes: the limit is in bytes, as the database receives them.
    check_statement_size("éééé", 8)
    with pytest.raises(UnsupportedSQLError, match="9 bytes"):
        check_statement_size("éééé1", 8)


def test_cluster_refuses_a_statement_over_its_limit_before_parsing() -> None:
    cluster = tenantdb.connect(_config(max_statement_bytes=100))
    long_sql = "SELECT id FROM orders WHERE note = '" + "x" * 100 + "'"
    with pytest.raises(UnsupportedSQLError) as info:
        cluster.explain(long_sql, tenant="a")
    message = str(info.value)
    assert "max_statement_bytes (100)" in message
    assert "parameters" in message
    assert cluster.router.templates.misses == 0  # refused before the parser saw it
    # The same value bound as a parameter is fine: the limit is on the SQL text.
    plan = cluster.explain("SELECT id FROM orders WHERE note = %s", ("x" * 100,), tenant="a")
    assert plan.targets


def test_default_limit_is_one_mebibyte() -> None:
    cluster = tenantdb.connect(_config())
    assert cluster.config.max_statement_bytes == 1_048_576
    with pytest.raises(UnsupportedSQLError, match="max_statement_bytes"):
        cluster.explain("SELECT '" + "x" * 1_048_576 + "'", admin=True)


@pytest.mark.parametrize("bad", [0, -1, True, "1MB"])
def test_limit_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(ConfigError, match="max_statement_bytes"):
        tenantdb.connect(_config(max_statement_bytes=bad))


def test_hundred_thousand_parameter_in_list_routes_in_a_tenant_session() -> None:
    cluster = tenantdb.connect(_config())
    n = 100_000
    sql = "SELECT id FROM orders WHERE id IN (" + ", ".join(["%s"] * n) + ")"
    plan: Any = _finishes(lambda: cluster.explain(sql, tuple(range(n)), tenant="a"))
    (target,) = plan.targets
    assert len(target.params) == n + 1  # the values and the tenant id
    assert target.params.count("a") == 1


def test_hundred_thousand_literal_in_list_routes() -> None:
    cluster = tenantdb.connect(_config())
    sql = "SELECT id FROM orders WHERE id IN (" + ", ".join(map(str, range(100_000))) + ")"
    plan: Any = _finishes(lambda: cluster.explain(sql, tenant="a"))
    assert plan.targets


def test_long_literal_under_the_limit_is_scanned_whole() -> None:
    body = "it''s " * 150_000  # 900 kB with escaped quotes all along
    scanned: Any = _finishes(lambda: scan(f"SELECT '{body}', %s", "mysql"))
    assert scanned.count == 1
    assert scanned.text == f"SELECT '{body}', :tdbp0 "


def test_rendering_replaces_each_placeholder_once() -> None:
    # Every placeholder becomes its marker, in order, whatever the list length.
    n = 20_000
    template = parse_template(
        "SELECT id FROM orders WHERE id IN (" + ", ".join(["%s"] * n) + ")", "postgres"
    )
    rendered: Any = _finishes(lambda: render_tree(template.statement.copy(), "postgres"))
    assert rendered.params == tuple(range(n))
    assert rendered.params_in_order
