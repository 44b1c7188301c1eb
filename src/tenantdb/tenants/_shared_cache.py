"""``RedisSharedCache``: tenant records in Redis, shared by processes to warm up without the store.

Layout of ``redis://host:port/db?prefix=P`` (``P`` defaults to ``tenantdb-cache``)::

    P:records                 hash    <id> → JSON of the whole record (id and version too)
    P:complete                string  "1" once a complete snapshot was written
    P:records:building:<hex>  hash    a snapshot being written (expires if abandoned)

The cache is an optimization and may lag the store: ``put`` never replaces a cached
version with an older one, but a snapshot written by ``put_all`` replaces everything, and a
``put`` racing a ``discard`` can leave a deleted tenant cached. The registry therefore
treats the store as the truth: every change notification reloads from the store, and every
(re)start of its watch resyncs against the store's versions. An entry that does not decode
as a record of its id reads as a miss.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterable
from typing import Any

import redis

from ..config import redact_url
from ..drivers import scrub_password
from ..errors import OperationalError
from .stores import Record
from .stores._codec import is_version
from .stores.redis import new_client, split_prefix, text_of

DEFAULT_PREFIX = "tenantdb-cache"
_CHUNK = 1000
_BUILDING_TTL_S = 600  # a snapshot abandoned half-written (crash) disappears on its own

# KEYS: records hash. ARGV: id, version, JSON. Keeps the cached entry only when it is a
# record of this id (as get() judges) with the same or a newer version.
_PUT = """
local cached = redis.call('HGET', KEYS[1], ARGV[1])
if cached then
    local ok, old = pcall(cjson.decode, cached)
    if ok and type(old) == 'table' and old['id'] == ARGV[1] then
        local version = old['version']
        if type(version) == 'number' and version == math.floor(version)
                and version >= tonumber(ARGV[2]) then
            return 0
        end
    end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""


class RedisSharedCache:
    """The SharedCache of the registry (``_registry.SharedCache``) on one Redis database.

    Connects on first use; thread-safe (redis-py's pool lends each command a connection).
    Every method raises tenantdb.OperationalError (the Redis error in ``orig``) when Redis
    cannot answer; the registry logs those and carries on with the store.
    """

    def __init__(self, url: str) -> None:
        self.url = redact_url(url)
        self.prefix, self._client_url = split_prefix(url, DEFAULT_PREFIX, key="registry.cache_url")
        self._records_key = f"{self.prefix}:records"
        self._complete_key = f"{self.prefix}:complete"
        self._client = new_client(self._client_url)
        self._put = self._client.register_script(_PUT)

    def get(self, tenant_id: str) -> Record | None:
        """The cached record of ``tenant_id``, or None."""
        try:
            raw = self._client.hget(self._records_key, tenant_id)
        except redis.RedisError as exc:
            raise self._failed(exc) from exc
        return _record_of(tenant_id, raw) if raw is not None else None

    def get_all(self) -> list[Record] | None:
        """Every cached record, or None unless ``put_all`` wrote a complete snapshot."""
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.get(self._complete_key)
            pipe.hgetall(self._records_key)
            complete, raw = pipe.execute()
        except redis.RedisError as exc:
            raise self._failed(exc) from exc
        if complete != b"1":
            return None
        records = (_record_of(text_of(key), value) for key, value in raw.items())
        return [record for record in records if record is not None]

    def put(self, record: Record) -> None:
        """Cache ``record`` unless the cache holds the same or a newer version of it."""
        version = record["version"]
        if isinstance(version, bool) or not isinstance(version, int):
            raise TypeError(f"a cached record needs an integer version, got {version!r}")
        try:
            self._put(keys=[self._records_key], args=[record["id"], version, _json(record)])
        except redis.RedisError as exc:
            raise self._failed(exc) from exc

    def put_all(self, records: Iterable[Record]) -> None:
        """Replace the whole cache with ``records`` and mark it complete.

        The snapshot is written to a key of its own first, then renamed over the old one
        in one transaction, so readers see either the old snapshot or the new one.
        """
        building = f"{self._records_key}:building:{uuid.uuid4().hex}"
        try:
            written = 0
            pipe = self._client.pipeline(transaction=False)
            for record in records:
                pipe.hset(building, record["id"], _json(record))
                written += 1
                if written % _CHUNK == 0:
                    pipe.expire(building, _BUILDING_TTL_S)
                    pipe.execute()
            pipe.execute()
            swap = self._client.pipeline(transaction=True)
            if written:
                swap.rename(building, self._records_key)
                swap.persist(self._records_key)  # RENAME keeps the building key's TTL
            else:
                swap.delete(self._records_key)
            swap.set(self._complete_key, "1")
            swap.execute()
        except redis.RedisError as exc:
            with contextlib.suppress(redis.RedisError):  # the first error is the one to report
                self._client.delete(building)
            raise self._failed(exc) from exc

    def discard(self, tenant_id: str) -> None:
        """Forget ``tenant_id`` (deleted from the store)."""
        try:
            self._client.hdel(self._records_key, tenant_id)
        except redis.RedisError as exc:
            raise self._failed(exc) from exc

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"<RedisSharedCache {self.url}>"

    def _failed(self, exc: redis.RedisError) -> OperationalError:
        return OperationalError(
            f"shared tenant cache {self.url}: {scrub_password(str(exc), self._client_url)}",
            orig=exc,
        )


def _json(record: Record) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _record_of(tenant_id: str, raw: Any) -> Record | None:
    """The record cached as ``raw`` under ``tenant_id``; None when it is not one."""
    try:
        record = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(record, dict) or record.get("id") != tenant_id:
        return None
    return record if is_version(record.get("version")) else None
