"""The Redis shared tenant cache on a real server: versions only move forward, snapshots
are complete or absent, and everything stays under the prefix."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator

import pytest
import redis

from proxy import TcpProxy
from tenantdb.errors import OperationalError
from tenantdb.tenants._registry import SharedCache
from tenantdb.tenants._shared_cache import RedisSharedCache

from .store_contract import record

pytestmark = pytest.mark.redis

Proxy = Callable[[str], tuple[TcpProxy, str]]


@pytest.fixture
def cache(redis_registry_url: str) -> Iterator[RedisSharedCache]:
    opened = RedisSharedCache(redis_registry_url)
    yield opened
    opened.close()


@pytest.fixture
def raw(redis_server_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server_url, socket_timeout=5)
    yield client
    client.close()


def test_it_is_a_shared_cache(cache: RedisSharedCache) -> None:
    shared: SharedCache = cache
    assert shared.get("acme") is None


def test_a_put_record_reads_back_equal(cache: RedisSharedCache) -> None:
    written = record("acme", 3, features={"stage": "beta", "ratio": 0.25}, schema="acme_s")
    cache.put(written)
    assert cache.get("acme") == written
    assert cache.get("other") is None


def test_a_put_never_replaces_a_newer_version(cache: RedisSharedCache) -> None:
    cache.put(record("acme", 5, status="suspended"))
    cache.put(record("acme", 4, status="active"))
    cache.put(record("acme", 5, status="read_only"))
    assert cache.get("acme") == record("acme", 5, status="suspended")
    cache.put(record("acme", 6, status="active"))
    assert cache.get("acme") == record("acme", 6, status="active")


def test_another_process_sees_what_one_put(redis_registry_url: str) -> None:
    first, second = RedisSharedCache(redis_registry_url), RedisSharedCache(redis_registry_url)
    try:
        first.put(record("acme", 2))
        assert second.get("acme") == record("acme", 2)
        second.put(record("acme", 1))
        assert first.get("acme") == record("acme", 2)
    finally:
        first.close()
        second.close()


def test_get_all_is_none_until_a_complete_snapshot_is_written(cache: RedisSharedCache) -> None:
    assert cache.get_all() is None
    cache.put(record("acme"))
    assert cache.get_all() is None, "single puts do not make a complete snapshot"
    cache.put_all([record("acme", 2), record("other")])
    assert sorted(cache.get_all() or [], key=lambda r: r["id"]) == [
        record("acme", 2),
        record("other"),
    ]


def test_put_all_replaces_the_whole_snapshot(cache: RedisSharedCache) -> None:
    cache.put_all([record("acme"), record("gone")])
    cache.put_all(record(f"t{n:05d}") for n in range(2500))
    snapshot = cache.get_all()
    assert snapshot is not None
    assert sorted(r["id"] for r in snapshot) == [f"t{n:05d}" for n in range(2500)]
    assert cache.get("gone") is None
    cache.put_all([])
    assert cache.get_all() == []
    assert cache.get("t00001") is None


def test_a_snapshot_keeps_no_expiry_and_leaves_no_building_key(
    cache: RedisSharedCache, raw: redis.Redis
) -> None:
    cache.put_all([record("acme")])
    assert raw.ttl(f"{cache.prefix}:records") == -1
    keys = {key.decode() for key in raw.scan_iter(match=f"{cache.prefix}:*", count=1000)}
    assert keys == {f"{cache.prefix}:records", f"{cache.prefix}:complete"}


def test_discard_forgets_one_tenant(cache: RedisSharedCache) -> None:
    cache.put_all([record("acme"), record("other")])
    cache.discard("acme")
    cache.discard("never-there")
    assert cache.get("acme") is None
    assert cache.get_all() == [record("other")]
    cache.put(record("acme"))
    assert cache.get("acme") == record("acme"), "a discarded id can be cached again"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1, 2]", id="json-array"),
        pytest.param(b'{"id": "someone-else", "version": 1}', id="other-id"),
        pytest.param(b'{"id": "acme", "version": "1"}', id="version-not-an-int"),
    ],
)
def test_an_entry_that_is_not_a_record_reads_as_a_miss_and_is_replaced(
    cache: RedisSharedCache, raw: redis.Redis, text: bytes
) -> None:
    cache.put_all([record("other")])
    raw.hset(f"{cache.prefix}:records", "acme", text)
    assert cache.get("acme") is None
    assert cache.get_all() == [record("other")]
    cache.put(record("acme"))
    assert cache.get("acme") == record("acme")


def test_keys_live_under_the_prefix_only(cache: RedisSharedCache, raw: redis.Redis) -> None:
    cache.put(record("acme"))
    cache.put_all([record("acme"), record("b:c")])
    cache.discard("acme")
    keys = {key.decode() for key in raw.scan_iter(match=f"{cache.prefix}*", count=1000)}
    assert keys == {f"{cache.prefix}:records", f"{cache.prefix}:complete"}


def test_errors_raise_operational_error_without_the_password(
    redis_registry_url: str, proxy: Proxy
) -> None:
    tcp, url = proxy(redis_registry_url)
    parts = urllib.parse.urlsplit(url)
    with_password = urllib.parse.urlunsplit(
        parts._replace(netloc=f"cache:hunter2-secret@{parts.hostname}:{parts.port}")
    )
    cut = RedisSharedCache(with_password)
    tcp.cut()
    try:
        calls: list[Callable[[], object]] = [
            lambda: cut.get("acme"),
            cut.get_all,
            lambda: cut.put(record("acme")),
            lambda: cut.put_all([record("acme")]),
            lambda: cut.discard("acme"),
        ]
        for call in calls:
            with pytest.raises(OperationalError) as caught:
                call()
            assert "hunter2" not in str(caught.value)
            assert "cache:***@" in str(caught.value)
            assert caught.value.orig is not None
    finally:
        cut.close()


def test_the_url_names_the_prefix() -> None:
    assert RedisSharedCache("redis://127.0.0.1:6379/0").prefix == "tenantdb-cache"
    built = RedisSharedCache("redis://:pw@127.0.0.1:6379/2?prefix=shared")
    assert built.prefix == "shared"
    assert ":pw@" not in repr(built)
    assert built.url == "redis://:***@127.0.0.1:6379/2?prefix=shared"
