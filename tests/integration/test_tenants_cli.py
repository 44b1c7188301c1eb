"""``tenantdb tenants`` against a real SQLite registry store and SQLite datasources."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import tenantdb
from tenantdb.cli import _tenants, app
from tenantdb.errors import UnknownTenantError

from .conftest import Backend

CONFIG = """
dialect = "sqlite"
[datasources.ds0]
url = "sqlite:///{dir}/ds0.db"
[datasources.ds1]
url = "sqlite:///{dir}/ds1.db"
[tables.orders]
strategy = "tenant"
[tenants.acme]
datasource = "ds0"
"""

REGISTRY = """
[registry]
url = "sqlite:///{dir}/registry.db"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tenantdb.toml"
    path.write_text((CONFIG + REGISTRY).format(dir=tmp_path.as_posix()), encoding="utf-8")
    return path


@pytest.fixture
def memory_config(tmp_path: Path) -> Path:
    path = tmp_path / "memory.toml"
    path.write_text(CONFIG.format(dir=tmp_path.as_posix()), encoding="utf-8")
    return path


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["tenants", *args], input=input)


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
    return result.stdout


def failed(*args: str, input: str | None = None, code: int = 1) -> str:
    result = run(*args, input=input)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    return result.stderr


def show(config: Path, tenant_id: str) -> dict[str, Any]:
    data = json.loads(ok("show", "-c", str(config), tenant_id, "--json"))
    assert isinstance(data, dict)
    return data


def stored(config: Path, tenant_id: str) -> tenantdb.Tenant:
    """The tenant as a new cluster (another process's view) reads it from the store."""
    with tenantdb.connect(config) as cluster:
        return cluster.tenants.get(tenant_id)


def test_add_show_set_list_remove(config: Path) -> None:
    c = str(config)
    out = ok(
        "add",
        "-c",
        c,
        "beta",
        "--datasource",
        "ds1",
        "--feature",
        "checkout_v2=true",
        "--feature",
        "stage=3",
        "--feature",
        "color=blue",
        "--rps",
        "50",
    )
    assert out == "added tenant 'beta' on datasource ds1; version 1\n"

    added = show(config, "beta")
    assert added == {
        "id": "beta",
        "datasource": "ds1",
        "isolation": "shared",
        "schema": None,
        "status": "active",
        "limits": {
            "requests_per_second": 50.0,
            "burst": None,
            "max_concurrent": None,
            "max_concurrent_per_datasource": None,
            "max_queued": None,
            "queue_timeout": None,
            "statement_timeout": None,
        },
        "features": {"checkout_v2": True, "stage": 3, "color": "blue"},
        "version": 1,
    }
    table = ok("show", "-c", c, "beta")
    for text in ("ds1", "limits.requests_per_second", "50.0", "features.checkout_v2", "true"):
        assert text in table

    out = ok(
        "set",
        "-c",
        c,
        "beta",
        "--status",
        "read_only",
        "--feature",
        "stage=4",
        "--feature",
        'label="7"',
        "--unset-feature",
        "color",
        "--burst",
        "10",
    )
    assert "version 1 → 2" in out
    changed = show(config, "beta")
    assert changed["status"] == "read_only"
    assert changed["features"] == {"checkout_v2": True, "stage": 4, "label": "7"}
    assert changed["limits"] == {
        "requests_per_second": 50.0,
        "burst": 10,
        "max_concurrent": None,
        "max_concurrent_per_datasource": None,
        "max_queued": None,
        "queue_timeout": None,
        "statement_timeout": None,
    }
    assert changed["datasource"] == "ds1"
    assert changed["version"] == 2

    ok("set", "-c", c, "beta", "--status", "active")
    assert show(config, "beta")["version"] == 3
    assert show(config, "beta")["features"]["stage"] == 4  # untouched fields kept

    listed = json.loads(ok("list", "-c", c, "--json"))
    assert [t["id"] for t in listed] == ["acme", "beta"]
    assert listed[1] == show(config, "beta")
    table = ok("list", "-c", c)
    for text in ("acme", "beta", "ds1", "version"):
        assert text in table

    out = ok("remove", "-c", c, "beta", "--yes")
    assert out == "removed tenant 'beta'; its last version was 3\n"
    with pytest.raises(UnknownTenantError):
        stored(config, "beta")
    assert [t["id"] for t in json.loads(ok("list", "-c", c, "--json"))] == ["acme"]


