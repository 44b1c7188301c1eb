"""The Redis store keeps the store contract on a real server, plus what is its own:
malformed hashes, the change stream, lost connections, the key prefix."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator

import pytest
import redis

from proxy import TcpProxy
from tenantdb.errors import InvalidTenantError, RegistryUnavailableError
from tenantdb.tenants._record import parse_record
from tenantdb.tenants.stores import TenantStore, open_store
from tenantdb.tenants.stores.redis import RedisStore

from .store_contract import WAIT_S, OpenStore, StoreContract, Watcher, record

pytestmark = pytest.mark.redis

Proxy = Callable[[str], tuple[TcpProxy, str]]


class TestRedisStore(StoreContract):
    @pytest.fixture
    def open_store(self, redis_registry_url: str) -> OpenStore:
        def open_one() -> TenantStore:
            return RedisStore(redis_registry_url)

        return open_one


@pytest.fixture
def raw(redis_server_url: str) -> Iterator[redis.Redis]:
    """A plain redis-py client on the test server, outside tenantdb."""
    client = redis.Redis.from_url(redis_server_url, socket_timeout=5)
    yield client
    client.close()


@pytest.fixture
def store(redis_registry_url: str) -> Iterator[RedisStore]:
    opened = RedisStore(redis_registry_url)
    yield opened
    opened.close()


def test_open_store_builds_a_redis_store(redis_registry_url: str) -> None:
    opened = open_store(redis_registry_url)
    try:
        assert isinstance(opened, RedisStore)
        assert (
            opened.prefix
            == urllib.parse.parse_qs(urllib.parse.urlsplit(redis_registry_url).query)["prefix"][0]
        )
    finally:
        opened.close()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("data", b"not json", id="not-json"),
        pytest.param("data", b"[1, 2]", id="json-array"),
        pytest.param("data", b"\xff\xfe", id="not-utf8"),
        pytest.param("data", b'{"status": 7}', id="wrong-field-type"),
        pytest.param("version", b"two", id="version-not-a-number"),
    ],
)
def test_a_malformed_hash_loads_as_a_record_the_registry_rejects(
    store: RedisStore, raw: redis.Redis, field: str, value: bytes
) -> None:
    assert store.write(record("acme"), expected_version=0)
    raw.hset(f"{store.prefix}:tenant:acme", field, value)
    loaded = store.load("acme")
    assert loaded is not None
    assert loaded["id"] == "acme"
    with pytest.raises(InvalidTenantError, match="acme"):
        parse_record(loaded)
    assert [r["id"] for r in store.load_all()] == ["acme"]
    assert set(store.versions()) == {"acme"}


def test_the_change_stream_carries_only_id_and_version(store: RedisStore, raw: redis.Redis) -> None:
    store.write(record("acme", features={"secret_flag": True}), expected_version=0)
    store.write(record("acme", 2, status="suspended"), expected_version=1)
    assert not store.write(record("acme", 9), expected_version=8)
    store.remove("acme")
    assert not store.remove("acme")
    entries = raw.xrange(f"{store.prefix}:changes")
    assert [fields for _, fields in entries] == [
        {b"id": b"acme", b"version": b"1"},
        {b"id": b"acme", b"version": b"2"},
        {b"id": b"acme", b"version": b""},
    ]


def test_keys_live_under_the_prefix_only(redis_registry_url: str, raw: redis.Redis) -> None:
    opened = RedisStore(redis_registry_url)
    try:
        opened.write(record("acme"), expected_version=0)
        opened.write(record("o'brien:x"), expected_version=0)
        opened.remove("acme")
        watcher = Watcher(opened).start()
        watcher.close()
        keys = {key.decode() for key in raw.scan_iter(match=f"{opened.prefix}*", count=1000)}
        assert keys == {
            f"{opened.prefix}:tenant:o'brien:x",
            f"{opened.prefix}:versions",
            f"{opened.prefix}:changes",
        }
    finally:
        opened.close()


def test_stores_with_different_prefixes_do_not_see_each_other(redis_registry_url: str) -> None:
    first = RedisStore(redis_registry_url)
    second = RedisStore(redis_registry_url + "_other")
    try:
        first.write(record("acme"), expected_version=0)
        assert second.load("acme") is None
        assert second.versions() == {}
        assert second.write(record("acme", datasource="ds9"), expected_version=0)
        assert first.load("acme") == record("acme")
    finally:
        first.close()
        second.close()


def test_watch_raises_registry_unavailable_when_the_connection_is_cut(
    redis_registry_url: str, proxy: Proxy
) -> None:
    tcp, url = proxy(redis_registry_url)
    cut_store = RedisStore(url)
    watcher = Watcher(cut_store).start()
    try:
        tcp.cut()
        watcher.thread.join(WAIT_S)
        assert not watcher.thread.is_alive(), "watch kept running after the connection was cut"
        assert isinstance(watcher.error, RegistryUnavailableError), watcher.error
        assert watcher.error.orig is not None
    finally:
        watcher.stop.set()
        cut_store.close()


def test_requests_raise_registry_unavailable_without_the_password(
    redis_registry_url: str, proxy: Proxy
) -> None:
    tcp, url = proxy(redis_registry_url)
    parts = urllib.parse.urlsplit(url)
    with_password = urllib.parse.urlunsplit(
        parts._replace(netloc=f"tenantdb:hunter2-secret@{parts.hostname}:{parts.port}")
    )
    cut_store = RedisStore(with_password)
    try:
        tcp.cut()
        for call in (cut_store.versions, lambda: cut_store.load("acme")):
            with pytest.raises(RegistryUnavailableError) as caught:
                call()
            assert "hunter2" not in str(caught.value)
            assert "tenantdb:***@" in str(caught.value)
            assert caught.value.orig is not None
    finally:
        cut_store.close()


def test_requests_after_a_cut_reconnect_once_the_server_answers(
    redis_registry_url: str, proxy: Proxy
) -> None:
    tcp, url = proxy(redis_registry_url)
    cut_store = RedisStore(url)
    try:
        assert cut_store.write(record("acme"), expected_version=0)
        tcp.cut()
        with pytest.raises(RegistryUnavailableError):
            cut_store.load("acme")
        tcp.heal()
        assert cut_store.load("acme") == record("acme")
    finally:
        cut_store.close()


def test_requests_after_the_server_dropped_idle_connections_succeed(
    redis_registry_url: str, proxy: Proxy
) -> None:
    tcp, url = proxy(redis_registry_url)
    restarted = RedisStore(url)
    try:
        assert restarted.write(record("acme"), expected_version=0)
        tcp.cut()  # the pooled connection dies, as when the server restarts
        tcp.heal()
        assert restarted.write(record("acme", 2), expected_version=1)
        assert restarted.load("acme") == record("acme", 2)
    finally:
        restarted.close()


def test_close_ends_a_running_watch(redis_registry_url: str) -> None:
    closing = RedisStore(redis_registry_url)
    watcher = Watcher(closing).start()
    try:
        closing.close()
        watcher.thread.join(WAIT_S)
        assert not watcher.thread.is_alive()
        assert watcher.error is None
        with pytest.raises(RegistryUnavailableError, match="closed"):
            closing.load("acme")
    finally:
        watcher.stop.set()


def test_the_url_names_the_prefix_and_is_shown_without_its_password() -> None:
    built = RedisStore("redis://:pw@127.0.0.1:6379/3?prefix=acme_registry")
    assert built.prefix == "acme_registry"
    assert built.url == "redis://:***@127.0.0.1:6379/3?prefix=acme_registry"
    assert ":pw@" not in repr(built)
    assert RedisStore("redis://127.0.0.1:6379/0").prefix == "tenantdb"
