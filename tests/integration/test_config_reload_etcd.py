"""A configuration document kept in etcd (``etcd://host:port/key``): read at connect,
followed with ``watch=True``, a bad document refused while the last good one serves."""

from __future__ import annotations

import base64
import json
import os
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import tenantdb
from tenantdb.cli import app

pytestmark = pytest.mark.etcd

HANG_GUARD_S = 60.0
ETCD_URL = os.environ.get("TENANTDB_TEST_ETCD_URL", "etcd://127.0.0.1:2379").rstrip("/")


def _call(path: str, body: dict[str, str]) -> Any:
    endpoint = "http://" + ETCD_URL.removeprefix("etcd://")
    request = urllib.request.Request(endpoint + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def key(run_id: str) -> Iterator[str]:
    try:
        _call("/v3/kv/range", {"key": _b64("probe")})
    except OSError as exc:
        if os.environ.get("TENANTDB_REQUIRE_SERVICES") == "1":
            pytest.fail(f"etcd not reachable at {ETCD_URL}: {exc}")
        pytest.skip(f"etcd not reachable at {ETCD_URL}: {exc}")
    name = f"/{run_id}_config/tenantdb.toml"
    yield name
    _call("/v3/kv/deleterange", {"key": _b64(name)})


def _put(key: str, text: str) -> None:
    _call("/v3/kv/put", {"key": _b64(key), "value": _b64(text)})


def _doc(path: Path, *tables: str) -> str:
    declared = "".join(
        f'[tables.{t}]\nstrategy = "single"\ntenant_scoped = false\n' for t in tables
    )
    return f'[datasources.ds0]\nurl = "sqlite:///{path}"\n{declared}'


def _wait_for(predicate: Any) -> bool:
    pause = threading.Event()
    for _ in range(int(HANG_GUARD_S / 0.02)):
        if predicate():
            return True
        pause.wait(0.02)
    return bool(predicate())


def test_an_etcd_document_is_followed_and_a_bad_one_refused(key: str, tmp_path: Path) -> None:
    database = tmp_path / "ds0.db"
    _put(key, _doc(database, "items"))
    url = f"{ETCD_URL}{key}"
    with tenantdb.connect(url, watch=True, watch_poll_interval=0.05) as cluster:
        assert cluster.status()["config"]["source"] == url
        assert list(cluster.config.tables) == ["items"]
        _put(key, _doc(database, "items", "more"))
        assert _wait_for(lambda: cluster.status()["config"]["generation"] == 2)
        assert list(cluster.config.tables) == ["items", "more"]
        _put(key, _doc(database, "items", "more").replace('"single"', '"mod"', 1))
        assert _wait_for(lambda: cluster.status()["config"]["last_refused"] is not None)
        problems = cluster.status()["config"]["last_refused"]["problems"]
        assert problems[0]["path"].startswith("tables.items")
        assert cluster.status()["config"]["generation"] == 2
        assert cluster.config.tables["items"].strategy == "single"


def test_a_missing_etcd_key_is_a_config_error(key: str) -> None:
    with pytest.raises(tenantdb.ConfigError, match="configuration key not found"):
        tenantdb.connect(f"{ETCD_URL}{key}")


def test_commands_take_a_configuration_kept_in_etcd(key: str, tmp_path: Path) -> None:
    """``--config`` and ``config check`` / ``config diff`` take ``etcd://host:port/key``
    like a file: the reload runbook compares the document in etcd with the next one."""
    runner = CliRunner()
    _put(key, _doc(tmp_path / "a.db", "items"))
    url = f"{ETCD_URL}{key}"
    checked = runner.invoke(app, ["config", "check", url])
    assert checked.exit_code == 0, checked.output
    assert "valid (sqlite;" in checked.output

    following = tmp_path / "next.toml"
    following.write_text(_doc(tmp_path / "a.db", "items", "notes"))
    diffed = runner.invoke(app, ["config", "diff", url, str(following)])
    assert diffed.exit_code == 0, diffed.output
    assert "tables.notes" in diffed.output
    assert "1 change: 1 hot, 0 refused" in diffed.output

    explained = runner.invoke(app, ["explain", "--config", url, "SELECT * FROM items"])
    assert explained.exit_code == 0, explained.output
    assert "ds0" in explained.output
