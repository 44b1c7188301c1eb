"""``redis://host:port/db?prefix=P`` — tenant records in Redis hashes, changes in a stream.

Layout (``P`` defaults to ``tenantdb``)::

    P:tenant:<id>   hash   version → "<n>", data → JSON of the other fields (``_codec``)
    P:versions      hash   <id> → "<n>" for every tenant: versions() is one HGETALL
    P:changes       stream entries {id, version}; version "" on delete; MAXLEN ~ 10000

Writes and removals are Lua scripts that check the version, change both hashes and append
to the stream in one step, so no reader sees one without the others and no change goes
unannounced. ``watch`` reads the stream from its last entry at subscription time with
``XREAD BLOCK``; the stream keeps about its newest 10,000 entries, which only matters to a
watcher that falls that far behind within one subscription (a restarted watch resyncs).

Every Redis error is raised as RegistryUnavailableError with the URL shown without its
password. Commands are not retried by redis-py: a retried script could report as failed a
write that was applied.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ...config import redact_url
from ...drivers import scrub_password
from ...errors import RegistryUnavailableError
from ._base import Change, Record
from ._codec import decode_record, encode_fields
from ._url import StoreUrl

DEFAULT_PREFIX = "tenantdb"
STREAM_LENGTH = 10_000
_LOAD_CHUNK = 1000
_BLOCK_MS = 500

# Connection settings the store uses unless the URL sets them (the URL wins).
CLIENT_DEFAULTS: dict[str, Any] = {
    "socket_timeout": 5.0,
    "socket_connect_timeout": 5.0,
    "socket_keepalive": True,
}

# KEYS: tenant hash, versions hash, change stream.
# ARGV: id, expected version, new version, data, stream length.
_WRITE = """
local current = redis.call('HGET', KEYS[1], 'version')
if (current or '0') ~= ARGV[2] then
    return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[3], 'data', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'id', ARGV[1], 'version', ARGV[3])
return 1
"""

# KEYS: tenant hash, versions hash, change stream. ARGV: id, stream length.
_REMOVE = """
local removed = redis.call('DEL', KEYS[1]) + redis.call('HDEL', KEYS[2], ARGV[1])
if removed == 0 then
    return 0
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'id', ARGV[1], 'version', '')
return 1
"""


class RedisStore:
    """Tenant records under one key prefix of one Redis database.

    Opens nothing until first used. Thread-safe: redis-py's connection pool lends each
    command its own connection; ``watch`` uses a client of its own.
    """

    def __init__(self, url: str) -> None:
        self.url = redact_url(url)
        self.prefix, self._client_url = split_prefix(url, DEFAULT_PREFIX)
        self._versions_key = f"{self.prefix}:versions"
        self._changes_key = f"{self.prefix}:changes"
        self._client = self._new_client()
        self._write = self._client.register_script(_WRITE)
        self._remove = self._client.register_script(_REMOVE)
        self._closed = False

    # -- reads --------------------------------------------------------------------------

    def load(self, tenant_id: str) -> Record | None:
        try:
            version, data = self._live().hmget(self._tenant_key(tenant_id), ["version", "data"])
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        if version is None and data is None:
            return None
        return decode_record(tenant_id, _version_of(version), data or b"")

    def load_all(self) -> Iterator[Record]:
        """Every record listed in ``P:versions``, read in pipelined chunks."""
        try:
            ids = [text_of(raw) for raw in self._live().hkeys(self._versions_key)]
            records: list[Record] = []
            for start in range(0, len(ids), _LOAD_CHUNK):
                chunk = ids[start : start + _LOAD_CHUNK]
                pipe = self._client.pipeline(transaction=False)
                for tenant_id in chunk:
                    pipe.hmget(self._tenant_key(tenant_id), ["version", "data"])
                for tenant_id, (version, data) in zip(chunk, pipe.execute(), strict=True):
                    if version is not None or data is not None:  # else removed meanwhile
                        records.append(decode_record(tenant_id, _version_of(version), data or b""))
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        return iter(records)

    def versions(self) -> dict[str, int]:
        """``{id: version}``; a version that is not an integer (a hand edit) reads as 0, so
        a resync reloads that tenant and the registry judges its record."""
        try:
            raw = self._live().hgetall(self._versions_key)
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        versions: dict[str, int] = {}
        for key, value in raw.items():
            version = _version_of(value)
            versions[text_of(key)] = version if isinstance(version, int) else 0
        return versions

    # -- writes -------------------------------------------------------------------------

    def write(self, record: Record, *, expected_version: int) -> bool:
        tenant_id = record["id"]
        args = [tenant_id, expected_version, record["version"], encode_fields(record)]
        return self._script(self._write, tenant_id, [*args, STREAM_LENGTH])

    def remove(self, tenant_id: str) -> bool:
        return self._script(self._remove, tenant_id, [tenant_id, STREAM_LENGTH])

    # -- changes ------------------------------------------------------------------------

    def watch(
        self,
        on_change: Callable[[Change], None],
        *,
        on_ready: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        """Follow ``P:changes`` from its newest entry; see TenantStore.watch. Checks
        ``stop`` and ``close()`` between blocking reads of half a second."""
        client = self._new_client()
        try:
            newest = client.xrevrange(self._changes_key, count=1)
            last: bytes | str = (newest[0][0] or b"0-0") if newest else b"0-0"
            on_ready()
            while not stop.is_set() and not self._closed:
                reply = client.xread({self._changes_key: last}, count=1000, block=_BLOCK_MS)
                for entry_id, fields in _entries(reply):
                    last = entry_id
                    change = _change_of(fields)
                    if change is not None:
                        on_change(change)
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        finally:
            client.close()

    # -- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Disconnect; a running ``watch`` returns within half a second, and later calls
        raise RegistryUnavailableError."""
        self._closed = True
        self._client.close()

    def __repr__(self) -> str:
        return f"<RedisStore {self.url}{' [closed]' if self._closed else ''}>"

    # -- helpers ------------------------------------------------------------------------

    def _tenant_key(self, tenant_id: str) -> str:
        return f"{self.prefix}:tenant:{tenant_id}"

    def _live(self) -> redis.Redis:
        if self._closed:
            raise RegistryUnavailableError(f"tenant store {self.url} is closed")
        return self._client

    def _script(self, script: Any, tenant_id: str, args: Sequence[object]) -> bool:
        keys = [self._tenant_key(tenant_id), self._versions_key, self._changes_key]
        self._live()
        try:
            return bool(script(keys=keys, args=args))
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc

    def _new_client(self) -> redis.Redis:
        return new_client(self._client_url)

    def _unavailable(self, exc: redis.RedisError) -> RegistryUnavailableError:
        return RegistryUnavailableError(
            f"tenant store {self.url}: {scrub_password(str(exc), self._client_url)}", orig=exc
        )


