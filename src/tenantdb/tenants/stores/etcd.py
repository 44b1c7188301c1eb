"""``etcd://host:port/prefix`` — a key per tenant in etcd (v3), spoken over its JSON gateway.

Layout: the record of tenant ``T`` is the value of key ``/{prefix}/tenants/{T}`` (prefix
``tenantdb`` when the URL has no path; the id's UTF-8 bytes follow the prefix unchanged, so
ids may hold ``/``, quotes or any character). The value is the JSON of the whole record,
``id`` and ``version`` included. A value that is not a JSON object reads back as a record
with an ``_error`` field, which the registry rejects.

Requests go to etcd's gRPC gateway (``POST /v3/kv/range``, ``/v3/kv/txn``,
``/v3/kv/deleterange``, ``/v3/watch``; keys and values base64 in JSON) with the standard
library only: one HTTP connection per call, so a store is thread-safe without a lock.
A write is a transaction comparing the key's ``mod_revision`` (``create_revision == 0`` for
a new tenant) with what the writer read, so a concurrent change makes it fail.

``watch`` holds one streaming ``/v3/watch`` request open over a raw socket: it wakes every
``_TICK_S`` seconds to look at ``stop``, and TCP keep-alive notices a server that vanished
without closing the connection (within about ``_KEEPALIVE_IDLE_S + 3 *
_KEEPALIVE_INTERVAL_S`` seconds). The URL takes no user name or password: etcd
authentication is not supported yet.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ...config import redact_url
from ...errors import RegistryUnavailableError
from ._base import Change, Record
from ._codec import decode_record
from ._url import StoreUrl

DEFAULT_PORT = 2379
DEFAULT_PREFIX = "tenantdb"
_TICK_S = 0.25  # how often a watch looks at its stop event
_KEEPALIVE_IDLE_S = 10
_KEEPALIVE_INTERVAL_S = 5
_MAX_ERROR_BODY = 4096  # bytes of an error answer kept for the message


class EtcdStore:
    """Tenant records under one key prefix of an etcd cluster member.

    ``timeout_s`` bounds each request (connect, send, answer) and the wait for a watch to
    be created; ``page_size`` is how many keys one range request returns (``load_all``
    and ``versions`` read every page at one revision, so they see one consistent state).
    Connects to nothing until first used. Raises ConfigError (key ``registry.url``) for a
    URL it cannot use.
    """

    def __init__(self, url: str, *, timeout_s: float = 5.0, page_size: int = 1000) -> None:
        self.url = redact_url(url)
        self._host, self._port, prefix = _parse_url(url)
        self._prefix = f"/{prefix}/tenants/".encode()
        self._timeout_s = timeout_s
        self._page_size = page_size
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._streams: set[socket.socket] = set()  # open watch sockets; only under _lock

    # -- reads --------------------------------------------------------------------------

    def load(self, tenant_id: str) -> Record | None:
        kv = self._get(self._key(tenant_id))
        return self._record(kv) if kv is not None else None

    def load_all(self) -> Iterator[Record]:
        # Read every page before returning, so a failure raises here, not mid-iteration.
        return iter([self._record(kv) for kv in self._scan()])

    def versions(self) -> dict[str, int]:
        return {self._tenant_id(kv): _stored_version(_value(kv)) for kv in self._scan()}

    # -- writes -------------------------------------------------------------------------

    def write(self, record: Record, *, expected_version: int) -> bool:
        key = self._key(record["id"])
        current = self._get(key)
        stored = _stored_version(_value(current)) if current is not None else 0
        if stored != expected_version:
            return False
        # The transaction fails if the key changed (or appeared) since it was read above.
        compare = (
            {"key": _b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
            if current is None
            else {
                "key": _b64(key),
                "target": "MOD",
                "result": "EQUAL",
                "mod_revision": current.get("mod_revision", "0"),
            }
        )
        value = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        answer = self._call(
            "/v3/kv/txn",
            {
                "compare": [compare],
                "success": [{"request_put": {"key": _b64(key), "value": _b64(value.encode())}}],
            },
        )
        # The gateway leaves out fields holding their zero value: no "succeeded" is false.
        return bool(answer.get("succeeded", False))

    def remove(self, tenant_id: str) -> bool:
        answer = self._call("/v3/kv/deleterange", {"key": _b64(self._key(tenant_id))})
        return int(answer.get("deleted", 0)) > 0

    # -- changes ------------------------------------------------------------------------

    def watch(
        self,
        on_change: Callable[[Change], None],
        *,
        on_ready: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        """See TenantStore.watch. Returns when ``stop`` is set or the store is closed;
        raises RegistryUnavailableError when etcd cannot be reached, drops the stream, or
        cancels the watch."""
        self._check_open()
        request = {
            "create_request": {
                "key": _b64(self._prefix),
                "range_end": _b64(_prefix_end(self._prefix)),
            }
        }
        sock, pending = self._open_stream("/v3/watch", request)
        try:
            ready = False
            for message in self._messages(sock, pending, stop):
                if "error" in message:
                    raise self._unavailable(f"etcd ended the watch: {_error_text(message)}")
                result = message.get("result", {})
                if result.get("canceled"):
                    reason = result.get("cancel_reason") or "no reason given"
                    raise self._unavailable(f"etcd canceled the watch: {reason}")
                if not ready:
                    if not result.get("created"):
                        raise self._unavailable(f"unexpected first watch message {message!r}")
                    ready = True
                    on_ready()
                for event in result.get("events", ()):
                    kv = event.get("kv", {})
                    if event.get("type") == "DELETE":
                        on_change(Change(self._tenant_id(kv), None))
                    else:
                        on_change(Change(self._tenant_id(kv), _valid_version(_value(kv))))
        finally:
            self._drop(sock)

    def close(self) -> None:
        """Refuse further calls and make running watches return now."""
        self._closed.set()
        with self._lock:
            streams = list(self._streams)
        for sock in streams:
            # shutdown wakes a recv blocked in another thread; close alone may not.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __repr__(self) -> str:
        with self._lock:
            watches = len(self._streams)
        state = "closed" if self._closed.is_set() else f"{watches} watching"
        prefix = self._prefix.decode("utf-8", "surrogateescape")
        return f"<EtcdStore http://{_netloc(self._host, self._port)} {prefix} [{state}]>"

    # -- keys ---------------------------------------------------------------------------

    def _key(self, tenant_id: str) -> bytes:
        return self._prefix + tenant_id.encode("utf-8", "surrogateescape")

    def _tenant_id(self, kv: dict[str, Any]) -> str:
        key = base64.b64decode(kv.get("key", ""))
        return key[len(self._prefix) :].decode("utf-8", "surrogateescape")

    def _record(self, kv: dict[str, Any]) -> Record:
        tenant_id, text = self._tenant_id(kv), _value(kv)
        return decode_record(tenant_id, _version_in(text), text)

    # -- requests -----------------------------------------------------------------------

    def _get(self, key: bytes) -> dict[str, Any] | None:
        kvs = self._call("/v3/kv/range", {"key": _b64(key)}).get("kvs", [])
        return kvs[0] if kvs else None

    def _scan(self) -> list[dict[str, Any]]:
        """Every key-value under the prefix, read page by page at the first page's revision."""
        end = _b64(_prefix_end(self._prefix))
        request: dict[str, Any] = {"key": _b64(self._prefix), "range_end": end}
        request["limit"] = str(self._page_size)
        kvs: list[dict[str, Any]] = []
        while True:
            answer = self._call("/v3/kv/range", request)
            page = answer.get("kvs", [])
            kvs.extend(page)
            if not answer.get("more") or not page:
                return kvs
            request["revision"] = answer.get("header", {}).get("revision", "0")
            request["key"] = _b64(base64.b64decode(page[-1]["key"]) + b"\0")

    def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``path``; the JSON answer. RegistryUnavailableError for any
        failure: no connection, a timeout, or an error answer."""
        self._check_open()
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)
        try:
            conn.request(
                "POST", path, json.dumps(body), headers={"Content-Type": "application/json"}
            )
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self._unavailable(f"{path}: {exc or type(exc).__name__}", exc) from exc
        finally:
            conn.close()
        try:
            answer = json.loads(payload)
        except ValueError as exc:
            raise self._unavailable(
                f"{path}: the answer (HTTP {response.status}) is not JSON; is this etcd?", exc
            ) from exc
        if response.status != 200 or not isinstance(answer, dict) or "error" in answer:
            raise self._unavailable(f"{path}: HTTP {response.status}: {_error_text(answer)}")
        return answer

    def _open_stream(self, path: str, body: dict[str, Any]) -> tuple[socket.socket, bytes]:
        """A socket on which a streaming request was sent and answered with 200 OK, and the
        body bytes already read from it."""
        # HTTP/1.0, so the answer streams without chunked encoding until either side closes.
        data = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.0\r\nHost: {_netloc(self._host, self._port)}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        try:
            sock = socket.create_connection((self._host, self._port), timeout=self._timeout_s)
        except OSError as exc:
            raise self._unavailable(f"{path}: {exc}", exc) from exc
        with self._lock:
            self._streams.add(sock)
        try:
            _keep_alive(sock)
            sock.sendall(head + data)
            status, rest = self._read_head(sock, path)
            if status != 200:
                body_text = rest + _read_some(sock, _MAX_ERROR_BODY)
                raise self._unavailable(
                    f"{path}: HTTP {status}: {body_text.decode('utf-8', 'replace').strip()}"
                )
        except OSError as exc:
            self._drop(sock)
            raise self._unavailable(f"{path}: {exc or type(exc).__name__}", exc) from exc
        except BaseException:
            self._drop(sock)
            raise
        return sock, rest

    def _read_head(self, sock: socket.socket, path: str) -> tuple[int, bytes]:
        """The status of the answer on ``sock``, and the body bytes read past its head."""
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(4096)
            if not chunk:
                raise self._unavailable(f"{path}: etcd closed the connection before answering")
            buffer += chunk
            if len(buffer) > 65536:
                raise self._unavailable(f"{path}: the answer's head is too long; is this etcd?")
        head, _, rest = buffer.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split()
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise self._unavailable(f"{path}: not an HTTP answer ({status_line!r})")
        return int(parts[1]), rest

    def _messages(
        self, sock: socket.socket, buffer: bytes, stop: threading.Event
    ) -> Iterator[dict[str, Any]]:
        """The JSON messages (one per line) streamed on ``sock`` after ``buffer``, until
        ``stop`` is set or the store is closed; the first must come within ``timeout_s``."""
        deadline = time.monotonic() + self._timeout_s
        sock.settimeout(_TICK_S)
        while True:
            while b"\n" in buffer:
                line, _, buffer = buffer.partition(b"\n")
                if line.strip():
                    try:
                        message = json.loads(line)
                    except ValueError as exc:
                        raise self._unavailable(f"watch: a message is not JSON: {exc}") from exc
                    if not isinstance(message, dict):
                        raise self._unavailable(f"watch: unexpected message {message!r}")
                    yield message
                    deadline = float("inf")
            if stop.is_set() or self._closed.is_set():
                return
            if time.monotonic() > deadline:
                raise self._unavailable(f"watch: not created within {self._timeout_s}s")
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                if stop.is_set() or self._closed.is_set():
                    return
                raise self._unavailable(f"watch: {exc or type(exc).__name__}", exc) from exc
            if not chunk:
                if stop.is_set() or self._closed.is_set():
                    return  # close() shut the socket down
                raise self._unavailable("watch: etcd closed the stream")
            buffer += chunk

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._streams.discard(sock)
        sock.close()

    def _check_open(self) -> None:
        if self._closed.is_set():
            raise RegistryUnavailableError(f"tenant store {self.url} is closed")

    def _unavailable(self, what: str, exc: BaseException | None = None) -> RegistryUnavailableError:
        return RegistryUnavailableError(f"tenant store {self.url}: {what}", orig=exc)


# -- helpers --------------------------------------------------------------------------------


def _parse_url(url: str) -> tuple[str, int, str]:
    """``(host, port, prefix)`` of an ``etcd://host:port/prefix`` URL."""
    parsed = StoreUrl.parse(url)
    parts = parsed.parts
    if parsed.scheme != "etcd":
        raise parsed.problem(
            f"an etcd store URL starts with 'etcd://', not {parts.scheme + '://'!r}"
        )
    if not parts.hostname:
        raise parsed.problem("an etcd store URL names a host: etcd://host:2379/prefix")
    if parts.username is not None or parts.password is not None:
        raise parsed.problem(
            "etcd authentication is not supported; remove the user name and password"
        )
    if parts.query or parts.fragment:
        raise parsed.problem(
            "an etcd store URL takes no query or fragment: etcd://host:2379/prefix"
        )
    port = parsed.port(DEFAULT_PORT)
    return parts.hostname, port, parsed.path.strip("/") or DEFAULT_PREFIX


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _prefix_end(prefix: bytes) -> bytes:
    """The smallest key above every key starting with ``prefix`` (etcd's ``range_end``)."""
    for index in range(len(prefix) - 1, -1, -1):
        if prefix[index] < 0xFF:
            return prefix[:index] + bytes([prefix[index] + 1])
    return b"\0"  # etcd reads a range_end of "\0" as "every key from key on"


