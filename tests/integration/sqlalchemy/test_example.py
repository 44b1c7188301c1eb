"""The SQLAlchemy examples run as written: each tenant sees only its own rows."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
EXAMPLE = EXAMPLES / "sqlalchemy_orm.py"


def _load(path: Path) -> ModuleType:
    """An example, imported from its file (examples are not an installed package)."""
    spec = importlib.util.spec_from_file_location(f"tenantdb_example_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_orm_example_runs(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "{'acme': [(1, ['tea'])], 'globex': [(2, ['tea'])]}"
    assert (tmp_path / "shard0.db").exists()
    assert (tmp_path / "shard1.db").exists()


def test_the_fastapi_example_keeps_tenants_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    config = {
        "datasources": {
            "one": {"url": f"sqlite:///{tmp_path / 'one.db'}"},
            "two": {"url": f"sqlite:///{tmp_path / 'two.db'}"},
        },
        "tables": {"notes": {"strategy": "tenant"}},
        "tenants": {
            "acme": {"datasource": "one"},
            "globex": {"datasource": "two"},
            "initech": {"datasource": "one"},  # shares acme's table
        },
    }
    path = tmp_path / "tenantdb.json"
    path.write_text(json.dumps(config))
    monkeypatch.setenv("TENANTDB_CONFIG", str(path))
    example = _load(EXAMPLES / "sqlalchemy_fastapi.py")

    async def scenario() -> None:
        async with example.app.router.lifespan_context(example.app):
            transport = httpx.ASGITransport(app=example.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                ids = {}
                for tenant in ("acme", "globex", "initech"):
                    answer = await client.post(
                        "/notes", json={"body": f"{tenant} note"}, headers={"X-Tenant": tenant}
                    )
                    assert answer.status_code == 200, answer.text
                    ids[tenant] = answer.json()["id"]
                for tenant in ("acme", "globex", "initech"):
                    listed = await client.get("/notes", headers={"X-Tenant": tenant})
                    assert [n["body"] for n in listed.json()] == [f"{tenant} note"]
                # initech's note sits in acme's table: acme cannot fetch it by id.
                other = await client.get(f"/notes/{ids['initech']}", headers={"X-Tenant": "acme"})
                assert other.json() == {}

    asyncio.run(asyncio.wait_for(scenario(), 60))
