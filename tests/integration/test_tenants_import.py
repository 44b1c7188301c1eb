"""``tenantdb tenants import`` and ``export`` through the real command line, against real
registry stores (SQLite, and PostgreSQL when it answers) with thousands of tenants: what is
stored, bad input refusing the whole file, placement rules, and the progress output (plain
lines in a pipe, a bar on a pseudo-terminal)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import tenantdb
from proxy import TcpProxy
from tenantdb.cli import app
from tenantdb.cli._progress import LineSchedule
from tenantdb.tenants.stores import open_store

from .conftest import _PostgresServer
from .terminal import CLI, run_on_a_terminal

CONFIG = """
dialect = "sqlite"
[datasources.ds0]
url = "sqlite:///{dir}/ds0.db"
[datasources.ds1]
url = "sqlite:///{dir}/ds1.db"
[datasources.vip]
url = "sqlite:///{dir}/vip.db"
[tables.orders]
strategy = "tenant"
[tenants.acme]
datasource = "ds0"
[registry]
url = "{registry}"
"""

MANY = 2100
# Plain output must not depend on the environment running the tests.
PLAIN = {"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None}
PROGRESS_LINE = re.compile(
    r"(?P<phase>checking|importing) tenants: (?P<done>\d+)/(?P<total>\d+) \(\d+%\)"
    r"(?P<closing> in \d+\.\ds)?"
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path, _database_names: Any) -> str:
    """A fresh registry store of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path.as_posix()}/registry.db"
    server: _PostgresServer = request.getfixturevalue("postgres_server")
    return server.create(next(_database_names))


@pytest.fixture
def config(tmp_path: Path, registry_url: str) -> Path:
    return write_config(tmp_path, registry_url)


def write_config(tmp_path: Path, registry_url: str) -> Path:
    path = tmp_path / "tenantdb.toml"
    text = CONFIG.format(dir=tmp_path.as_posix(), registry=registry_url)
    path.write_text(text, encoding="utf-8")
    return path


def records(count: int) -> list[dict[str, Any]]:
    """A database-isolated tenant on ``vip`` first, then tenants of every shape: some placed
    by hand, some by the ring, with statuses, limits and features."""
    made: list[dict[str, Any]] = [{"id": "bigco", "isolation": "database", "datasource": "vip"}]
    for i in range(count - 1):
        record: dict[str, Any] = {"id": f"t{i:05d}"}
        if i % 3 == 0:
            record["datasource"] = "ds1"
        if i % 5 == 0:
            record["status"] = "read_only"
        if i % 7 == 0:
            record["limits"] = {"requests_per_second": 5 + i, "burst": 3}
        if i % 2 == 0:
            record["features"] = {"plan": "pro", "seats": i}
        made.append(record)
    return made


def jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["tenants", *args], input=input, env=PLAIN)


def stored(config: Path) -> dict[str, tenantdb.Tenant]:
    """Every tenant as a fresh cluster (another process's view) reads it from the store."""
    with tenantdb.connect(config) as cluster:
        return {tenant.id: tenant for tenant in cluster.tenants.list()}


def progress_lines(stderr: str) -> list[re.Match[str]]:
    """The progress lines of plain output; fails on any other stderr line."""
    matches = []
    for line in stderr.splitlines():
        match = PROGRESS_LINE.fullmatch(line)
        assert match is not None, f"not a progress line: {line!r}"
        matches.append(match)
    return matches


