"""``tenantdb shell`` with scripts piped in (CliRunner input), on real SQLite files."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import tenantdb
from tenantdb.cli import app
from tenantdb.cli._shell import Shell

CONFIG = """
dialect = "sqlite"
[datasources.ds0]
url = "sqlite:///{dir}/a.db"
[datasources.ds1]
url = "sqlite:///{dir}/b.db"
[tables.orders]
strategy = "tenant"
[tables.events]
strategy = "hash_mod"
key = "order_id"
shards = 4
tenant_scoped = false
[tenants.acme]
datasource = "ds0"
[tenants.globex]
datasource = "ds1"
"""

SCHEMA = """\
CREATE TABLE orders (tenant_id TEXT NOT NULL, id INTEGER NOT NULL, total REAL,
                     note TEXT, PRIMARY KEY (tenant_id, id));
CREATE TABLE events (order_id INTEGER NOT NULL, kind TEXT NOT NULL);
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tenantdb.toml"
    path.write_text(CONFIG.format(dir=tmp_path.as_posix()), encoding="utf-8")
    return path


def shell(config: Path, script: str, *options: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["shell", "-c", str(config), *options], input=script)
    return result.exit_code, result.stdout, result.stderr


def rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as raw:
        return raw.execute(sql).fetchall()


def test_a_script_creates_inserts_and_selects(config: Path, tmp_path: Path) -> None:
    code, out, err = shell(
        config,
        SCHEMA
        # events is shared (tenant_scoped = false): written in the admin session.
        + "INSERT INTO events (order_id, kind) VALUES (1, 'placed'); SELECT kind FROM events "
        + "WHERE order_id = 1;\n"
        + "\\tenant acme\n"
        + "INSERT INTO orders (tenant_id, id, total, note) VALUES ('acme', 1, 9.5, 'a;b'),\n"
        + "  ('acme', 2, 20, NULL);\n"
        + "SELECT id, total, note\n  FROM orders\n WHERE tenant_id = 'acme'\n ORDER BY id;\n",
        "--admin",
    )
    assert code == 0, err
    assert err == ""
    assert "OK · ds0:orders, ds1:orders" in out  # DDL fanned out to both datasources
    assert "ds0:events_0, ds1:events_1, ds0:events_2, ds1:events_3" in out
    assert "Now in tenant acme's session." in out
    assert "2 rows affected · ds0:orders" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split() == ["id", "total", "note"])
    assert lines[header + 2].split() == ["1", "9.5", "a;b"]
    assert lines[header + 3].split() == ["2", "20.0", "NULL"]
    assert "2 rows · ds0:orders" in out
    assert "1 row · ds1:events_3" in out  # crc32("1") % 4 == 3
    # The rows landed on acme's datasource only.
    assert rows(tmp_path / "a.db", "SELECT COUNT(*) FROM orders") == [(2,)]
    assert rows(tmp_path / "b.db", "SELECT COUNT(*) FROM orders") == [(0,)]


def test_an_error_is_one_line_and_the_script_goes_on(config: Path) -> None:
    code, out, err = shell(
        config,
        SCHEMA
        + "SELECT missing_column\nFROM orders;\n"
        + "DELETE FROM events WHERE kind = 'x';\n"
        + "SELECT COUNT(*) AS n FROM events;\n",
        "--admin",
    )
    assert code == 1
    errors = err.strip().splitlines()
    assert len(errors) == 1, err
    # Reported at the line that completes the statement.
    assert errors[0].startswith("line 5: ERROR ProgrammingError: ")
    assert "no such column: missing_column" in errors[0]
    assert "0 rows affected" in out  # the admin DELETE ran on every shard
    assert "1 row ·" in out  # the SELECT after the error ran
    # A tenant-less session refuses a write on events without its key, then goes on.
    code, out, err = shell(config, "DELETE FROM events WHERE kind = 'x';\nSELECT 1 AS one;\n")
    assert code == 1
    assert err.startswith("line 1: ERROR RoutingError: ")
    assert err.count("\n") == 1
    assert "1 row" in out


def test_explain_switches_and_timing(config: Path, tmp_path: Path) -> None:
    code, out, err = shell(
        config,
        "\\explain INSERT INTO orders (tenant_id, id) VALUES ('globex', 7);\n"
        "\\timing\n"
        "\\tenant ghost\n"
        "\\explain SELECT * FROM events WHERE order_id = 3\n"
        "\\notenant\n"
        "\\bogus\n"
        "\\?\n"
        "\\admin\n"
        "\\explain\n",
        "--tenant",
        "globex",
    )
    assert code == 1
    assert "INSERT (tenant globex) → 1 target" in out
    assert "[ds1 · primary] INSERT INTO orders" in out
    assert "events → events_3" in out
    assert "Timing is on." in out
    assert "\\explain SQL" in out  # the help
    assert "Now in a tenant-less session." in out
    assert "Now in an admin session." in out
    assert err.splitlines() == [
        "line 3: ERROR UnknownTenantError: unknown tenant 'ghost'",
        "line 6: ERROR Error: unknown command \\bogus; \\? lists the commands",
        "line 9: ERROR Error: \\explain needs a statement, e.g. \\explain SELECT * FROM orders",
    ]
    # \explain ran nothing: no database file was even created.
    assert not (tmp_path / "b.db").exists()
    code, out, _ = shell(config, "\\timing\nSELECT 1 AS one;\n")
    assert code == 0
    assert "Time: " in out


def test_quit_end_of_input_and_exit_codes(config: Path) -> None:
    # \q stops reading: the failing statement after it never runs.
    code, out, err = shell(config, "SELECT 1 AS one;\n\\q\nSELECT nope;\n")
    assert (code, err) == (0, "")
    assert "1 row" in out
    # A last statement without ';' runs at the end of the input.
    code, out, err = shell(config, "SELECT 41 + 1 AS answer")
    assert (code, err) == (0, "")
    assert "42" in out
    assert shell(config, "")[0] == 0
    assert shell(config, "-- only a comment\n;\n")[0] == 0
    code, _, err = shell(config, "", "--tenant", "acme", "--admin")
    assert code == 2
    assert "not both" in err
    code, _, err = shell(config, "", "--tenant", "ghost")
    assert code == 1
    assert "unknown tenant 'ghost'" in err
    missing = CliRunner().invoke(app, ["shell", "-c", "/nonexistent/tenantdb.toml"], input="")
    assert missing.exit_code == 1
    assert "tenantdb.toml" in missing.stderr


def test_prompts_follow_the_session_and_pending_statement(config: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=100)
    with tenantdb.connect(config) as cluster:
        sh = Shell(cluster, tenant="acme", admin=False, out=console, err=console)
        assert sh.prompt == "tenantdb[acme]> "
        sh.feed("SELECT 1 AS one")
        assert sh.prompt == " " * 11 + "...> "  # as wide as the prompt
        sh.interrupt()
        assert sh.prompt == "tenantdb[acme]> "
        sh.feed("SELECT 1 AS one,")
        sh.feed("  2 AS two;")
        assert sh.prompt == "tenantdb[acme]> "
        sh.feed("\\admin")
        assert sh.prompt == "tenantdb[admin]> "
        sh.feed("\\notenant")
        assert sh.prompt == "tenantdb> "
        sh.feed("\\q")
        assert sh.finished
        sh.finish()
    assert "one" in out.getvalue()
    assert "two" in out.getvalue()
    assert sh.failures == 0
