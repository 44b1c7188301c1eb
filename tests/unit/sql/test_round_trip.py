"""Regenerated statements mean what the user wrote: the text tenantdb sends for a
statement it regenerates (tenant sessions) is parsed back and must call the same
functions, and sqlglot may not drop what the dialect cannot say. Pure: explain only."""

from __future__ import annotations

import pytest

import tenantdb

URLS = {
    "sqlite": "sqlite:////nonexistent/round-trip.db",
    "postgres": "postgresql://u@h/d",
    "mysql": "mysql://u@h/d",
}


def cluster(dialect: str) -> tenantdb.Cluster:
    return tenantdb.connect(
        {
            "dialect": dialect,
            "datasources": {"ds0": {"url": URLS[dialect]}},
            "tables": {"orders": {"strategy": "tenant"}},
            "tenants": {"a": {"datasource": "ds0"}},
        }
    )


@pytest.mark.parametrize(
    ("dialect", "expression"),
    [
        # sqlglot writes these as other functions (or drops an argument) in the same
        # dialect; the database would then compute something else.
        ("sqlite", "CAST(note AS DATE)"),
        ("sqlite", "CAST(note AS TIMESTAMP)"),
        ("sqlite", "truncate(amount, 1)"),
        ("sqlite", "greatest(amount, 1)"),
        ("mysql", "CAST(note AS TIMESTAMP)"),
        ("mysql", "date_trunc('month', note)"),
        ("postgres", "min(amount, 3)"),
        ("postgres", "iif(amount > 1, 1, 0)"),
    ],
)
def test_a_respelled_function_is_refused(dialect: str, expression: str) -> None:
    with pytest.raises(tenantdb.UnsupportedSQLError, match="cannot be sent as written"):
        cluster(dialect).explain(f"SELECT {expression} FROM orders WHERE id = 1", tenant="a")


@pytest.mark.parametrize(
    ("dialect", "expression"),
    [
        ("sqlite", "substr(note, 1, 2)"),
        ("sqlite", "date(note)"),
        ("sqlite", "ifnull(note, 'x')"),
        ("sqlite", "iif(amount > 1, 1, 0)"),
        ("postgres", "CASE WHEN amount > 1 THEN 1 ELSE 0 END"),
        ("postgres", "extract(year from note)"),
        ("postgres", "string_agg(note, ',')"),
        ("mysql", "if(amount > 1, 1, 0)"),
        ("mysql", "date_format(note, '%%Y')"),
        ("mysql", "concat(note, 'x')"),
    ],
)
def test_functions_kept_as_written_run(dialect: str, expression: str) -> None:
    plan = cluster(dialect).explain(f"SELECT {expression} FROM orders WHERE id = 1", tenant="a")
    assert len(plan.targets) == 1