def test_thousands_of_tenants_import_export_and_import_again(config: Path, tmp_path: Path) -> None:
    rows = records(MANY)
    source = jsonl(tmp_path / "tenants.jsonl", rows)

    started = time.monotonic()
    result = run("import", "-c", str(config), str(source))
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout == f"imported {source}: added {MANY}, updated 0, unchanged 0\n"

    # Plain progress on stderr: bounded by the time taken, never one line per tenant.
    lines = progress_lines(result.stderr)
    assert "\x1b" not in result.stderr
    assert len(lines) <= 2 * (elapsed / LineSchedule(0.0).every_s + 1), len(lines)
    for phase in ("checking", "importing"):
        done = [int(m["done"]) for m in lines if m["phase"] == phase]
        assert done, f"no {phase} line"
        assert done == sorted(set(done))
        assert done[-1] == MANY
        assert all(int(m["total"]) == MANY for m in lines if m["phase"] == phase)
    assert lines[0]["phase"] == "checking"
    assert lines[-1]["phase"] == "importing"

    tenants = stored(config)
    assert len(tenants) == MANY + 1  # and the static acme
    with tenantdb.connect(config) as cluster:
        for row in rows:
            tenant = tenants[row["id"]]
            assert tenant.version == 1
            if "datasource" in row:
                assert tenant.datasource == row["datasource"]
            else:  # placed by the ring, which never uses bigco's own datasource
                assert tenant.datasource == cluster.tenants.place(row["id"])
                assert tenant.datasource in ("ds0", "ds1")
            assert tenant.isolation == row.get("isolation", "shared")
            assert tenant.status == row.get("status", "active")
            assert dict(tenant.features) == row.get("features", {})
            limits = tenant.to_dict()["limits"]
            given = row.get("limits", {})
            assert {k: v for k, v in limits.items() if v is not None} == given

    # export writes what import reads back: every tenant unchanged, nothing written.
    exported = tmp_path / "exported.jsonl"
    result = run("export", "-c", str(config), "--output", str(exported))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"exported {MANY + 1} tenants to {exported}\n"
    assert not list(tmp_path.glob(".*partial"))
    lines_out = exported.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines_out] == sorted(tenants)
    assert [json.loads(line) for line in lines_out] == [
        tenants[i].to_dict() for i in sorted(tenants)
    ]
    to_stdout = run("export", "-c", str(config))
    assert to_stdout.stdout == exported.read_text(encoding="utf-8")

    again = run("import", "-c", str(config), str(exported), "--update", "--json")
    assert again.exit_code == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary == {
        "ok": True,
        "dry_run": False,
        "source": str(exported),
        "added": 0,
        "updated": 0,
        "unchanged": MANY + 1,
        "schemas_created": [],
        "tenants": {"added": [], "updated": []},
    }
    assert {t.id: t.version for t in stored(config).values()} == dict.fromkeys(tenants, 1)

    # A file changing some tenants: refused without --update, applied with it.
    changed = [dict(row, status="suspended") for row in rows[100:110]]
    change_file = jsonl(tmp_path / "change.jsonl", changed + rows[200:300])
    refused = run("import", "-c", str(config), str(change_file))
    assert refused.exit_code == 1
    assert "10 bad records; nothing was imported" in refused.stderr
    assert f"line 1: tenant {rows[100]['id']!r} exists (version 1)" in refused.stderr
    assert "changes its status: pass --update" in refused.stderr
    updated = run("import", "-c", str(config), str(change_file), "--update")
    assert updated.exit_code == 0, updated.stderr
    assert updated.stdout == f"imported {change_file}: added 0, updated 10, unchanged 100\n"
    after = stored(config)
    assert {i for i, t in after.items() if t.version == 2} == {r["id"] for r in changed}
    assert {after[r["id"]].status for r in changed} == {"suspended"}


def test_a_bad_line_in_the_middle_changes_nothing(config: Path, tmp_path: Path) -> None:
    rows = records(2000)
    rows[999] = {"id": rows[999]["id"], "limits": {"burst": 0}}
    rows[1499] = {"id": rows[1499]["id"], "datasource": "nowhere"}
    source = jsonl(tmp_path / "tenants.jsonl", rows)

    result = run("import", "-c", str(config), str(source))
    assert result.exit_code == 1
    assert result.stdout == ""
    error = result.stderr[result.stderr.index("error: ") :]
    assert error.splitlines() == [
        f"error: {source}: 2 bad records; nothing was imported",
        f"  line 1000: tenant {rows[999]['id']!r}: limits.burst: Input should be greater"
        " than or equal to 1",
        f"  line 1500: tenant {rows[1499]['id']!r}: datasource 'nowhere' is not defined"
        " (defined: ds0, ds1, vip); place the tenant on one of those, or add the datasource"
        " to the configuration",
    ]
    assert set(stored(config)) == {"acme"}

    as_json = run("import", "-c", str(config), str(source), "--json")
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert [(p["line"], p["tenant"], p["key"]) for p in report["problems"]] == [
        (1000, rows[999]["id"], "limits"),
        (1500, rows[1499]["id"], "datasource"),
    ]

    broken = tmp_path / "broken.jsonl"
    text = source.read_text(encoding="utf-8").splitlines()
    text[1233] = text[1233][:-5]
    broken.write_text("\n".join(text) + "\n", encoding="utf-8")
    result = run("import", "-c", str(config), str(broken))
    assert result.exit_code == 1
    assert "  line 1234: not JSON at column" in result.stderr
    assert set(stored(config)) == {"acme"}


