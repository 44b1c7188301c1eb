"""The file store keeps the store contract in TOML, YAML and JSON, and survives hand edits."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenantdb.errors import ConfigError, InvalidTenantError, RegistryUnavailableError
from tenantdb.tenants._record import parse_record
from tenantdb.tenants.stores import Change, TenantStore, open_store
from tenantdb.tenants.stores.file import FileStore

from .store_contract import WAIT_S, OpenStore, StoreContract, Watcher, record

SUFFIXES = [".toml", ".yaml", ".json"]


def hand_written(suffix: str, tenants: dict[str, dict[str, Any]]) -> str:
    """A document as a person would write it: flat fields only, in the file's format."""
    if suffix == ".json":
        return json.dumps(tenants, indent=4)
    if suffix == ".yaml":
        return "# edited by hand\n" + yaml.safe_dump(tenants)
    lines = ["# edited by hand"]
    for tenant_id, fields in tenants.items():
        lines.append(f"[{json.dumps(tenant_id)}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in fields.items())
    return "\n".join(lines) + "\n"


def replace_like_an_editor(path: Path, text: str) -> None:
    """Write a new file next to ``path`` and rename it over ``path``, as editors save."""
    swap = path.with_name(f".{path.name}.swp")
    swap.write_text(text, encoding="utf-8")
    os.replace(swap, path)


def wait_for_warnings(caplog: pytest.LogCaptureFixture, text: str, count: int) -> None:
    """Wait (up to WAIT_S) until ``count`` warnings mentioning ``text`` were logged."""
    deadline = time.monotonic() + WAIT_S
    while sum(text in r.getMessage() for r in caplog.records) < count:
        assert time.monotonic() < deadline, f"warnings so far: {caplog.messages}"
        time.sleep(0.02)


class TestFileStore(StoreContract):
    polls = False  # whether the watch polls the file (or uses watchfiles)

    @pytest.fixture(params=SUFFIXES)
    def path(self, request: pytest.FixtureRequest, tmp_path: Path) -> Path:
        return tmp_path / "registry" / f"tenants{request.param}"

    @pytest.fixture
    def url(self, path: Path) -> str:
        return path.as_uri()

    @pytest.fixture
    def open_store(self, url: str) -> OpenStore:
        def open_one() -> TenantStore:
            return FileStore(url)

        return open_one

    def test_watch_delivers_changes_from_another_process(
        self, stores: Callable[[], TenantStore]
    ) -> None:
        """Replaces the contract's test of the same name.

        A file watcher learns that the file changed, then reads it: writes landing in
        quick succession can reach it as one change, the latest version of the tenant.
        So this waits for each state in turn, and checks that what arrives is in order
        and ends with the deletion, instead of expecting one change per write.
        """
        watcher = Watcher(stores()).start()
        try:
            writer = stores()
            writer.write(record("acme"), expected_version=0)
            writer.write(record("acme", 2, status="suspended"), expected_version=1)
            watcher.wait_for(lambda seen: Change("acme", 2) in seen)
            writer.remove("acme")
            changes = watcher.wait_for(lambda seen: Change("acme", None) in seen)
            assert [c.version for c in changes] in ([1, 2, None], [2, None])
            assert {c.tenant_id for c in changes} == {"acme"}
        finally:
            watcher.close()
        assert watcher.error is None

    def test_open_store_builds_a_file_store(self, url: str) -> None:
        assert isinstance(open_store(url), FileStore)

    def test_a_missing_file_holds_no_tenants_and_a_write_creates_it(
        self, store: TenantStore, path: Path
    ) -> None:
        assert not path.parent.exists()
        assert store.versions() == {}
        assert store.write(record("acme"), expected_version=0)
        assert path.exists()
        assert FileStore(path.as_uri()).load("acme") == record("acme")

    def test_the_document_maps_ids_to_fields_with_their_version(
        self, store: TenantStore, path: Path
    ) -> None:
        store.write(record("acme", datasource="ds1"), expected_version=0)
        text = path.read_text(encoding="utf-8")
        parse: dict[str, Callable[[str], Any]] = {
            ".toml": tomllib.loads,
            ".yaml": yaml.safe_load,
            ".json": json.loads,
        }
        document = parse[path.suffix](text)
        assert list(document) == ["acme"]
        assert document["acme"]["datasource"] == "ds1"
        assert document["acme"]["version"] == 1
        assert "id" not in document["acme"]

    def test_a_hand_edit_is_delivered(self, stores: Callable[[], TenantStore], path: Path) -> None:
        store = stores()
        store.write(record("acme"), expected_version=0)
        watcher = Watcher(store).start()
        try:
            replace_like_an_editor(
                path,
                hand_written(
                    path.suffix,
                    {
                        "acme": {"datasource": "ds0", "version": 1},
                        "beta": {"datasource": "ds1", "status": "read_only"},
                    },
                ),
            )
            changes = watcher.wait_for(lambda seen: Change("beta", 1) in seen)
            assert {c.tenant_id for c in changes} == {"beta"}, "acme did not change"
        finally:
            watcher.close()
        beta = parse_record(store.load("beta") or {})
        assert (beta.datasource, beta.status, beta.version) == ("ds1", "read_only", 1)

    def test_a_hand_edit_without_a_version_bump_gets_a_higher_version(
        self, stores: Callable[[], TenantStore], path: Path
    ) -> None:
        store = stores()
        store.write(record("acme"), expected_version=0)
        watcher = Watcher(store).start()
        try:
            edited = {"acme": {"datasource": "ds0", "status": "suspended", "version": 1}}
            replace_like_an_editor(path, hand_written(path.suffix, edited))
            watcher.wait_for(lambda seen: Change("acme", 2) in seen)
            edited["acme"]["status"] = "read_only"  # a second forgotten bump
            replace_like_an_editor(path, hand_written(path.suffix, edited))
            changes = watcher.wait_for(lambda seen: Change("acme", 3) in seen)
            assert changes == [Change("acme", 2), Change("acme", 3)]
        finally:
            watcher.close()
        assert watcher.error is None
        loaded = store.load("acme")
        assert loaded is not None
        assert (loaded["status"], loaded["version"]) == ("read_only", 3)
        assert store.versions() == {"acme": 3}
        # Writes continue from the reported version, and the document then says so.
        assert not store.write(record("acme", 2), expected_version=1)
        assert store.write(record("acme", 4, status="active"), expected_version=3)
        assert FileStore(path.as_uri()).versions() == {"acme": 4}
        # Lowering the version by hand is a change too: versions never go back.
        edited["acme"]["version"] = 1
        replace_like_an_editor(path, hand_written(path.suffix, edited))
        assert store.versions() == {"acme": 5}

    def test_an_entry_without_version_is_at_version_1(self, store: TenantStore, path: Path) -> None:
        path.parent.mkdir(parents=True)
        path.write_text(hand_written(path.suffix, {"acme": {"datasource": "ds0"}}))
        assert store.versions() == {"acme": 1}
        assert parse_record(store.load("acme") or {}).version == 1
        assert store.write(record("acme", 2, status="suspended"), expected_version=1)

    def test_a_syntax_error_mid_edit_keeps_the_tenants_and_the_watch(
        self,
        stores: Callable[[], TenantStore],
        path: Path,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        store = stores()
        store.write(record("acme"), expected_version=0)
        watcher = Watcher(store).start()
        broken = {".toml": "[acme\nstatus = ", ".yaml": "acme: [", ".json": '{"acme": {'}
        try:
            with caplog.at_level(logging.WARNING, logger="tenantdb.tenants"):
                replace_like_an_editor(path, broken[path.suffix])
                wait_for_warnings(caplog, "not valid", 1)
                with pytest.raises(RegistryUnavailableError, match="not valid"):
                    store.load("acme")
                with pytest.raises(RegistryUnavailableError, match="not valid"):
                    stores().write(record("beta"), expected_version=0)
                assert path.read_text() == broken[path.suffix], "a write replaced the edit"
                replace_like_an_editor(path, "")  # a truncated file is not "no tenants"
                wait_for_warnings(caplog, "empty", 1)
                with pytest.raises(RegistryUnavailableError, match="empty"):
                    store.versions()
                fixed: dict[str, dict[str, Any]] = {
                    "acme": {"datasource": "ds0", "version": 1},
                    "beta": {"version": 1},
                }
                replace_like_an_editor(path, hand_written(path.suffix, fixed))
                changes = watcher.wait_for(lambda seen: Change("beta", 1) in seen)
        finally:
            watcher.close()
        assert watcher.error is None
        assert changes == [Change("beta", 1)], "the broken file changed acme"
        assert store.versions() == {"acme": 1, "beta": 1}

    def test_a_malformed_entry_is_a_record_the_registry_rejects(
        self, store: TenantStore, path: Path
    ) -> None:
        text = {
            ".toml": 'broken = "not a table"\nwrong = 3\n[good]\ndatasource = "ds0"\n'
            '[badversion]\nversion = "two"\n',
            ".yaml": "broken: not a table\nwrong: [1]\ngood: {datasource: ds0}\n"
            "badversion: {version: two}\n123: {datasource: ds0}\n",
            ".json": '{"broken": "not a table", "wrong": null, "good": {"datasource": "ds0"},'
            ' "badversion": {"version": "two"}}',
        }[path.suffix]
        path.parent.mkdir(parents=True)
        path.write_text(text)
        loaded = {r["id"]: r for r in store.load_all()}
        assert parse_record(loaded.pop("good")).datasource == "ds0"
        assert loaded, "the malformed entries are there"
        for tenant_id, bad in loaded.items():
            with pytest.raises(InvalidTenantError, match=tenant_id):
                parse_record(bad)
        assert store.versions()["good"] == 1
        assert store.versions()["broken"] == 0
        # A correct record replaces a malformed one; the other entries stay as written.
        assert store.write(record("broken"), expected_version=0)
        assert parse_record(store.load("broken") or {}).version == 1
        with pytest.raises(InvalidTenantError):
            parse_record(store.load("badversion") or {})

    def test_writers_in_other_processes_never_lose_an_update(
        self, store: TenantStore, url: str
    ) -> None:
        store.write(record("acme", features={"count": 0}), expected_version=0)
        script = textwrap.dedent(
            """
            import sys
            from tenantdb.tenants.stores.file import FileStore
            store = FileStore(sys.argv[1])
            for _ in range(int(sys.argv[2])):
                while True:
                    current = store.load("acme")
                    version = current["version"]
                    features = {"count": current["features"]["count"] + 1}
                    changed = {**current, "features": features, "version": version + 1}
                    if store.write(changed, expected_version=version):
                        break
            """
        )
        processes = [subprocess.Popen([sys.executable, "-c", script, url, "15"]) for _ in range(3)]
        # Meanwhile every read sees a whole document (writes rename a complete file).
        while any(p.poll() is None for p in processes):
            loaded = store.load("acme")
            assert loaded is not None
        assert [p.wait() for p in processes] == [0, 0, 0]
        loaded = store.load("acme")
        assert loaded is not None
        assert (loaded["features"]["count"], loaded["version"]) == (45, 46)

    def test_removing_the_directory_is_noticed(
        self, stores: Callable[[], TenantStore], path: Path
    ) -> None:
        store = stores()
        store.write(record("acme"), expected_version=0)
        watcher = Watcher(store).start()
        try:
            shutil.rmtree(path.parent)
            if self.polls:  # polling reads "no file": the tenant is gone, the watch goes on
                watcher.wait_for(lambda seen: Change("acme", None) in seen)
                stores().write(record("beta"), expected_version=0)
                watcher.wait_for(lambda seen: Change("beta", 1) in seen)
            else:  # watching a directory that is gone would see nothing more
                watcher.thread.join(WAIT_S)
                assert isinstance(watcher.error, RegistryUnavailableError), watcher.error
                assert "removed" in str(watcher.error)
        finally:
            watcher.close()

    def test_close_makes_a_running_watch_return(self, store: TenantStore) -> None:
        watcher = Watcher(store).start()
        store.close()
        watcher.thread.join(5)
        assert not watcher.thread.is_alive()
        assert watcher.error is None


class TestFileStorePolling(TestFileStore):
    """The same, with the watch polling the file instead of using watchfiles."""

    polls = True

    @pytest.fixture
    def url(self, path: Path) -> str:
        return path.as_uri() + "?poll_interval=0.05"


TRICKY = [
    "a.b",
    "o'brien",
    'quote"d',
    "back\\slash",
    "new\nline",
    "tab\tand\r\x0c\x08",
    "\x01\x1f\x7f",
    "ünïcødé 租户 🎉",
    "",
    "[table]",
    "a = b",
    "#hash",
    "'''",
    '"""',
]


def test_toml_round_trips_tricky_strings(tmp_path: Path) -> None:
    path = tmp_path / "tenants.toml"
    store = FileStore(path.as_uri())
    written = {}
    for n, text in enumerate(TRICKY):
        tenant = record(
            text,
            datasource=text,
            features={
                text: text,
                "list": [text, 1, 2.5, True],
                "nested": {text: {"deeper": text}},
                f"k{n}": -0.0,
                "big": 1e16,
                "small": 1.5e-07,
                "inf": float("inf"),
            },
        )
        assert store.write(tenant, expected_version=0), repr(text)
        written[text] = tenant
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    assert list(document) == TRICKY
    assert document["o'brien"]["datasource"] == "o'brien"
    assert {r["id"]: r for r in FileStore(path.as_uri()).load_all()} == written


def test_toml_cannot_hold_none_in_a_list(tmp_path: Path) -> None:
    store = FileStore((tmp_path / "tenants.toml").as_uri())
    with pytest.raises(InvalidTenantError, match="None"):
        store.write(record("acme", features={"list": [1, None]}), expected_version=0)
    assert store.versions() == {}


@pytest.mark.parametrize(
    "url",
    [
        "file://relative/tenants.toml",
        "file:///tmp/tenants.txt",
        "file:///tmp/tenants.toml?watch=1",
        "file:///tmp/tenants.toml?poll_interval=0",
        "file:///tmp/tenants.toml?poll_interval=soon",
    ],
)
def test_an_unusable_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match=r"registry\.url"):
        FileStore(url)
