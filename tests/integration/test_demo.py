"""``tenantdb demo`` end to end: a small workload on real SQLite files, run twice."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tenantdb
from tenantdb.cli import app
from tenantdb.demo import DemoOptions, DemoResult, run_demo

SMALL = {"tenants": 30, "seconds": 1.0, "threads": 4}
CHECKS = [
    "stock ledger",
    "stock never negative",
    "idempotency keys applied once",
    "retries deduplicated",
    "no workload errors",
]


def small(directory: Path, **overrides: object) -> DemoOptions:
    return DemoOptions(directory=directory, **{**SMALL, "seed": 7, **overrides})  # type: ignore[arg-type]


def count(directory: Path, shard: int, sql: str) -> int:
    with sqlite3.connect(directory / f"shard{shard}.db") as raw:
        value = raw.execute(sql).fetchone()[0]
    return int(value)


def total(directory: Path, sql: str) -> int:
    return sum(count(directory, shard, sql) for shard in range(4))


def verdicts(result: DemoResult) -> dict[str, bool]:
    return {check.name: check.passed for check in result.checks}


def test_two_runs_accumulate_and_every_check_holds(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    messages: list[str] = []
    first = run_demo(small(directory), progress=messages.append)
    assert first.run == 1
    assert verdicts(first) == dict.fromkeys(CHECKS, True), first.checks
    assert first.workload.statements.count > 0
    assert first.workload.outcomes["placed"] > 0
    assert first.workload.requests["checkout"].count > 0
    assert first.workload.statements.p50 <= first.workload.statements.p99
    assert len(messages) == 3
    # Every shard file holds rows: 30 tenants round-robin, 12 SKUs each.
    for shard in range(4):
        assert count(directory, shard, "SELECT COUNT(*) FROM inventory") == 30 // 4 * 12 + (
            12 if shard < 30 % 4 else 0
        )
        assert count(directory, shard, "SELECT COUNT(*) FROM orders") > 0
        assert count(directory, shard, "SELECT COUNT(*) FROM products") == 12
    assert count(directory, 0, "SELECT COUNT(*) FROM demo_runs") == 1
    orders_after_first = total(directory, "SELECT COUNT(*) FROM orders")
    assert (
        orders_after_first
        == first.workload.outcomes["placed"] + first.workload.outcomes["resend_placed"]
    )
    # The report's own row counts agree with the files.
    orders_table = next(t for t in first.tables if t.table == "orders")
    assert sum(c for counts in orders_table.counts.values() for _, c in counts) == (
        orders_after_first
    )
    events = next(t for t in first.tables if t.table == "events")
    assert sorted(p for counts in events.counts.values() for p, _ in counts) == [
        f"events_{i}" for i in range(8)
    ]

    second = run_demo(small(directory, seed=8))
    assert second.run == 2
    assert verdicts(second) == dict.fromkeys(CHECKS, True), second.checks
    orders_after_second = total(directory, "SELECT COUNT(*) FROM orders")
    assert orders_after_second > orders_after_first
    assert total(directory, "SELECT COUNT(*) FROM idempotency_keys") == orders_after_second
    assert total(directory, "SELECT COUNT(*) FROM orders WHERE id >= 2000000000") > 0
    assert count(directory, 0, "SELECT COUNT(*) FROM demo_runs") == 2
    # Run 1 checked its rows; run 2 checks both runs' rows.
    ledger = next(c for c in second.checks if c.name == "idempotency keys applied once")
    assert f"{orders_after_second:,} orders" in ledger.detail


def test_the_checks_fail_on_broken_data(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    assert run_demo(small(directory, seconds=0.5)).passed
    shard = 1  # t0002's datasource
    with sqlite3.connect(directory / f"shard{shard}.db") as raw:
        # Stock that no sale explains (the restock of the next run leaves it alone).
        raw.execute(
            "UPDATE inventory SET stock = stock + 1000 "
            "WHERE tenant_id = 't0002' AND sku = 'SKU-001'"
        )
        # A negative stock row for a SKU outside the catalog (nothing restocks it).
        raw.execute(
            "INSERT INTO inventory (tenant_id, sku, stock, received) "
            "VALUES ('t0002', 'X-1', -3, -3)"
        )
        # An order applied twice under one key.
        raw.execute(
            "INSERT INTO orders (tenant_id, id, idempotency_key, amount_cents, line_count, "
            "created_at) SELECT tenant_id, id + 500000000, idempotency_key, amount_cents, "
            "line_count, created_at FROM orders WHERE tenant_id = 't0002' LIMIT 1"
        )
    result = run_demo(small(directory, seconds=0.5))
    assert verdicts(result) == {
        "stock ledger": False,
        "stock never negative": False,
        "idempotency keys applied once": False,
        "retries deduplicated": True,
        "no workload errors": True,
    }
    assert not result.passed
    ledger = result.checks[0]
    assert "t0002 SKU-001" in ledger.detail
    assert "lowest t0002 X-1: -3" in result.checks[1].detail
    # The command line says FAIL and exits 1.
    cli = CliRunner().invoke(app, ["demo", "--dir", str(directory), "--seconds", "0.5"])
    assert cli.exit_code == 1, cli.output
    assert "FAIL stock ledger" in cli.stdout
    assert "check(s) FAILED" in cli.stdout


def test_command_line_report_and_reset(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    args = ["demo", "--dir", str(directory), "--tenants", "30", "--seconds", "1"]
    runner = CliRunner()
    first = runner.invoke(app, [*args, "--threads", "4", "--seed", "3"])
    assert first.exit_code == 0, first.output
    out = first.stdout
    for section in [
        "tenantdb demo · run 1",
        "statements/s",
        "p50",
        "p99",
        "checkout",
        "Rows per physical table",
        "events_0…events_3",
        "Top tenants by revenue",
        "Route plans",
        "SELECT (admin) → 4 targets",
        "FROM events_",
        "Checks",
        "tenantdb shell -c",
    ]:
        assert section in out, section
    assert out.count("PASS ") == len(CHECKS)
    assert "FAIL" not in out
    assert "30 tenants (static [tenants.*] entries" in out
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "run 2" in again.stdout
    orders_before_reset = total(directory, "SELECT COUNT(*) FROM orders")
    reset = runner.invoke(app, [*args, "--reset"])
    assert reset.exit_code == 0, reset.output
    assert "run 1" in reset.stdout
    assert count(directory, 0, "SELECT COUNT(*) FROM demo_runs") == 1
    # Run 2's orders (ids from 2,000,000,000) are gone with the old files.
    assert total(directory, "SELECT COUNT(*) FROM orders WHERE id >= 2000000000") == 0
    assert 0 < total(directory, "SELECT COUNT(*) FROM orders") < orders_before_reset


def test_the_generated_configuration_opens_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "demo"
    result = run_demo(small(directory, seconds=0.2, tenants=5))
    monkeypatch.chdir(tmp_path.parent)
    with tenantdb.connect(result.config_path) as cluster, cluster.session("t0003") as session:
        rows = session.execute(
            "SELECT sku FROM inventory WHERE tenant_id = %s ORDER BY sku", ("t0003",)
        ).fetchall()
    assert len(rows) == 12


def test_a_tenant_session_counts_only_its_own_events(tmp_path: Path) -> None:
    # Issue 14: events carries tenant_id, and the demo's shell session listed every tenant.
    result = run_demo(small(tmp_path / "demo", seconds=0.5, tenants=5))
    with tenantdb.connect(result.config_path) as cluster:
        with cluster.session(admin=True) as admin:
            everyone = admin.execute(
                "SELECT tenant_id, count(*) FROM events GROUP BY tenant_id"
            ).fetchall()
        with cluster.session("t0001") as session:
            own = session.execute(
                "SELECT tenant_id, count(*) FROM events GROUP BY tenant_id"
            ).fetchall()
    assert len(everyone) > 1, "the workload wrote events for several tenants"
    assert own == [row for row in everyone if row[0] == "t0001"]


def test_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "tenantdb.toml").write_text('dialect = "sqlite"\n', encoding="utf-8")
    (tmp_path / "shard0.db").write_bytes(b"keep me")
    with pytest.raises(tenantdb.InterfaceError, match="was not written by `tenantdb demo`"):
        run_demo(small(tmp_path, reset=True))
    assert (tmp_path / "shard0.db").read_bytes() == b"keep me"
    cli = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path), "--seconds", "0.2"])
    assert cli.exit_code == 1
    assert "pass another folder with --dir" in cli.stderr
    assert (tmp_path / "tenantdb.toml").read_text(encoding="utf-8") == 'dialect = "sqlite"\n'


def test_shard_files_without_the_demo_configuration_need_reset(tmp_path: Path) -> None:
    # E.g. the bundled sample configuration's databases, whose orders table differs.
    with sqlite3.connect(tmp_path / "shard0.db") as raw:
        raw.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
    with pytest.raises(tenantdb.InterfaceError, match=r"holds shard0\.db but no demo config"):
        run_demo(small(tmp_path))
    assert not (tmp_path / "tenantdb.toml").exists()
    result = run_demo(small(tmp_path, reset=True, seconds=0.3))
    assert result.passed, result.checks
    assert result.run == 1