def test_add_without_datasource_is_placed_by_the_registry(config: Path) -> None:
    out = ok("add", "-c", str(config), "placed")
    tenant = stored(config, "placed")
    with tenantdb.connect(config) as cluster:
        assert tenant.datasource == cluster.tenants.place("placed")
    assert f"datasource {tenant.datasource}" in out
    assert "hash ring" in out


def test_feature_values_are_json_when_they_parse(config: Path) -> None:
    features = ["a=true", "b=3", 'c="x"', "d=hello", "e=[1, 2]", "f=NaN", "g=", "h=a=b"]
    args = [arg for f in features for arg in ("--feature", f)]
    ok("add", "-c", str(config), "flags", *args)
    assert show(config, "flags")["features"] == {
        "a": True,
        "b": 3,
        "c": "x",
        "d": "hello",
        "e": [1, 2],
        "f": "NaN",
        "g": "",
        "h": "a=b",
    }


def test_add_with_an_unknown_datasource_is_refused(config: Path) -> None:
    err = failed("add", "-c", str(config), "gamma", "--datasource", "nope")
    assert err.startswith("error: ")
    assert "'nope'" in err
    with pytest.raises(UnknownTenantError):
        stored(config, "gamma")


def test_add_of_an_existing_tenant_is_refused(config: Path) -> None:
    err = failed("add", "-c", str(config), "acme", "--datasource", "ds1")
    assert "already exists" in err
    assert "tenantdb tenants set" in err
    ok("add", "-c", str(config), "beta", "--datasource", "ds0")
    err = failed("add", "-c", str(config), "beta", "--datasource", "ds1")
    assert "already exists" in err
    assert stored(config, "acme").datasource == "ds0"
    assert stored(config, "beta").datasource == "ds0"
    assert stored(config, "beta").version == 1


def test_set_of_an_unknown_tenant_is_refused(config: Path) -> None:
    err = failed("set", "-c", str(config), "ghost", "--status", "suspended")
    assert "unknown tenant 'ghost'" in err
    assert "tenantdb tenants add" in err
    with pytest.raises(UnknownTenantError):
        stored(config, "ghost")


def test_show_of_an_unknown_tenant_exits_1(config: Path) -> None:
    err = failed("show", "-c", str(config), "ghost")
    assert err == "error: unknown tenant 'ghost'\n"


def test_remove_without_yes_from_a_pipe_is_refused(config: Path) -> None:
    ok("add", "-c", str(config), "beta")
    err = failed("remove", "-c", str(config), "beta", input="y\n")
    assert "--yes" in err
    assert stored(config, "beta").id == "beta"


def test_remove_asks_for_confirmation_on_a_terminal(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_tenants, "_interactive", lambda: True)
    ok("add", "-c", str(config), "beta")
    result = run("remove", "-c", str(config), "beta", input="n\n")
    assert result.exit_code == 1
    assert "remove tenant 'beta'" in result.stdout
    assert stored(config, "beta").id == "beta"
    result = run("remove", "-c", str(config), "beta", input="y\n")
    assert result.exit_code == 0, result.stderr
    with pytest.raises(UnknownTenantError):
        stored(config, "beta")


def test_remove_of_a_static_tenant_warns_that_it_comes_back(config: Path) -> None:
    result = run("remove", "-c", str(config), "acme", "--yes")
    assert result.exit_code == 0
    assert "[tenants.acme]" in result.stderr


