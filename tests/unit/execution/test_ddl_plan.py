"""Pure parts of the schema runner: planning, period lists and copy names (no I/O)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

import tenantdb
from tenantdb import RoutingError, UnsupportedSQLError
from tenantdb.admin._ddl import (
    DdlReport,
    DdlStep,
    StatementReport,
    clone_index_name,
    plan_periods,
    plan_schema,
)


def _config(interval: str, start: str, pre_create: int, datasources: int = 2) -> dict[str, Any]:
    names = [f"ds{i}" for i in range(datasources)]
    return {
        "dialect": "postgres",
        # Never connected to: planning does no I/O.
        "datasources": {n: {"url": f"postgresql://nobody@127.0.0.1:9/{n}"} for n in names},
        "tables": {
            "events": {
                "strategy": "time_range",
                "key": "created_at",
                "interval": interval,
                "start": start,
                "pre_create": pre_create,
            },
            "accounts": {"strategy": "mod", "key": "account_id", "shards": 4},
            "countries": {"strategy": "broadcast"},
        },
    }


def _cluster(config: dict[str, Any], today: datetime.date) -> tenantdb.Cluster:
    return tenantdb.connect(config, today=lambda: today)


def _physical(cluster: tenantdb.Cluster) -> list[tuple[str, str]]:
    return [(p.physical, p.datasource) for p in plan_periods(cluster)["events"]]


def test_month_periods_cross_the_year_boundary() -> None:
    cluster = _cluster(_config("month", "2026-10-01", 2), datetime.date(2026, 12, 30))
    assert _physical(cluster) == [
        ("events_202610", "ds0"),
        ("events_202611", "ds1"),
        ("events_202612", "ds0"),
        ("events_202701", "ds1"),
        ("events_202702", "ds0"),
    ]


def test_day_periods_cross_new_year() -> None:
    cluster = _cluster(_config("day", "2026-12-29", 3, datasources=1), datetime.date(2026, 12, 31))
    assert [name for name, _ in _physical(cluster)] == [
        "events_20261229",
        "events_20261230",
        "events_20261231",
        "events_20270101",
        "events_20270102",
        "events_20270103",
    ]


def test_year_periods() -> None:
    cluster = _cluster(_config("year", "2025-06-01", 1, datasources=3), datetime.date(2026, 12, 31))
    assert _physical(cluster) == [
        ("events_2025", "ds0"),
        ("events_2026", "ds1"),
        ("events_2027", "ds2"),
    ]


def test_the_injected_today_decides() -> None:
    config = _config("month", "2026-10-01", 1)
    early = _physical(_cluster(config, datetime.date(2026, 10, 15)))
    late = _physical(_cluster(config, datetime.date(2027, 1, 1)))
    assert [n for n, _ in early] == ["events_202610", "events_202611"]
    assert [n for n, _ in late][-2:] == ["events_202701", "events_202702"]


def test_plan_schema_fans_out_and_keeps_percent_literal() -> None:
    cluster = _cluster(_config("month", "2026-11-01", 1), datetime.date(2026, 11, 5))
    planned = plan_schema(
        cluster,
        "CREATE TABLE accounts (account_id INT, note TEXT DEFAULT '50%');\n"
        "CREATE INDEX ix_note ON accounts (note);\n"
        "CREATE TABLE countries (code TEXT);\n"
        "CREATE TABLE misc (id INT);",
    )
    kinds = ["CREATE TABLE", "CREATE INDEX", "CREATE TABLE", "CREATE TABLE"]
    assert [p.kind for p in planned] == kinds
    assert [t.tables["accounts"] for t in planned[0].targets] == [f"accounts_{i}" for i in range(4)]
    # The driver placeholder is %s, so a literal % travels doubled.
    assert "'50%%'" in planned[0].targets[0].sql
    assert [t.sql for t in planned[1].targets][3] == "CREATE INDEX ix_note_3 ON accounts_3 (note)"
    assert [t.datasource for t in planned[2].targets] == ["ds0", "ds1"]
    assert [(t.datasource, t.sql) for t in planned[3].targets] == [
        ("ds0", "CREATE TABLE misc (id INT)")
    ]


def test_plan_schema_refuses_data_statements_before_anything_runs() -> None:
    cluster = _cluster(_config("month", "2026-11-01", 1), datetime.date(2026, 11, 5))
    with pytest.raises(UnsupportedSQLError, match=r"statement 2 \(INSERT INTO countries"):
        plan_schema(
            cluster, "CREATE TABLE countries (code TEXT); INSERT INTO countries VALUES ('x')"
        )


def test_plan_schema_refuses_rename_of_a_sharded_table() -> None:
    cluster = _cluster(_config("month", "2026-11-01", 1), datetime.date(2026, 11, 5))
    with pytest.raises(UnsupportedSQLError, match="RENAME TO"):
        plan_schema(cluster, "ALTER TABLE accounts RENAME TO accounts_old")


def test_plan_schema_names_the_statement_of_a_routing_error() -> None:
    cluster = _cluster(_config("month", "2026-11-01", 1), datetime.date(2026, 11, 5))
    with pytest.raises((RoutingError, UnsupportedSQLError), match="statement 1"):
        plan_schema(cluster, "CREATE TABLE public.accounts (account_id INT)")


def test_plan_periods_attaches_the_script_statements_per_period() -> None:
    cluster = _cluster(_config("month", "2026-12-01", 1), datetime.date(2026, 12, 30))
    script = (
        "CREATE TABLE events (id INT, created_at DATE);\n"
        "CREATE INDEX ix_at ON events (created_at);\n"
        "CREATE TABLE accounts (account_id INT);\n"
        "ALTER TABLE events ADD COLUMN note TEXT;"
    )
    periods = plan_periods(cluster, script)["events"]
    last = periods[-1]
    assert last.physical == "events_202701"
    assert last.scripted
    assert [t.sql for t in last.statements] == [
        "CREATE TABLE events_202701 (id INT, created_at DATE)",
        "CREATE INDEX ix_at_202701 ON events_202701 (created_at)",
        "ALTER TABLE events_202701 ADD COLUMN note TEXT",
    ]


def test_plan_periods_without_create_table_is_not_scripted() -> None:
    cluster = _cluster(_config("month", "2026-12-01", 1), datetime.date(2026, 12, 30))
    periods = plan_periods(cluster, "CREATE INDEX ix_at ON events (created_at)")["events"]
    assert not any(p.scripted for p in periods)
    assert all(len(p.statements) == 1 for p in periods)


@pytest.mark.parametrize(
    ("index", "kwargs", "expected"),
    [
        ("ix_at_202612", {}, "ix_at_202701"),
        ("events_202612_pkey", {}, "events_202701_pkey"),
        ("events_202612_tag_key", {}, "events_202701_tag_key"),
        ("custom", {}, "custom_202701"),
        ("custom", {"keep_unrelated": True}, "custom"),
        ("ix_at_202612", {"keep_unrelated": True}, "ix_at_202701"),
    ],
)
def test_clone_index_name(index: str, kwargs: dict[str, bool], expected: str) -> None:
    assert (
        clone_index_name(
            index, source="events_202612", target="events_202701", logical="events", **kwargs
        )
        == expected
    )


def test_day_suffix_swaps_whole() -> None:
    assert (
        clone_index_name("ix_20261231", source="ev_20261231", target="ev_20270101", logical="ev")
        == "ix_20270101"
    )


def test_report_counts_and_dict() -> None:
    steps = (
        DdlStep("ds0", ("a_0",), "CREATE TABLE a_0 ()", "applied"),
        DdlStep("ds1", ("a_1",), "CREATE TABLE a_1 ()", "skipped", "table exists"),
        DdlStep("ds0", ("a_2",), "CREATE TABLE a_2 ()", "failed", "boom"),
    )
    report = DdlReport((StatementReport(1, "CREATE TABLE a ()", steps),))
    assert (report.applied, report.skipped, report.failed, report.ok) == (1, 1, 1, False)
    assert report.steps("skipped") == [steps[1]]
    data = report.to_dict()
    assert data["statements"][0]["steps"][1] == {
        "datasource": "ds1",
        "tables": ["a_1"],
        "sql": "CREATE TABLE a_1 ()",
        "outcome": "skipped",
        "detail": "table exists",
    }
    assert "applied 1, skipped 1, failed 1" in repr(report)


def test_ddl_error_pickles_with_its_report() -> None:
    import pickle

    from tenantdb.admin._ddl import DdlError

    step = DdlStep("ds0", ("a_0",), "CREATE TABLE a_0 ()", "failed", "boom")
    report = DdlReport((StatementReport(1, "CREATE TABLE a ()", (step,)),))
    error = DdlError("statement 1 failed", report=report, datasource="ds0")
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, tenantdb.DatabaseError)
    assert (str(copy), copy.datasource, copy.report) == ("statement 1 failed", "ds0", report)