def test_existing_tenants_and_the_placement_guard(config: Path, tmp_path: Path) -> None:
    ds0 = tmp_path / "ds0.db"
    with contextlib.closing(sqlite3.connect(ds0)) as db, db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL)")
        db.execute("INSERT INTO orders VALUES (1, 'acme')")
    c = str(config)

    same = run("import", "-c", c, "-", input='{"id": "acme", "datasource": "ds0"}\n')
    assert same.exit_code == 0, same.stderr
    assert same.stdout == "imported stdin: added 0, updated 0, unchanged 1\n"

    # The move is judged like `tenants set`'s: acme's rows would stay behind on ds0.
    moved = '{"id": "acme", "datasource": "ds1"}\n'
    for flags in ([], ["--update"]):
        result = run("import", "-c", c, "-", *flags, input=moved)
        assert result.exit_code == 1
        assert (
            "line 1: tenant 'acme' has rows in orders on ds0; placing it on ds1 moves no rows"
            in result.stderr
        )
    assert stored(config)["acme"].datasource == "ds0"

    result = run("import", "-c", c, "-", "--update", input='{"id": "acme", "status": "suspended"}')
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "imported stdin: added 0, updated 1, unchanged 0\n"
    acme = stored(config)["acme"]
    assert (acme.status, acme.datasource, acme.version) == ("suspended", "ds0", 2)


def test_isolation_rules_judge_the_file_as_a_whole(config: Path, tmp_path: Path) -> None:
    source = jsonl(
        tmp_path / "t.jsonl",
        [
            {"id": "small", "datasource": "vip"},
            {"id": "bigco", "isolation": "database", "datasource": "vip"},
            {"id": "solo", "isolation": "database", "datasource": "ds1"},
            {"id": "later", "datasource": "ds1"},
        ],
    )
    result = run("import", "-c", str(config), str(source))
    assert result.exit_code == 1
    lines = result.stderr[result.stderr.index("error: ") :].splitlines()
    assert lines[0] == f"error: {source}: 2 bad records; nothing was imported"
    assert lines[1].startswith("  line 2: tenant 'bigco' has isolation 'database', but ")
    assert "'small'" in lines[1]
    assert lines[2].startswith("  line 4: tenant 'later' cannot be placed on datasource 'ds1'")
    assert "'solo'" in lines[2]
    assert set(stored(config)) == {"acme"}