def split_prefix(url: str, default: str, *, key: str = "registry.url") -> tuple[str, str]:
    """``(prefix, client URL)`` of a ``redis://…?prefix=P`` URL (an empty or missing ``P``
    is ``default``): the client URL lacks the ``prefix`` option, and ``protocol`` too,
    since these modules read RESP2 replies. ``key`` is where the URL was configured."""
    parsed = StoreUrl.parse(url, key=key)
    return parsed.option("prefix") or default, parsed.without("prefix", "protocol")


def new_client(url: str) -> redis.Redis:
    """A RESP2 client for a client URL (``split_prefix``) that connects on first use and
    never retries a command on its own: a stale pooled connection is replaced when it is
    taken from the pool, and anything else is better reported than repeated."""
    return redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), protocol=2, **CLIENT_DEFAULTS)


def text_of(raw: bytes | str) -> str:
    """A Redis reply as text (RESP2 replies are bytes; invalid UTF-8 is replaced)."""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def _version_of(raw: bytes | str | None) -> int | str | None:
    """The stored version as an int; as text (for the registry to reject) when it is not
    a decimal integer."""
    if raw is None:
        return None
    text = text_of(raw)
    return int(text) if text.isascii() and text.isdecimal() else text


def _entries(reply: Any) -> Iterator[tuple[bytes | str, dict[Any, Any]]]:
    """The ``(entry id, fields)`` pairs of a RESP2 XREAD reply: ``[[stream, entries]]``."""
    for _stream, entries in reply or ():
        for entry_id, fields in entries:
            yield entry_id, fields or {}


def _change_of(fields: dict[Any, Any]) -> Change | None:
    """The Change a stream entry announces; None for an entry this store did not write."""
    tenant_id = fields.get(b"id", fields.get("id"))
    if tenant_id is None:
        return None
    version = _version_of(fields.get(b"version", fields.get("version")))
    return Change(text_of(tenant_id), version if isinstance(version, int) else None)
