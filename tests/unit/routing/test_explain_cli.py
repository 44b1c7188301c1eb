from __future__ import annotations

import json
import zlib
from pathlib import Path

from typer.testing import CliRunner

from tenantdb.cli import app

CONFIG = """
dialect = "mysql"
[datasources.ds0]
url = "mysql://app:hunter2@db0/app"
[datasources.ds1]
url = "mysql://app:hunter2@db1/app"
[tables.users]
strategy = "hash_mod"
key = "user_id"
shards = 8
tenant_scoped = false
[tables.orders]
strategy = "tenant"
[tenants.acme]
datasource = "ds1"
"""


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "tenantdb.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_explain_json_has_the_documented_shape(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "explain",
            "--config",
            str(config),
            "--params",
            "[42]",
            "--json",
            "SELECT * FROM users WHERE user_id = %s",
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    shard = zlib.crc32(b"42") % 8
    assert plan["kind"] == "select"
    assert plan["targets"] == [
        {
            "datasource": ("ds0", "ds1")[shard % 2],
            "role": "primary",
            "sql": f"SELECT * FROM users_{shard} WHERE user_id = %s",
            "params": [42],
            "tables": {"users": f"users_{shard}"},
        }
    ]
    assert "hunter2" not in result.stdout


def test_explain_text_output_with_tenant_and_named_params(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "explain",
            "-c",
            str(config),
            "--tenant",
            "acme",
            "--params",
            '{"id": 7}',
            "SELECT * FROM orders WHERE id = %(id)s",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "[ds1 · primary] SELECT * FROM orders WHERE orders.tenant_id = " in result.stdout
    assert "AND id = %s" in result.stdout
    assert "tenant acme" in result.stdout


def test_explain_admin_scan_shows_the_merge(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = CliRunner().invoke(
        app, ["explain", "-c", str(config), "--admin", "SELECT COUNT(*) FROM orders"]
    )
    assert result.exit_code == 0, result.output
    assert "2 targets" in result.stdout
    assert "aggregates count@0" in result.stdout


def test_explain_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    runner = CliRunner()
    refused = runner.invoke(app, ["explain", "-c", str(config), "DELETE FROM users"])
    assert refused.exit_code == 1
    assert "without user_id would touch 8 shards" in refused.stderr
    assert "Traceback" not in refused.output
    bad_params = runner.invoke(app, ["explain", "-c", str(config), "--params", "[1,", "SELECT %s"])
    assert bad_params.exit_code == 1
    assert "--params: the parameters are not valid JSON" in bad_params.stderr
    unknown = runner.invoke(
        app, ["explain", "-c", str(config), "--tenant", "ghost", "SELECT * FROM orders"]
    )
    assert unknown.exit_code == 1
    assert "unknown tenant 'ghost'" in unknown.stderr
    garbage = runner.invoke(app, ["explain", "-c", str(config), "hello world"])
    assert garbage.exit_code == 1
    assert "not a SQL statement" in garbage.stderr
    missing = runner.invoke(app, ["explain", "-c", str(tmp_path / "nope.toml"), "SELECT 1"])
    assert missing.exit_code == 1
    assert "nope.toml" in missing.stderr
