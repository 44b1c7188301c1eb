"""``tenantdb config check --live``: each table's tenant_scoped against the live catalogs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import tenantdb
from tenantdb.cli import app

from .conftest import Backend

TEXT = {"sqlite": "TEXT", "postgres": "TEXT", "mysql": "VARCHAR(40)"}


def _config(urls: list[str], dialect: str, **tables: dict[str, Any]) -> dict[str, Any]:
    return {
        "dialect": dialect,
        "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(urls)},
        "tables": {
            "orders": {"strategy": "tenant"},
            "events": {"strategy": "hash_mod", "key": "id", "shards": 2},
            "logs": {"strategy": "mod", "key": "id", "shards": 2},
            "settings": {"strategy": "single", "tenant_scoped": False},
            "countries": {"strategy": "broadcast"},
            "pending": {"strategy": "single"},
            **tables,
        },
        "tenants": {"acme": {"datasource": "ds0"}},
    }


def _check(tmp_path: Path, config: dict[str, Any]) -> tuple[int, str, str]:
    path = tmp_path / "tenantdb.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "check", "--live", str(path)])
    return result.exit_code, result.stdout, result.stderr


def test_live_check_compares_tenant_scoped_with_the_tenant_column(
    backend: Backend, tmp_path: Path
) -> None:
    urls = backend.new_databases(2)
    text = TEXT[backend.name]
    config = _config(urls, backend.dialect)
    with tenantdb.connect(config) as cluster, cluster.session(admin=True) as admin:
        # events carries tenant_id and is tenant-scoped by default: right.
        admin.execute(f"CREATE TABLE events (id INTEGER PRIMARY KEY, tenant_id {text})")
        # logs is tenant-scoped by default but has no tenant column: tenant sessions fail.
        admin.execute(f"CREATE TABLE logs (id INTEGER PRIMARY KEY, body {text})")
        # settings says tenant_scoped = false but carries tenant_id: a leak.
        admin.execute(f"CREATE TABLE settings (name {text}, tenant_id {text})")
        admin.execute(f"CREATE TABLE countries (code {text})")
        admin.execute(f"CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id {text})")
        # pending is never created.

    code, out, err = _check(tmp_path, config)
    assert code == 1, (out, err)
    lines = [line.strip() for line in err.splitlines()]
    assert any(
        line.startswith("error: tables.logs: is tenant-scoped")
        and "logs_0 on ds0, logs_1 on ds1 has no tenant_id column" in line
        and "tenant_scoped = false" in line
        for line in lines
    ), err
    assert any(
        line.startswith("warning: tables.settings: is not tenant-scoped")
        and "settings on ds0 has a tenant_id column" in line
        and "tenant_scoped = true" in line
        for line in lines
    ), err
    assert any(
        line.startswith("warning: tables.pending: no physical table exists yet") for line in lines
    ), err
    assert not any(name in err for name in ("tables.events", "tables.orders", "countries")), err
    assert "live check: 1 error" in err

    # The configuration fixed as the messages say: no error, one warning left (pending).
    fixed = _config(
        urls,
        backend.dialect,
        logs={"strategy": "mod", "key": "id", "shards": 2, "tenant_scoped": False},
        settings={"strategy": "single", "tenant_scoped": True},
    )
    code, out, err = _check(tmp_path, fixed)
    assert code == 0, (out, err)
    assert "tables.logs" not in err
    assert "tables.settings" not in err
    assert "live check: 1 warning" in out


def test_live_check_creates_no_sqlite_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent" / "shard0.db"
    config = _config([f"sqlite:///{missing}"], "sqlite")
    code, _, err = _check(tmp_path, config)
    assert code == 0, err
    assert "tables.events: no physical table exists yet" in err
    assert not missing.exists()
