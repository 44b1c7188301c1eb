"""judge_tenant_columns: tenant_scoped against catalog answers, without a database."""

from __future__ import annotations

import datetime

from tenantdb.admin._tenant_columns import Observed, judge_tenant_columns, physical_tables
from tenantdb.config import load_config
from tenantdb.core.routing import Topology

TODAY = datetime.date(2026, 3, 15)


def _topology() -> Topology:
    config = load_config(
        {
            "dialect": "mysql",
            "datasources": {"ds0": {"url": "mysql://a@h/x"}, "ds1": {"url": "mysql://a@h/y"}},
            "tables": {
                "Orders": {"strategy": "tenant"},
                "audit": {
                    "strategy": "time_range",
                    "key": "at",
                    "interval": "month",
                    "start": "2026-01-01",
                    "pre_create": 1,
                },
                "countries": {"strategy": "broadcast"},
                "notes": {"strategy": "single", "datasource": "ds1"},
            },
        },
        env={},
    )
    return Topology.from_config(config, today=lambda: TODAY)


def _observed(tables: list[str], with_column: list[str]) -> Observed:
    return Observed(frozenset(tables), frozenset(with_column))


def _lower(name: str) -> str:
    return name.lower()


def test_physical_tables_follow_the_placement() -> None:
    topology = _topology()
    assert physical_tables(topology, "audit") == [
        ("ds0", "audit_202601"),
        ("ds1", "audit_202602"),
        ("ds0", "audit_202603"),
        ("ds1", "audit_202604"),
    ]
    assert physical_tables(topology, "Orders") == [("ds0", "Orders"), ("ds1", "Orders")]
    assert physical_tables(topology, "notes") == [("ds1", "notes")]


def test_only_existing_physical_tables_are_judged() -> None:
    observed = {
        # Only two of four periods created: the others are the DDL's business.
        "ds0": _observed(["orders", "audit_202601", "countries"], ["orders", "audit_202601"]),
        "ds1": _observed(["orders", "audit_202602", "countries", "notes"], ["orders", "notes"]),
    }
    findings = judge_tenant_columns(_topology(), observed, _lower)
    assert [(f.table, f.severity) for f in findings] == [("audit", "error")]
    assert "audit_202602 on ds1 has no tenant_id column" in findings[0].message


def test_every_disagreement_is_reported() -> None:
    observed = {
        "ds0": _observed(["orders", "countries"], ["countries"]),
        "ds1": _observed(["orders", "notes"], []),
    }
    findings = {f.table: f for f in judge_tenant_columns(_topology(), observed, _lower)}
    assert set(findings) == {"Orders", "audit", "countries", "notes"}
    assert findings["Orders"].severity == "warning"
    assert "orders on ds0, orders on ds1 has no tenant_id" in findings["Orders"].message.lower()
    assert findings["audit"].severity == "warning"
    assert "no physical table exists yet" in findings["audit"].message
    assert findings["countries"].severity == "warning"
    assert "broadcast tables are shared by default" in findings["countries"].message
    assert findings["notes"].severity == "error"
    assert str(findings["notes"]).startswith("tables.notes: is tenant-scoped")


def test_a_long_list_of_tables_is_shortened() -> None:
    topology = Topology.from_config(
        load_config(
            {
                "datasources": {"ds0": {"url": "sqlite:///a.db"}},
                "tables": {"t": {"strategy": "mod", "key": "k", "shards": 6}},
            },
            env={},
        )
    )
    observed = {"ds0": _observed([f"t_{i}" for i in range(6)], [])}
    (finding,) = judge_tenant_columns(topology, observed, _lower)
    assert "t_0 on ds0, t_1 on ds0, t_2 on ds0 (and 3 more) has no tenant_id" in finding.message