def test_a_tenant_added_by_another_process_is_seen_by_a_fresh_cluster(config: Path) -> None:
    script = "import sys; from tenantdb.cli import main; sys.argv[0] = 'tenantdb'; main()"
    args = ["tenants", "add", "-c", str(config), "beta", "--datasource", "ds1"]
    done = subprocess.run(
        [sys.executable, "-c", script, *args, "--feature", "beta=true"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    tenant = stored(config, "beta")
    assert tenant.datasource == "ds1"
    assert dict(tenant.features) == {"beta": True}
    assert tenant.version == 1


def test_writes_without_a_registry_url_are_refused(memory_config: Path) -> None:
    c = str(memory_config)
    message = (
        "this configuration has no [registry] url; changes would be lost when the command"
        ' exits: add [registry] url = "sqlite:///tenants.db"'
    )
    assert failed("add", "-c", c, "beta") == f"error: {message}\n"
    assert message in failed("set", "-c", c, "acme", "--status", "suspended")
    assert message in failed("remove", "-c", c, "acme", "--yes")
    assert [t["id"] for t in json.loads(ok("list", "-c", c, "--json"))] == ["acme"]
    assert show(memory_config, "acme")["datasource"] == "ds0"


def test_a_memory_registry_url_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "mem.toml"
    path.write_text(
        CONFIG.format(dir=tmp_path.as_posix()) + '[registry]\nurl = "memory:"\n',
        encoding="utf-8",
    )
    assert "changes would be lost" in failed("add", "-c", str(path), "beta")


def test_any_limit_is_set_and_removed_with_limit_key_value(config: Path) -> None:
    c = str(config)
    ok(
        "set", "-c", c, "acme",
        "--limit", "max_queued=10",
        "--limit", "statement_timeout=2s",
        "--limit", "max_concurrent_per_datasource=3",
    )  # fmt: skip
    limits = show(config, "acme")["limits"]
    assert (limits["max_queued"], limits["statement_timeout"]) == (10, 2.0)
    assert limits["max_concurrent_per_datasource"] == 3
    ok("set", "-c", c, "acme", "--limit", "max_queued=none")
    assert show(config, "acme")["limits"]["max_queued"] is None
    assert show(config, "acme")["limits"]["statement_timeout"] == 2.0
    # Keys and values are checked like any record change: nothing is written.
    version = stored(config, "acme").version
    assert "queue_size" in failed("set", "-c", c, "acme", "--limit", "queue_size=3")
    assert "max_queued" in failed("set", "-c", c, "acme", "--limit", "max_queued=-1")
    failed("set", "-c", c, "acme", "--limit", "max_queued", code=2)
    assert stored(config, "acme").version == version


def test_an_invalid_configuration_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[datasources.ds0]\nurl = "nope://x"\n', encoding="utf-8")
    err = failed("list", "-c", str(path))
    assert err.startswith("error: invalid configuration")


@pytest.mark.parametrize(
    "args",
    [
        ["add", "beta", "--feature", "no_equals_sign"],
        ["add", "beta", "--isolation", "sideways"],
        ["set", "acme"],
        ["set", "acme", "--feature", "x=1", "--unset-feature", "x"],
    ],
    ids=["feature-without-value", "bad-isolation", "nothing-to-set", "set-and-unset"],
)
def test_usage_errors_exit_2(config: Path, args: list[str]) -> None:
    command, *rest = args
    failed(command, "-c", str(config), *rest, code=2)
    assert stored(config, "acme").version == 1


def test_set_refuses_to_move_a_tenant_away_from_its_rows(backend: Backend, tmp_path: Path) -> None:
    # Issue 14 item 3: `set initech --datasource ds1` succeeded and orphaned its rows.
    urls = backend.new_databases(2)
    path = tmp_path / "tenantdb.json"
    path.write_text(
        json.dumps(
            {
                "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(urls)},
                "tables": {"orders": {"strategy": "tenant"}},
                "registry": {"url": f"sqlite:///{tmp_path}/registry.db"},
            }
        ),
        encoding="utf-8",
    )
    c = str(path)
    ok("add", "-c", c, "initech", "--datasource", "ds0")
    ok("add", "-c", c, "hooli", "--datasource", "ds0")
    with tenantdb.connect(path) as cluster:
        with cluster.session(admin=True) as admin:
            admin.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id VARCHAR(40))")
        with cluster.session("initech") as session:
            session.execute("INSERT INTO orders (id) VALUES (%s)", (1,))

    error = failed("set", "-c", c, "initech", "--datasource", "ds1")
    assert error.startswith("error: tenant 'initech' has rows in orders on ds0;"), error
    assert "--force" in error
    assert stored(path, "initech").datasource == "ds0"
    assert stored(path, "initech").version == 1
    # A tenant without rows moves; a change that keeps the placement needs no check.
    assert "version 1 → 2" in ok("set", "-c", c, "hooli", "--datasource", "ds1")
    assert "version 1 → 2" in ok("set", "-c", c, "initech", "--status", "read_only")

    forced = run("set", "-c", c, "initech", "--datasource", "ds1", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert "version 2 → 3" in forced.stdout
    assert forced.stderr.startswith(
        "warning: tenant 'initech''s rows in orders stay on ds0: they were not moved"
    ), forced.stderr
    assert stored(path, "initech").datasource == "ds1"