def test_dry_run_and_json_array_from_stdin(config: Path, tmp_path: Path) -> None:
    array = '[\n  {"id": "one"},\n  {"id": "two", "datasource": "ds1"},\n  {"id": "acme"}\n]\n'
    result = run("import", "-c", str(config), "-", "--dry-run", input=array)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "dry run of stdin: would add 2, update 0 and leave 1 unchanged; nothing was written\n"
    )
    assert set(stored(config)) == {"acme"}
    result = run("import", "-c", str(config), "-", "--dry-run", "--json", input=array)
    summary = json.loads(result.stdout)
    assert (summary["dry_run"], summary["tenants"]["added"]) == (True, ["one", "two"])

    result = run("import", "-c", str(config), "-", input=array)
    assert result.exit_code == 0, result.stderr
    assert set(stored(config)) == {"acme", "one", "two"}

    bad = '[\n  {"id": "three"},\n  {"id": "four", "status": "sleepy"}\n]'
    result = run("import", "-c", str(config), "-", input=bad)
    assert result.exit_code == 1
    assert "line 3: tenant 'four': status: " in result.stderr

    empty = run("import", "-c", str(config), "-", input="\n")
    assert empty.exit_code == 0
    assert empty.stdout == "nothing to import: stdin has no tenant records\n"
    missing = run("import", "-c", str(config), str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr


def test_import_needs_a_lasting_registry_except_to_dry_run(tmp_path: Path) -> None:
    path = tmp_path / "memory.toml"
    path.write_text(CONFIG.format(dir=tmp_path.as_posix(), registry="memory:"), encoding="utf-8")
    result = run("import", "-c", str(path), "-", input='{"id": "x"}')
    assert result.exit_code == 1
    assert "in-process memory store" in result.stderr
    dry = run("import", "-c", str(path), "-", "--dry-run", input='{"id": "x"}')
    assert dry.exit_code == 0, dry.stderr
    assert "would add 1" in dry.stdout


def test_a_terminal_shows_the_bar(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path.as_posix()}/registry.db")
    source = jsonl(tmp_path / "tenants.jsonl", records(600))
    output = run_on_a_terminal(["tenants", "import", "-c", str(config), str(source)])
    assert "\x1b[" in output  # drawn with control sequences, in place
    assert "━" in output
    assert "importing tenants" in output
    assert "600/600" in output
    assert f"imported {source}: added 600, updated 0, unchanged 0" in output
    assert PROGRESS_LINE.search(output) is None  # no plain progress lines
    assert len(stored(config)) == 601


@pytest.mark.postgres
def test_an_import_cut_short_says_so_and_finishes_when_run_again(
    postgres_server: _PostgresServer, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    names: Iterator[str] = request.getfixturevalue("_database_names")
    registry = postgres_server.create(next(names))
    host, port = registry.split("@", 1)[1].split("/", 1)[0].split(":")
    rows = records(800)
    source = jsonl(tmp_path / "tenants.jsonl", rows)
    with TcpProxy(host, int(port)) as proxy:
        config = write_config(tmp_path, proxy.url_for(registry))
        stored(config)  # creates the store's table

        def cut_when_half_written() -> None:
            deadline = time.monotonic() + 120  # a hang guard
            with contextlib.closing(postgres_server.raw_connect(registry)) as db:
                while time.monotonic() < deadline:
                    (count,) = db.execute("SELECT count(*) FROM tenantdb_tenants").fetchone()
                    if count >= 400:
                        proxy.cut()
                        return
                    time.sleep(0.02)

        cutter = threading.Thread(target=cut_when_half_written)
        cutter.start()
        done = subprocess.run(
            [sys.executable, "-c", CLI, "tenants", "import", "-c", str(config), str(source)],
            capture_output=True,
            text=True,
            timeout=300,
            env={k: v for k, v in os.environ.items() if k not in PLAIN},
            check=False,
        )
        cutter.join(timeout=60)
        assert done.returncode == 1, (done.stdout, done.stderr)
        assert done.stdout == ""
        assert re.search(r"importing tenants: stopped at \d+/800", done.stderr), done.stderr
        written = re.search(r"(\d+) of 800 changes were written before it", done.stderr)
        assert written is not None, done.stderr
        assert "run the same import again" in done.stderr
        # At the cut at least 399 imported records were committed (400 rows, one of them
        # not imported); the write in flight may have committed without its answer
        # arriving, so one fewer may be reported.
        assert 398 <= int(written[1]) < 800

        proxy.heal()
        before = set(stored(config))
        assert int(written[1]) <= len(before) - 1 < 800
        again = run("import", "-c", str(config), str(source))
        assert again.exit_code == 0, again.stderr
        added = 800 - (len(before) - 1)
        assert again.stdout == (
            f"imported {source}: added {added}, updated 0, unchanged {800 - added}\n"
        )
        assert len(stored(config)) == 801


@pytest.mark.postgres
def test_added_schema_tenants_get_their_schemas(
    postgres_server: _PostgresServer, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    names: Iterator[str] = request.getfixturevalue("_database_names")
    datasource = postgres_server.create(next(names))
    config = tmp_path / "pg.toml"
    config.write_text(
        f'dialect = "postgres"\n[datasources.ds0]\nurl = "{datasource}"\n'
        '[tables.orders]\nstrategy = "tenant"\n'
        f'[registry]\nurl = "sqlite:///{tmp_path.as_posix()}/registry.db"\n',
        encoding="utf-8",
    )
    rows = [
        {"id": "alpha", "isolation": "schema"},
        {"id": "beta", "isolation": "schema", "schema": "beta_rows"},
        {"id": "gamma"},
    ]
    result = run("import", "-c", str(config), str(jsonl(tmp_path / "t.jsonl", rows)), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["schemas_created"] == ["alpha", "beta_rows"]
    with contextlib.closing(postgres_server.raw_connect(datasource)) as db:
        found = db.execute(
            "SELECT schema_name FROM information_schema.schemata"
            " WHERE schema_name IN ('alpha', 'beta_rows', 'gamma') ORDER BY 1"
        ).fetchall()
    assert [name for (name,) in found] == ["alpha", "beta_rows"]
    assert stored(config)["beta"].schema == "beta_rows"


def test_records_as_the_store_keeps_them_import_as_unchanged(
    config: Path, registry_url: str
) -> None:
    """The store's records carry ``updated_at`` (when they were written); a file made from
    them (another tool's dump of the store) imports as unchanged."""
    result = run("import", "-c", str(config), "-", input='{"id": "one", "datasource": "ds1"}\n')
    assert result.exit_code == 0, result.stderr
    store = open_store(registry_url)
    try:
        raw = [store.load(tenant_id) for tenant_id in ("acme", "one")]
    finally:
        store.close()
    assert all(isinstance(record["updated_at"], float) for record in raw if record)
    again = run("import", "-c", str(config), "-", "--json", input=json.dumps(raw))
    assert again.exit_code == 0, again.stderr
    assert (json.loads(again.stdout)["unchanged"], json.loads(again.stdout)["added"]) == (2, 0)
    assert {t.id: t.version for t in stored(config).values()} == {"acme": 1, "one": 1}
