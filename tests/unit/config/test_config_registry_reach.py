"""The registry's own tables stay out of the application's reach (issue 21): a declared
table may not name them where the registry shares a datasource's database, and
``tenantdb config check`` warns when the registry shares a datasource's schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tenantdb.cli import app
from tenantdb.config import load_config
from tenantdb.config._endpoints import registry_warnings

Doc = dict[str, Any]
ProblemAt = Callable[..., str]


@pytest.mark.parametrize(
    ("registry", "table"),
    [
        ("sqlite:///shard0.db", "tenantdb_tenants"),
        ("sqlite:///./shard0.db", "TENANTDB_TENANT_CHANGES"),
    ],
)
def test_a_declared_table_may_not_be_the_registrys(
    doc: Doc, problem_at: ProblemAt, registry: str, table: str
) -> None:
    doc["registry"] = {"url": registry}
    doc["tables"] = {table: {"strategy": "single"}}
    message = problem_at(doc, f"tables.{table}")
    assert message.startswith(f"table {table!r} is the tenant registry's own table")
    assert "datasource 'ds0'" in message


def test_the_postgres_registry_table_may_be_renamed(problem_at: ProblemAt) -> None:
    doc: Doc = {
        "datasources": {"ds0": {"url": "postgresql://app@localhost/shop"}},
        "registry": {"url": "postgresql://ctl@127.0.0.1:5432/shop?table=ctl_tenants"},
        "tables": {
            "ctl_tenants": {"strategy": "tenant"},
            "tenantdb_tenants": {"strategy": "tenant"},
        },
    }
    assert "the tenant registry's own table" in problem_at(doc, "tables.ctl_tenants")
    doc["tables"].pop("ctl_tenants")
    assert "tenantdb_tenants" in load_config(doc, env={}).tables


def test_a_registry_elsewhere_leaves_the_name_free(doc: Doc) -> None:
    doc["registry"] = {"url": "sqlite:///control.db"}
    doc["tables"] = {"tenantdb_tenants": {"strategy": "single"}}
    assert "tenantdb_tenants" in load_config(doc, env={}).tables


def test_warnings_name_the_shared_database_schema_and_role() -> None:
    urls = {"ds0": "postgresql://app@localhost/shop", "ds1": "postgresql://app@db1/shop"}
    (warning,) = registry_warnings("postgresql://app@127.0.0.1/shop", urls)
    assert (
        "shares database 'shop' and schema 'app' or 'public' and role 'app' with datasource 'ds0'"
        in (warning)
    )
    assert "own schema or database with its own role" in warning
    # Its own schema (search path) or its own database: nothing to say.
    own_schema = "postgresql://ctl@localhost/shop?options=-csearch_path%3Dcontrol"
    assert registry_warnings(own_schema, urls) == []
    assert registry_warnings("postgresql://app@localhost/control", urls) == []
    assert registry_warnings("redis://localhost/0", urls) == []


def test_config_check_prints_the_warning_and_still_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            {
                "datasources": {"ds0": {"url": "sqlite:///data/shard0.db"}},
                "registry": {"url": "sqlite:///data/shard0.db"},
            }
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{path}: valid")
    assert "warning: registry.url: the tenant registry shares file" in result.stderr
    assert "schema 'main'" in result.stderr
