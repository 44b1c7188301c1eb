"""Schema fan-out and period-table pre-creation on real databases (``tenantdb ddl``).

Every test builds a cluster of two fresh databases of the backend under test: ``accounts``
(``mod``, 4 shards), ``events`` (``time_range``), ``countries`` (``broadcast``) and
``notes`` (not configured, so ``single`` on ds0). What reached each database is checked
with the backend's raw driver and its catalog.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import tenantdb
from tenantdb.admin._ddl import DdlError, DdlProgress, apply_schema, precreate
from tenantdb.cli import app

from .conftest import Backend

SCHEMA = """\
-- The schema of the test application; a ';' inside a string or comment does not split.
CREATE TABLE accounts (
    account_id INT NOT NULL PRIMARY KEY,
    name VARCHAR(50) DEFAULT 'n/a; 100%'
);
CREATE INDEX ix_accounts_name ON accounts (name);
/* one table per month; */
CREATE TABLE events (
    id INT NOT NULL PRIMARY KEY,
    created_at DATE NOT NULL,
    tag VARCHAR(20),
    UNIQUE (tag),
    CHECK (tag <> 'x%')
);
CREATE INDEX ix_events_at ON events (created_at);
CREATE TABLE countries (code VARCHAR(2) NOT NULL PRIMARY KEY, name VARCHAR(50));
CREATE TABLE notes (id INT NOT NULL PRIMARY KEY, body VARCHAR(100));
"""

NOV_15 = datetime.date(2026, 11, 15)


# -- helpers ------------------------------------------------------------------------------


def make_config(
    urls: list[str],
    dialect: str,
    *,
    interval: str = "month",
    start: str = "2026-11-01",
    pre_create: int = 2,
    event_datasources: list[str] | None = None,
) -> dict[str, Any]:
    events: dict[str, Any] = {
        "strategy": "time_range",
        "key": "created_at",
        "interval": interval,
        "start": start,
        "pre_create": pre_create,
    }
    if event_datasources is not None:
        events["datasources"] = event_datasources
    return {
        "dialect": dialect,
        "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(urls)},
        "tables": {
            "accounts": {"strategy": "mod", "key": "account_id", "shards": 4},
            "events": events,
            "countries": {"strategy": "broadcast"},
        },
    }


def connect(config: dict[str, Any], today: datetime.date) -> tenantdb.Cluster:
    return tenantdb.connect(config, today=lambda: today)


@pytest.fixture
def urls(backend: Backend) -> list[str]:
    return backend.new_databases(2)


@pytest.fixture
def clusters() -> Iterator[list[tenantdb.Cluster]]:
    """Clusters a test opens; closed at the end."""
    opened: list[tenantdb.Cluster] = []
    yield opened
    for cluster in opened:
        cluster.close()


def open_cluster(
    clusters: list[tenantdb.Cluster], config: dict[str, Any], today: datetime.date
) -> tenantdb.Cluster:
    cluster = connect(config, today)
    clusters.append(cluster)
    return cluster


def tables(backend: Backend, url: str) -> set[str]:
    sql = {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
        "postgres": "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public'",
        "mysql": "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
    }[backend.name]
    return {str(row[0]) for row in backend.query(url, sql)}


def indexes(backend: Backend, url: str, table: str) -> set[str]:
    p = backend.placeholder
    sql = {
        "sqlite": f"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = {p}",
        "postgres": f"SELECT indexname FROM pg_indexes WHERE tablename = {p}",
        "mysql": "SELECT DISTINCT index_name FROM information_schema.statistics "
        f"WHERE table_schema = DATABASE() AND table_name = {p}",
    }[backend.name]
    return {str(row[0]) for row in backend.query(url, sql, (table,))}


def columns(backend: Backend, url: str, table: str) -> set[str]:
    p = backend.placeholder
    if backend.name == "sqlite":
        sql = f"SELECT name FROM pragma_table_info({p})"
    else:
        schema = "'public'" if backend.name == "postgres" else "DATABASE()"
        sql = (
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_schema = {schema} AND table_name = {p}"
        )
    return {str(row[0]).lower() for row in backend.query(url, sql, (table,))}


def period_tables(backend: Backend, urls: list[str], prefix: str = "events_") -> list[set[str]]:
    return [{t for t in tables(backend, url) if t.startswith(prefix)} for url in urls]


# -- apply_schema -------------------------------------------------------------------------


def test_schema_lands_on_every_physical_table(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    cluster = open_cluster(clusters, make_config(urls, backend.dialect), NOV_15)
    seen: list[DdlProgress] = []
    report = apply_schema(cluster, SCHEMA, progress=seen.append)
    # accounts 4 + its index 4, events 3 periods + index 3, countries 2 copies, notes 1.
    assert (report.applied, report.skipped, report.failed) == (17, 0, 0)
    assert [s.applied for s in report.statements] == [4, 4, 3, 3, 2, 1]
    assert [e.done for e in seen] == list(range(1, 18))
    assert {e.total for e in seen} == {17}
    assert tables(backend, urls[0]) == {
        "accounts_0",
        "accounts_2",
        "events_202611",
        "events_202701",
        "countries",
        "notes",
    }
    assert tables(backend, urls[1]) == {"accounts_1", "accounts_3", "events_202612", "countries"}
    steps = report.statements[0].steps
    assert [(s.datasource, s.tables) for s in steps] == [
        ("ds0", ("accounts_0",)),
        ("ds1", ("accounts_1",)),
        ("ds0", ("accounts_2",)),
        ("ds1", ("accounts_3",)),
    ]


def test_second_run_skips_everything_and_keeps_the_data(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    cluster = open_cluster(clusters, make_config(urls, backend.dialect), NOV_15)
    apply_schema(cluster, SCHEMA)
    with cluster.session(admin=True) as session:
        for account_id in range(8):
            session.execute(
                "INSERT INTO accounts (account_id, name) VALUES (%s, %s)",
                (account_id, f"a{account_id}"),
            )
        session.execute("INSERT INTO accounts (account_id) VALUES (%s)", (100,))
        session.execute(
            "INSERT INTO events (id, created_at, tag) VALUES (%s, %s, %s)", (1, "2026-12-24", "t")
        )
        session.execute("INSERT INTO countries (code, name) VALUES ('de', 'Germany')")
        session.execute("INSERT INTO notes (id, body) VALUES (%s, %s)", (1, "hello"))

    again = apply_schema(cluster, SCHEMA)
    assert (again.applied, again.skipped, again.failed) == (0, 17, 0)
    assert {s.detail for s in again.steps()} == {"table exists", "index exists"}
    with cluster.session(admin=True) as session:
        assert session.execute("SELECT COUNT(*) FROM accounts").fetchall() == [(9,)]
        # The column default kept its '%' and ';'.
        name = session.execute("SELECT name FROM accounts WHERE account_id = %s", (100,))
        assert name.fetchall() == [("n/a; 100%",)]
        assert session.execute("SELECT COUNT(*) FROM events").fetchall() == [(1,)]
        assert session.execute("SELECT COUNT(*) FROM notes").fetchall() == [(1,)]
    for url in urls:
        assert backend.query(url, "SELECT code FROM countries") == [("de",)]
    assert backend.query(urls[1], "SELECT id FROM events_202612") == [(1,)]


def test_create_index_gets_the_shard_suffix_on_every_table(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    cluster = open_cluster(clusters, make_config(urls, backend.dialect), NOV_15)
    apply_schema(cluster, SCHEMA)
    for i in range(4):
        assert f"ix_accounts_name_{i}" in indexes(backend, urls[i % 2], f"accounts_{i}")
    for month, url in (("202611", urls[0]), ("202612", urls[1]), ("202701", urls[0])):
        assert f"ix_events_at_{month}" in indexes(backend, url, f"events_{month}")
    report = apply_schema(cluster, "CREATE INDEX ix_accounts_name ON accounts (name)")
    assert (report.applied, report.skipped) == (0, 4)


def test_alter_add_column_twice(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    cluster = open_cluster(clusters, make_config(urls, backend.dialect), NOV_15)
    apply_schema(cluster, SCHEMA)
    alter = "ALTER TABLE accounts ADD COLUMN note VARCHAR(20)"
    first = apply_schema(cluster, alter)
    second = apply_schema(cluster, alter)
    assert (first.applied, first.skipped) == (4, 0)
    assert (second.applied, second.skipped) == (0, 4)
    assert {s.detail for s in second.steps()} == {"column already changed"}
    for i in range(4):
        assert "note" in columns(backend, urls[i % 2], f"accounts_{i}")


def test_alter_drop_column_twice(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    cluster = open_cluster(clusters, make_config(urls, backend.dialect), NOV_15)
    apply_schema(cluster, SCHEMA + "ALTER TABLE notes ADD COLUMN extra INT;")
    drop = "ALTER TABLE notes DROP COLUMN extra"
    assert apply_schema(cluster, drop).applied == 1
    assert apply_schema(cluster, drop).skipped == 1
    assert columns(backend, urls[0], "notes") == {"id", "body"}


def test_partly_done_alter_is_refused_with_the_tables_changed(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    cluster = open_cluster(clusters, make_config(urls, backend.dialect), NOV_15)
    apply_schema(cluster, SCHEMA)
    apply_schema(cluster, "ALTER TABLE accounts ADD COLUMN a INT")
    with pytest.raises(
        DdlError, match=r"partly done already \(column a already exists\)"
    ) as caught:
        apply_schema(
            cluster,
            "CREATE TABLE extra (id INT); ALTER TABLE accounts ADD COLUMN b INT, ADD COLUMN a INT",
        )
    message = str(caught.value)
    assert "statement 2" in message
    assert "ds0: extra" in message
    assert caught.value.report.failed == 1
    assert "b" not in columns(backend, urls[0], "accounts_0")


def test_drop_table_twice(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    cluster = open_cluster(clusters, make_config(urls, backend.dialect), NOV_15)
    apply_schema(cluster, SCHEMA)
    drop = "DROP TABLE accounts; DROP TABLE notes"
    first = apply_schema(cluster, drop)
    second = apply_schema(cluster, drop)
    assert (first.applied, first.skipped) == (5, 0)
    assert (second.applied, second.skipped) == (0, 5)
    assert {s.detail for s in second.steps()} == {"table does not exist"}
    assert not any(t.startswith(("accounts", "notes")) for t in tables(backend, urls[0]))
    assert not any(t.startswith("accounts") for t in tables(backend, urls[1]))


def test_drop_of_several_tables_where_some_are_gone(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    cluster = open_cluster(clusters, make_config(urls, backend.dialect), NOV_15)
    apply_schema(cluster, "CREATE TABLE notes (id INT); CREATE TABLE extra (id INT)")
    backend.query(urls[0], "DROP TABLE extra")
    with pytest.raises(DdlError, match="extra is already gone; write one DROP TABLE per table"):
        apply_schema(cluster, "DROP TABLE notes, extra")
    assert "notes" in tables(backend, urls[0])
    if backend.name == "sqlite":
        return  # SQLite drops one table per statement
    report = apply_schema(cluster, "DROP TABLE IF EXISTS notes, extra")
    assert report.applied == 1
    assert apply_schema(cluster, "DROP TABLE IF EXISTS notes, extra").skipped == 1
    assert tables(backend, urls[0]) == set()


def test_failure_stops_and_names_the_tables_already_changed(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    cluster = open_cluster(clusters, make_config(urls, backend.dialect), NOV_15)
    broken = (
        "CREATE TABLE countries (code VARCHAR(2));\n"
        "CREATE TABLE accounts (account_id INT);\n"
        "CREATE INDEX ix_missing ON accounts (no_such_column);\n"
        "CREATE TABLE notes (id INT);\n"
    )
    with pytest.raises(DdlError) as caught:
        apply_schema(cluster, broken)
    error = caught.value
    message = str(error)
    assert message.startswith("statement 3 (CREATE INDEX ix_missing ON accounts")
    assert "failed on ds0 (accounts_0)" in message
    assert "Already changed before the failure (6): ds0: countries; ds1: countries; " in message
    assert "ds1: accounts_3" in message
    assert error.datasource == "ds0"
    assert [s.outcome for s in error.report.steps()] == ["applied"] * 6 + ["failed"]
    assert "notes" not in tables(backend, urls[0])
    # Fixed and run again: the finished work is skipped.
    fixed = broken.replace("no_such_column", "account_id")
    report = apply_schema(cluster, fixed)
    assert (report.applied, report.skipped) == (5, 6)


def test_data_statements_are_refused_before_anything_runs(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    cluster = open_cluster(clusters, make_config(urls, backend.dialect), NOV_15)
    with pytest.raises(tenantdb.UnsupportedSQLError, match="statement 2"):
        apply_schema(
            cluster, "CREATE TABLE countries (code VARCHAR(2)); INSERT INTO countries VALUES ('x')"
        )
    assert tables(backend, urls[0]) == set()


# -- precreate ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "start", "today", "pre_create", "expected"),
    [
        (
            "month",
            "2026-12-01",
            datetime.date(2026, 12, 30),
            2,
            ["events_202612", "events_202701", "events_202702"],
        ),
        (
            "day",
            "2026-12-30",
            datetime.date(2026, 12, 31),
            2,
            ["events_20261230", "events_20261231", "events_20270101", "events_20270102"],
        ),
        (
            "year",
            "2025-03-01",
            datetime.date(2026, 12, 31),
            1,
            ["events_2025", "events_2026", "events_2027"],
        ),
    ],
    ids=["month", "day", "year"],
)
def test_precreate_from_the_script_across_the_year_boundary(
    backend: Backend,
    urls: list[str],
    clusters: list[tenantdb.Cluster],
    interval: str,
    start: str,
    today: datetime.date,
    pre_create: int,
    expected: list[str],
) -> None:
    config = make_config(
        urls, backend.dialect, interval=interval, start=start, pre_create=pre_create
    )
    cluster = open_cluster(clusters, config, today)
    report = precreate(cluster, script=SCHEMA)
    assert [s.tables[0] for s in report.steps("applied")] == expected
    assert {s.detail for s in report.steps()} == {"created from the schema file"}
    # Period k lives on datasources[k % 2]; nothing but events is created.
    assert period_tables(backend, urls) == [set(expected[0::2]), set(expected[1::2])]
    assert tables(backend, urls[0]) == set(expected[0::2])
    last = expected[-1]
    suffix = last[len("events") :]
    url = urls[(len(expected) - 1) % 2]
    assert f"ix_events_at{suffix}" in indexes(backend, url, last)
    again = precreate(cluster, script=SCHEMA)
    assert (again.applied, again.skipped) == (0, len(expected))


def test_precreate_with_script_leaves_existing_tables_alone(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    config = make_config(urls, backend.dialect, start="2026-12-01", pre_create=1)
    cluster = open_cluster(clusters, config, datetime.date(2026, 12, 30))
    backend.query(urls[0], "CREATE TABLE events_202612 (id INT, created_at DATE, mine INT)")
    report = precreate(cluster, script=SCHEMA)
    assert [(s.tables, s.outcome) for s in report.steps()] == [
        (("events_202612",), "skipped"),
        (("events_202701",), "applied"),
    ]
    assert "mine" in columns(backend, urls[0], "events_202612")
    assert "ix_events_at_202612" not in indexes(backend, urls[0], "events_202612")
    assert "tag" in columns(backend, urls[1], "events_202701")


def test_precreate_copies_the_newest_period_table_with_its_indexes(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    before = make_config(urls, backend.dialect, pre_create=1, event_datasources=["ds0"])
    apply_schema(open_cluster(clusters, before, NOV_15), SCHEMA)
    assert period_tables(backend, urls)[0] == {"events_202611", "events_202612"}

    after = open_cluster(clusters, before, datetime.date(2027, 1, 20))
    report = precreate(after)
    created = report.steps("applied")
    assert [s.tables[0] for s in created] == ["events_202701", "events_202702"]
    assert {s.detail for s in created} == {"copied from events_202612 on ds0"}
    for month in ("202701", "202702"):
        found = indexes(backend, urls[0], f"events_{month}")
        assert f"ix_events_at_{month}" in found
        assert "ix_events_at_202612" not in found
        assert columns(backend, urls[0], f"events_{month}") == {"id", "created_at", "tag"}

    # The copy behaves like the original: its unique constraint and check hold.
    with after.session(admin=True) as session:
        session.execute(
            "INSERT INTO events (id, created_at, tag) VALUES (%s, %s, %s)", (1, "2027-02-03", "a")
        )
        with pytest.raises(tenantdb.IntegrityError):
            session.execute(
                "INSERT INTO events (id, created_at, tag) VALUES (%s, %s, %s)",
                (2, "2027-02-04", "a"),
            )
    # The index names match the router's, so the schema file now finds everything done.
    again = apply_schema(after, SCHEMA)
    assert again.applied == 0
    assert precreate(after).applied == 0


def test_precreate_copies_from_another_datasource_or_asks_for_the_script(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    config = make_config(urls, backend.dialect, pre_create=0)
    apply_schema(open_cluster(clusters, config, NOV_15), SCHEMA)
    assert period_tables(backend, urls) == [{"events_202611"}, set()]
    later = open_cluster(clusters, config, datetime.date(2026, 12, 10))
    if backend.name == "postgres":
        with pytest.raises(DdlError, match="pass the schema file") as caught:
            precreate(later)
        assert "Nothing was changed" in str(caught.value)
        assert period_tables(backend, urls) == [{"events_202611"}, set()]
        report = precreate(later, script=SCHEMA)
    else:
        report = precreate(later)
        assert report.steps("applied")[0].detail == "copied from events_202611 on ds0"
    assert [s.tables[0] for s in report.steps("applied")] == ["events_202612"]
    assert "ix_events_at_202612" in indexes(backend, urls[1], "events_202612")
    assert columns(backend, urls[1], "events_202612") == {"id", "created_at", "tag"}


def test_precreate_without_script_or_tables_asks_for_the_schema_file(
    backend: Backend, urls: list[str], clusters: list[tenantdb.Cluster]
) -> None:
    cluster = open_cluster(clusters, make_config(urls, backend.dialect), NOV_15)
    with pytest.raises(DdlError, match="pass the schema file") as caught:
        precreate(cluster)
    assert "events has no period table to copy" in str(caught.value)
    assert period_tables(backend, urls) == [set(), set()]
    with pytest.raises(DdlError, match="the schema file has no CREATE TABLE events"):
        precreate(cluster, script="CREATE TABLE countries (code VARCHAR(2))")


# -- command line -------------------------------------------------------------------------


def _toml(config: dict[str, Any], path: Path) -> Path:
    lines = [f'dialect = "{config["dialect"]}"']
    for name, entry in config["datasources"].items():
        lines += [f"[datasources.{name}]", f"url = {json.dumps(entry['url'])}"]
    for name, table in config["tables"].items():
        lines.append(f"[tables.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def files(backend: Backend, urls: list[str], tmp_path: Path) -> tuple[Path, Path]:
    config = _toml(make_config(urls, backend.dialect), tmp_path / "tenantdb.toml")
    schema = tmp_path / "schema.sql"
    schema.write_text(SCHEMA, encoding="utf-8")
    return config, schema


def test_cli_applies_the_schema_and_prints_a_summary(
    backend: Backend, urls: list[str], files: tuple[Path, Path]
) -> None:
    config, schema = files
    runner = CliRunner()
    args = ["ddl", "-c", str(config), str(schema), "--today", "2026-11-15"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "[ 1/17] applied ds0 accounts_0" in first.stdout
    assert "applied 17, skipped 0, failed 0" in first.stdout
    assert "CREATE INDEX ix_accounts_name ON accounts" in first.stdout
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "applied 0, skipped 17, failed 0" in second.stdout
    assert "accounts_3" in tables(backend, urls[1])


def test_cli_json_report(backend: Backend, files: tuple[Path, Path]) -> None:
    config, schema = files
    result = CliRunner().invoke(
        app, ["ddl", "-c", str(config), str(schema), "--today", "2026-11-15", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["ok"], data["applied"], data["skipped"], data["failed"]) == (True, 17, 0, 0)
    assert data["statements"][5]["steps"] == [
        {
            "datasource": "ds0",
            "tables": ["notes"],
            "sql": "CREATE TABLE notes (id INT NOT NULL PRIMARY KEY, body VARCHAR(100))",
            "outcome": "applied",
            "detail": "",
        }
    ]


def test_cli_precreate(backend: Backend, urls: list[str], files: tuple[Path, Path]) -> None:
    config, schema = files
    runner = CliRunner()
    first = runner.invoke(
        app, ["ddl", "-c", str(config), str(schema), "--precreate", "--today", "2026-12-30"]
    )
    assert first.exit_code == 0, first.output
    # Only the period tables: November 2026 through February 2027.
    assert "applied 4, skipped 0, failed 0" in first.stdout
    assert period_tables(backend, urls) == [
        {"events_202611", "events_202701"},
        {"events_202612", "events_202702"},
    ]
    assert "accounts_0" not in tables(backend, urls[0])
    later = runner.invoke(app, ["ddl", "-c", str(config), "--precreate", "--today", "2027-01-02"])
    assert later.exit_code == 0, later.output
    assert "applied 1, skipped 4, failed 0" in later.stdout


def test_cli_failure_exits_1_with_the_error(
    backend: Backend, files: tuple[Path, Path], tmp_path: Path
) -> None:
    config, _ = files
    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE TABLE notes (id INT);\nCREATE INDEX ix ON notes (nope);\n")
    result = CliRunner().invoke(app, ["ddl", "-c", str(config), str(bad)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: statement 2 (CREATE INDEX ix ON notes (nope))")
    assert "Already changed before the failure (1): ds0: notes" in result.stderr
    assert "applied 1, skipped 0, failed 1" in result.stdout


def test_cli_precreate_without_anything_to_copy_exits_1(files: tuple[Path, Path]) -> None:
    config, _ = files
    result = CliRunner().invoke(app, ["ddl", "-c", str(config), "--precreate"])
    assert result.exit_code == 1
    assert "pass the schema file" in result.stderr


# -- command line without a database ------------------------------------------------------


def _unreachable(tmp_path: Path) -> tuple[Path, Path]:
    # Port 9 (discard) on localhost: nothing listens there, any connection would fail.
    dead = "postgresql://nobody@127.0.0.1:9/nothing"
    config = _toml(
        {
            "dialect": "postgres",
            "datasources": {"ds0": {"url": dead}, "ds1": {"url": dead + "1"}},
            "tables": make_config([dead, dead], "postgres")["tables"],
        },
        tmp_path / "dead.toml",
    )
    schema = tmp_path / "schema.sql"
    schema.write_text(SCHEMA, encoding="utf-8")
    return config, schema


def test_cli_dry_run_connects_to_nothing(tmp_path: Path) -> None:
    config, schema = _unreachable(tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        app, ["ddl", "-c", str(config), str(schema), "--dry-run", "--today", "2026-11-15"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("-- statement 1: CREATE TABLE accounts ( account_id INT NOT NULL")
    assert "[ds1] CREATE INDEX ix_accounts_name_3 ON accounts_3 (name);" in lines
    assert "[ds1] CREATE INDEX ix_events_at_202612 ON events_202612 (created_at);" in lines
    assert any("DEFAULT 'n/a; 100%'" in line for line in lines)
    as_json = runner.invoke(
        app, ["ddl", "-c", str(config), str(schema), "--dry-run", "--json", "--today", "2026-11-15"]
    )
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["statements"][4]["targets"][1]["datasource"] == "ds1"
    precreated = runner.invoke(
        app, ["ddl", "-c", str(config), "--precreate", "--dry-run", "--today", "2026-12-30"]
    )
    assert precreated.exit_code == 0, precreated.output
    assert "[ds1] events_202702: if missing, copied from the newest existing period table" in (
        precreated.stdout
    )


def test_cli_without_dry_run_reports_the_unreachable_datasource(tmp_path: Path) -> None:
    config, schema = _unreachable(tmp_path)
    result = CliRunner().invoke(app, ["ddl", "-c", str(config), str(schema)])
    assert result.exit_code == 1
    assert "ds0" in result.stderr
    assert "Nothing was changed before the failure" in result.stderr


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    config, schema = _unreachable(tmp_path)
    runner = CliRunner()
    neither = runner.invoke(app, ["ddl", "-c", str(config)])
    assert neither.exit_code == 2
    assert "pass SCHEMA.sql, --precreate, or both" in re.sub(r"[\s│]+", " ", neither.output)
    bad_day = runner.invoke(app, ["ddl", "-c", str(config), str(schema), "--today", "soon"])
    assert bad_day.exit_code == 2
    missing = runner.invoke(app, ["ddl", "-c", str(config), str(tmp_path / "nope.sql")])
    assert missing.exit_code == 2


def test_cli_empty_schema_has_nothing_to_do(tmp_path: Path) -> None:
    config, _ = _unreachable(tmp_path)
    empty = tmp_path / "empty.sql"
    empty.write_text("-- nothing yet;\n;\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["ddl", "-c", str(config), str(empty)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "nothing to do: the schema file has no statements\n"