def _value(kv: dict[str, Any]) -> bytes:
    return base64.b64decode(kv.get("value", ""))


def _version_in(text: bytes) -> Any:
    """The ``version`` a stored value claims (anything, or None when it has none)."""
    try:
        fields = json.loads(text)
    except ValueError:
        return None
    return fields.get("version") if isinstance(fields, dict) else None


def _stored_version(text: bytes) -> int:
    """The version a CAS compares: 0 when the value has no integer one, so a malformed
    record can be overwritten by a correct one."""
    version = _version_in(text)
    return version if isinstance(version, int) and not isinstance(version, bool) else 0


def _valid_version(text: bytes) -> int | None:
    """The version to announce in a Change: None when the value has no usable one."""
    version = _stored_version(text)
    return version if version > 0 else None


def _error_text(answer: object) -> str:
    """The message of an error answer (unary: ``{"error", "message", "code"}``; streamed:
    ``{"error": {"message", ...}}``)."""
    if isinstance(answer, dict):
        error = answer.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error)
        return str(answer.get("message") or error or answer)
    return repr(answer)


def _keep_alive(sock: socket.socket) -> None:
    """Probe an idle connection, so a watch notices a server that vanished silently."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    options = (
        ("TCP_KEEPIDLE", _KEEPALIVE_IDLE_S),
        ("TCP_KEEPINTVL", _KEEPALIVE_INTERVAL_S),
        ("TCP_KEEPCNT", 3),
    )
    for name, value in options:
        if hasattr(socket, name):  # Linux names; other systems keep their defaults
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


def _read_some(sock: socket.socket, limit: int) -> bytes:
    """Up to ``limit`` more bytes of an answer whose end is the connection's end."""
    data = b""
    try:
        while len(data) < limit:
            chunk = sock.recv(limit - len(data))
            if not chunk:
                break
            data += chunk
    except OSError:
        pass  # what was read is enough for an error message
    return data
