"""The etcd store keeps the store contract, against a real etcd (scripts/services.sh)."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable

import pytest

from proxy import TcpProxy
from tenantdb.errors import ConfigError, InvalidTenantError, RegistryUnavailableError
from tenantdb.tenants._record import parse_record
from tenantdb.tenants.stores import TenantStore, open_store
from tenantdb.tenants.stores.etcd import EtcdStore

from .store_contract import WAIT_S, OpenStore, StoreContract, Watcher, record

pytestmark = pytest.mark.etcd

Proxy = Callable[[str], tuple[TcpProxy, str]]


def _endpoint(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"http://{parts.hostname}:{parts.port or 2379}"


def _prefix(url: str) -> str:
    return "/" + urllib.parse.urlsplit(url).path.strip("/") + "/"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _etcd(url: str, path: str, body: dict[str, object]) -> dict[str, object]:
    """One request to etcd's JSON gateway, by hand (not through the store under test)."""
    request = urllib.request.Request(
        _endpoint(url) + path, data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(response.read())
    assert isinstance(answer, dict)
    return answer


def _all_keys(url: str) -> list[bytes]:
    """Every key of the etcd server (a range from "\\0" to "\\0" is the whole keyspace)."""
    answer = _etcd(
        url, "/v3/kv/range", {"key": _b64(b"\0"), "range_end": _b64(b"\0"), "keys_only": True}
    )
    kvs = answer.get("kvs", [])
    assert isinstance(kvs, list)
    return [base64.b64decode(kv["key"]) for kv in kvs]


class TestEtcdStore(StoreContract):
    @pytest.fixture
    def open_store(self, etcd_registry_url: str) -> OpenStore:
        def open_one() -> TenantStore:
            return EtcdStore(etcd_registry_url)

        return open_one

    def test_open_store_builds_an_etcd_store(self, etcd_registry_url: str) -> None:
        store = open_store(etcd_registry_url)
        assert isinstance(store, EtcdStore)
        assert store.url == etcd_registry_url

    def test_keys_stay_under_the_prefix(self, store: TenantStore, etcd_registry_url: str) -> None:
        marker = uuid.uuid4().hex  # finds this test's keys wherever they went
        ids = [f"{marker}", f"a/{marker}", f"../{marker}", f"/{marker}/"]
        for tenant_id in ids:
            assert store.write(record(tenant_id), expected_version=0)
        written = [k for k in _all_keys(etcd_registry_url) if marker.encode() in k]
        prefix = _prefix(etcd_registry_url)
        assert sorted(written) == sorted(f"{prefix}tenants/{i}".encode() for i in ids)

    def test_a_value_is_the_json_of_the_whole_record(
        self, store: TenantStore, etcd_registry_url: str
    ) -> None:
        store.write(record("acme", status="read_only"), expected_version=0)
        key = f"{_prefix(etcd_registry_url)}tenants/acme".encode()
        answer = _etcd(etcd_registry_url, "/v3/kv/range", {"key": _b64(key)})
        kvs = answer["kvs"]
        assert isinstance(kvs, list)
        assert json.loads(base64.b64decode(kvs[0]["value"])) == record("acme", status="read_only")

    @pytest.mark.parametrize(
        "raw",
        [b"{not json", b"[1, 2]", b"\xff\xfe", b""],
        ids=["syntax", "array", "not-utf8", "empty"],
    )
    def test_a_malformed_value_reads_as_a_record_the_registry_rejects(
        self, stores: Callable[[], TenantStore], etcd_registry_url: str, raw: bytes
    ) -> None:
        store = stores()
        store.write(record("good"), expected_version=0)
        key = f"{_prefix(etcd_registry_url)}tenants/broken".encode()
        _etcd(etcd_registry_url, "/v3/kv/put", {"key": _b64(key), "value": _b64(raw)})
        loaded = store.load("broken")
        assert loaded is not None
        with pytest.raises(InvalidTenantError, match="broken"):
            parse_record(loaded)
        assert {r["id"] for r in store.load_all()} == {"good", "broken"}
        assert store.versions() == {"good": 1, "broken": 0}
        # A correct record replaces it, as for any store.
        assert store.write(record("broken"), expected_version=0)
        assert parse_record(store.load("broken") or {}).version == 1

    def test_load_all_reads_every_page(self, etcd_registry_url: str) -> None:
        store = EtcdStore(etcd_registry_url, page_size=7)
        try:
            ids = [f"t{n:02d}" for n in range(30)]
            for tenant_id in ids:
                store.write(record(tenant_id), expected_version=0)
            assert sorted(r["id"] for r in store.load_all()) == ids
            assert store.versions() == dict.fromkeys(ids, 1)
        finally:
            store.close()

    def test_a_watch_ignores_keys_outside_its_prefix(
        self, stores: Callable[[], TenantStore], etcd_registry_url: str
    ) -> None:
        watcher = Watcher(stores()).start()
        try:
            other = EtcdStore(etcd_registry_url + "x")
            try:
                other.write(record("elsewhere"), expected_version=0)
            finally:
                other.close()
            stores().write(record("acme"), expected_version=0)
            changes = watcher.wait_for(lambda seen: any(c.tenant_id == "acme" for c in seen))
            assert [c.tenant_id for c in changes] == ["acme"]
        finally:
            watcher.close()

    def test_watch_raises_when_the_connection_is_cut(
        self, stores: Callable[[], TenantStore], etcd_registry_url: str, proxy: Proxy
    ) -> None:
        tcp, url = proxy(etcd_registry_url)
        watched = EtcdStore(url)
        watcher = Watcher(watched).start()
        try:
            stores().write(record("acme"), expected_version=0)
            watcher.wait_for(lambda seen: len(seen) >= 1)
            tcp.cut()
            watcher.thread.join(WAIT_S)
            assert not watcher.thread.is_alive(), "watch kept running after the cut"
            assert isinstance(watcher.error, RegistryUnavailableError), watcher.error
            with pytest.raises(RegistryUnavailableError, match="tenant store etcd://"):
                watched.load("acme")
            tcp.heal()
            assert watched.load("acme") == record("acme")
        finally:
            watcher.close()
            watched.close()

    def test_an_unreachable_server_raises_registry_unavailable(self, proxy: Proxy) -> None:
        tcp, url = proxy("etcd://127.0.0.1:2379/unreachable")
        tcp.cut()
        store = EtcdStore(url, timeout_s=2)
        try:
            with pytest.raises(RegistryUnavailableError) as caught:
                store.versions()
            assert caught.value.orig is not None
            watcher = Watcher(store)
            watcher.thread.start()
            watcher.thread.join(WAIT_S)
            assert isinstance(watcher.error, RegistryUnavailableError)
            assert not watcher.ready.is_set()
        finally:
            store.close()

    def test_close_makes_a_running_watch_return(self, store: TenantStore) -> None:
        watcher = Watcher(store).start()
        store.close()
        watcher.thread.join(WAIT_S)
        assert not watcher.thread.is_alive()
        assert watcher.error is None
        with pytest.raises(RegistryUnavailableError, match="closed"):
            store.load("acme")

    def test_a_watch_on_a_stopped_event_returns_without_delivering(
        self, store: TenantStore
    ) -> None:
        stop = threading.Event()
        stop.set()
        seen: list[object] = []
        store.watch(seen.append, on_ready=lambda: None, stop=stop)
        assert seen == []

    @pytest.mark.parametrize(
        "url",
        [
            "etcd://user:s3cret@127.0.0.1:2379/x",
            "etcd:///no-host",
            "etcd://127.0.0.1:2379/x?timeout=3",
            "etcd://127.0.0.1:port/x",
        ],
    )
    def test_an_unusable_url_is_a_config_error_without_its_password(self, url: str) -> None:
        with pytest.raises(ConfigError) as caught:
            EtcdStore(url)
        assert "registry.url" in str(caught.value)
        assert "s3cret" not in str(caught.value)

    def test_the_prefix_defaults_to_tenantdb(self) -> None:
        assert "/tenantdb/tenants/" in repr(EtcdStore("etcd://127.0.0.1:2379"))
        assert "/a/b/tenants/" in repr(EtcdStore("etcd://127.0.0.1:2379/a/b/"))
