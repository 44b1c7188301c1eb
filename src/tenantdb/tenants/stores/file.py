"""``file:///path/tenants.toml`` (or ``.yaml``, ``.yml``, ``.json``) — tenants in one document.

Layout: a top-level mapping of tenant id to its fields, the shape of the configuration's
``[tenants.*]`` tables (the format follows the file's extension)::

    ["acme"]
    datasource = "ds1"
    isolation = "schema"
    status = "active"
    limits = { requests_per_second = 50.0, burst = 100 }
    features = { stage = "beta" }
    version = 3

A field left out reads back as its default (that of a static tenant: ``TenantConfig``),
in every format, so records always have every field. TOML has no null: writing TOML leaves
None values out, and they read back as the default None.

Versions: each tenant's ``version`` field; a tenant written by hand without one is at
version 1. People edit this file by hand and forget to raise ``version``, so the store
keeps a fingerprint of each tenant's other fields: when they change while ``version`` does
not rise, the store reports the tenant at the version it last reported plus one, and a
later write continues from there. That bump exists in this process only: two processes
that saw different histories of the file may report different versions for such a tenant
(each consistent with itself, so compare-and-set still holds) until a write through a
store sets one.

Writing (``write``, ``remove``) takes an exclusive ``flock`` on ``<path>.lock`` (created
once, never removed), re-reads the document, compares versions, writes a temporary file in
the same directory and renames it over the document: processes never see half a
document. The whole document is written again, so comments and layout of a hand-edited
TOML or YAML file are lost; other tenants' entries are kept as they were.

Reading: a missing file holds no tenants. A document that does not parse (a syntax error
mid-edit, or zero bytes, which is what a writer that truncates before writing leaves for a
moment) is never taken as "no tenants": reads and writes raise RegistryUnavailableError,
so the registry keeps what it has, and a running watch logs a warning and keeps its
tenants until the next version of the file. An entry that is not a table of fields reads
back as a record the registry rejects. Edit the file with a tool that replaces it (as
editors do); a writer that rewrites it in place can be seen half-way.

Change times: this store keeps no ``updated_at`` stamp (a hand edit would leave a
stale one behind, and people raise ``version`` by hand but would not touch a timestamp),
so the registry's change-propagation delay is not measured for its tenants.

Watching: watchfiles (extra ``watch``) on the file's directory, since editors replace the
file, filtered to the file; without watchfiles, with ``poll_interval`` in the URL
(seconds), or while the directory does not exist, the file's bytes are compared every
interval (default 0.2 s). Each change of
the file is diffed against the tenants seen before it, so changes landing in quick
succession can arrive as one: the latest version of each tenant.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import fcntl
import functools
import hashlib
import json
import logging
import math
import os
import re
import tempfile
import threading
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import TenantConfig, redact_url
from ...errors import InvalidTenantError, RegistryUnavailableError
from ._base import Change, Record
from ._codec import ERROR_FIELD, UPDATED_AT, is_version
from ._url import StoreUrl

log = logging.getLogger("tenantdb.tenants")

DEFAULT_POLL_INTERVAL_S = 0.2
_TICK_S = 0.25  # how often a waiting watch looks at its stop event
_WATCH_STEP_MS = 50  # watchfiles: quiet time that ends a batch of file events
_WATCH_TIMEOUT_MS = 250  # watchfiles: longest wait inside Rust before stop is looked at
# Every field of a record but id and version, at its default: what an entry leaves out.
_DEFAULTS: dict[str, Any] = TenantConfig().model_dump(by_alias=True, mode="json")
_HEADER = (
    "# tenantdb tenants: one entry per tenant id. Raise 'version' when you edit a tenant\n"
    "# (tenantdb notices if you forget). Written by tenantdb, which keeps no comments.\n"
)


class FileStore:
    """Tenant records in one TOML, YAML or JSON document, shared by processes.

    Builds nothing until first used. Raises ConfigError (key ``registry.url``) for a URL
    it cannot use, ImportError naming the extra to install for YAML without PyYAML.
    """

    def __init__(self, url: str) -> None:
        self.url = redact_url(url)
        self._path, self._poll_interval_s = _parse_url(url)
        self._format = _format_of(self._path)
        self._lock_path = self._path.with_name(self._path.name + ".lock")
        self._closed = threading.Event()
        # Only under _lock: reading, parsing and numbering the document happen in one
        # order per process, so the version book sees the file's versions in order.
        self._lock = threading.Lock()
        self._book = _VersionBook()
        self._cache: _Document | None = None
        self._texts: dict[str, tuple[Any, str]] = {}  # tenant id → (entry, its text)

    # -- reads --------------------------------------------------------------------------

    def load(self, tenant_id: str) -> Record | None:
        record = self._read().records.get(tenant_id)
        return copy.deepcopy(record) if record is not None else None

    def load_all(self) -> Iterator[Record]:
        return iter(copy.deepcopy(list(self._read().records.values())))

    def versions(self) -> dict[str, int]:
        return {i: _stored_version(r) for i, r in self._read().records.items()}

    # -- writes -------------------------------------------------------------------------

    def write(self, record: Record, *, expected_version: int) -> bool:
        tenant_id = record["id"]
        with self._exclusive(), self._lock:
            document = self._current()
            current = document.records.get(tenant_id)
            if (_stored_version(current) if current is not None else 0) != expected_version:
                return False
            entries = dict(document.entries)
            entries[tenant_id] = {
                k: copy.deepcopy(v)
                for k, v in record.items()
                if k not in ("id", ERROR_FIELD, UPDATED_AT)
            }
            self._save(entries, tenant_id)
            return True

    def remove(self, tenant_id: str) -> bool:
        with self._exclusive(), self._lock:
            document = self._current()
            if tenant_id not in document.records:
                return False
            entries = {k: v for k, v in document.entries.items() if _tenant_id(k) != tenant_id}
            self._save(entries, tenant_id)
            return True

    # -- changes ------------------------------------------------------------------------

    def watch(
        self,
        on_change: Callable[[Change], None],
        *,
        on_ready: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        """See TenantStore.watch. Raises RegistryUnavailableError when the document does
        not parse as the watch starts, or its directory cannot be read, is removed or
        replaced (the next watch follows the new one, or polls until there is one)."""
        self._check_open()
        halt = _Halt(stop, self._closed)
        if self._poll_interval_s is not None:
            self._poll(on_change, on_ready, halt, self._poll_interval_s)
            return
        try:
            import watchfiles
        except ImportError:
            self._poll(on_change, on_ready, halt, DEFAULT_POLL_INTERVAL_S)
            return
        directory, name = self._path.parent, self._path.name
        if not directory.is_dir():
            # Nothing to watch yet (the first write creates the directory): poll.
            self._poll(on_change, on_ready, halt, DEFAULT_POLL_INTERVAL_S)
            return
        batches = watchfiles.watch(
            directory,
            # Only this directory is watched (not recursive), so the name identifies the file.
            watch_filter=lambda _change, path: os.path.basename(path) == name,
            step=_WATCH_STEP_MS,
            rust_timeout=_WATCH_TIMEOUT_MS,
            yield_on_timeout=True,
            stop_event=halt,
            recursive=False,
        )
        identity = _identity(directory)
        with contextlib.closing(batches):
            # The first batch (or timeout) comes once the watcher is set up, so the
            # baseline read after it misses no change.
            if self._next_batch(batches) is None:
                return
            seen = self._baseline()
            on_ready()
            while (batch := self._next_batch(batches)) is not None:
                if batch:
                    seen = self._deliver(seen, on_change)
                if _identity(directory) != identity:
                    # A watch on a removed (or replaced) directory sees nothing more.
                    raise self._unavailable(f"{directory} was removed or replaced")

    def close(self) -> None:
        """Refuse further calls; a running watch returns within about ``_TICK_S``."""
        self._closed.set()

    def __repr__(self) -> str:
        with self._lock:
            known = len(self._cache.records) if self._cache is not None else None
        if self._closed.is_set():
            state = "closed"
        else:
            state = "not read yet" if known is None else f"{known} tenants"
        how = "watchfiles" if self._poll_interval_s is None else f"poll {self._poll_interval_s}s"
        return f"<FileStore {self._path} {self._format.name} [{state}, {how}]>"

    # -- the document -------------------------------------------------------------------

    def _read(self) -> _Document:
        self._check_open()
        with self._lock:
            return self._current()

    def _current(self) -> _Document:
        """Under _lock: the document as it is now; RegistryUnavailableError when it
        cannot be read or does not parse."""
        try:
            return self._document()
        except _Unparsable as exc:
            raise self._unavailable(
                f"{self._path} {exc}; the tenants stay as they were until it is fixed"
            ) from exc

    def _document(self) -> _Document:
        """Under _lock: the document as it is now (parsed again only when its bytes
        changed). _Unparsable when it does not parse, RegistryUnavailableError when it
        cannot be read."""
        try:
            data = self._path.read_bytes()
        except FileNotFoundError:
            data = None
        except OSError as exc:
            raise self._unavailable(f"cannot read {self._path}: {exc}", exc) from exc
        if self._cache is not None and self._cache.data == data:
            return self._cache
        entries = self._parse(data)
        self._cache = _Document(data, entries, self._book.observe(entries))
        return self._cache

    def _parse(self, data: bytes | None) -> dict[Any, Any]:
        if data is None:
            return {}
        if not data.strip():
            raise _Unparsable(
                "is empty (a writer may be between truncating and writing it); write"
                f" {self._format.empty!r} to mean no tenants"
            )
        try:
            parsed = self._format.parse(data.decode("utf-8"))
        except ValueError as exc:  # includes UnicodeDecodeError, TOML and JSON errors
            raise _Unparsable(f"is not valid {self._format.name}: {exc}") from exc
        if parsed is None:  # a YAML document holding only comments
            return {}
        if not isinstance(parsed, dict):
            raise _Unparsable(
                f"holds a {type(parsed).__name__}, not a mapping of tenant id to fields"
            )
        return parsed

    def _save(self, entries: dict[Any, Any], tenant_id: str) -> None:
        """Under the file lock and _lock: replace the document with ``entries``."""
        try:
            text = self._render(entries)
        except (TypeError, ValueError) as exc:
            raise InvalidTenantError(
                f"tenant {tenant_id!r} cannot be written to {self._format.name}: {exc}",
                tenant_id=tenant_id,
            ) from exc
        data = text.encode("utf-8")
        try:
            try:
                mode = self._path.stat().st_mode & 0o7777
            except FileNotFoundError:
                mode = 0o644
            descriptor, temporary = tempfile.mkstemp(
                dir=self._path.parent, prefix=f".{self._path.name}.", suffix=".tmp"
            )
            try:
                with os.fdopen(descriptor, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                os.chmod(temporary, mode)
                os.replace(temporary, self._path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as exc:
            raise self._unavailable(f"cannot write {self._path}: {exc}", exc) from exc
        self._cache = _Document(data, entries, self._book.observe(entries))

    def _render(self, entries: Mapping[Any, Any]) -> str:
        """Under _lock: the text of a document holding ``entries``."""
        texts: dict[str, tuple[Any, str]] = {}
        for key, entry in entries.items():
            tenant_id = _tenant_id(key)
            known = self._texts.get(tenant_id)
            # Entries are never changed in place: the same object has the same text.
            if known is None or known[0] is not entry:
                known = (entry, self._format.entry(key, entry))
            texts[tenant_id] = known
        self._texts = texts
        return self._format.join(list(texts.values()))

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the document's lock file exclusively (blocks while another writer,
        in this process or another, holds it)."""
        self._check_open()
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            lock_file = open(self._lock_path, "a")  # noqa: SIM115 (held across the yield)
        except OSError as exc:
            raise self._unavailable(f"cannot open {self._lock_path}: {exc}", exc) from exc
        with lock_file:
            try:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            except OSError as exc:
                raise self._unavailable(f"cannot lock {self._lock_path}: {exc}", exc) from exc
            try:
                yield
            finally:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    # -- watching -----------------------------------------------------------------------

    def _baseline(self) -> dict[str, str]:
        """The marks of the tenants as the watch starts (see _deliver)."""
        return _marks(self._read().records)

    def _deliver(self, seen: dict[str, str], on_change: Callable[[Change], None]) -> dict[str, str]:
        """Announce every tenant that differs from ``seen``; the marks to compare next."""
        try:
            with self._lock:
                records = self._document().records
        except _Unparsable as exc:
            log.warning(
                "tenant store %s: %s %s; keeping the tenants it held until it is fixed",
                self.url,
                self._path,
                exc,
            )
            return seen
        now = _marks(records)
        for tenant_id, mark in now.items():
            if seen.get(tenant_id) != mark:
                version = _stored_version(records[tenant_id])
                on_change(Change(tenant_id, version if version > 0 else None))
        for tenant_id in seen.keys() - now.keys():
            on_change(Change(tenant_id, None))
        return now

    def _poll(
        self,
        on_change: Callable[[Change], None],
        on_ready: Callable[[], None],
        halt: _Halt,
        interval_s: float,
    ) -> None:
        last = self._peek()
        seen = self._baseline()
        on_ready()
        while not halt.wait(interval_s):
            data = self._peek()
            if data != last:
                last = data
                seen = self._deliver(seen, on_change)

    def _peek(self) -> bytes | None:
        try:
            return self._path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._unavailable(f"cannot read {self._path}: {exc}", exc) from exc

    def _next_batch(self, batches: Iterator[set[Any]]) -> set[Any] | None:
        """The next batch of file events (empty after a timeout); None once stopped."""
        try:
            return next(batches)
        except StopIteration:
            return None
        except (OSError, RuntimeError) as exc:  # watchfiles reports I/O failures as either
            raise self._unavailable(f"cannot watch {self._path.parent}: {exc}", exc) from exc

    # -- helpers ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed.is_set():
            raise RegistryUnavailableError(f"tenant store {self.url} is closed")

    def _unavailable(self, what: str, exc: BaseException | None = None) -> RegistryUnavailableError:
        return RegistryUnavailableError(f"tenant store {self.url}: {what}", orig=exc)


class _Unparsable(Exception):
    """The document's text does not parse (message: what is wrong with it)."""


@dataclass(frozen=True, slots=True)
class _Document:
    """One version of the file: its bytes (None: no file), the entries parsed from them,
    and the records the store serves for them (versions numbered by the book)."""

    data: bytes | None
    entries: dict[Any, Any]
    records: dict[str, Record]


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the book last saw of a tenant: the version it reported, the version the
    document declared, and the fingerprint of the other fields."""

    version: int
    declared: int
    fingerprint: str


class _VersionBook:
    """Numbers the tenants of each version of the document (see the module docstring).

    Not thread-safe: FileStore uses it under its lock, in the order it read the file.
    """

    def __init__(self) -> None:
        self._seen: dict[str, _Seen] = {}
        # The record made from each entry object. Entries are never changed in place (a
        # write copies the mapping and puts a new entry in), so an entry that is the very
        # same object as last time gives the same record: a write does not redo the others.
        self._made: dict[str, tuple[Any, Record]] = {}

    def observe(self, entries: Mapping[Any, Any]) -> dict[str, Record]:
        """The records of ``entries``, each at the version this process reports for it.
        The records are shared with later calls: callers copy them before handing out."""
        records: dict[str, Record] = {}
        seen: dict[str, _Seen] = {}
        made: dict[str, tuple[Any, Record]] = {}
        for key, entry in entries.items():
            tenant_id = _tenant_id(key)
            before_made = self._made.get(tenant_id)
            if before_made is not None and before_made[0] is entry:
                made[tenant_id] = before_made
                records[tenant_id] = before_made[1]
                if tenant_id in self._seen:
                    seen[tenant_id] = self._seen[tenant_id]
                continue
            record = _record_of(key, entry)
            made[tenant_id] = (entry, record)
            declared = record["version"]
            before = self._seen.get(tenant_id)
            if ERROR_FIELD in record or not is_version(declared):
                if before is not None:  # keep counting from there once it is fixed
                    seen[tenant_id] = before
            else:
                fingerprint = _fingerprint({k: v for k, v in record.items() if k != "version"})
                version = _next_version(before, declared, fingerprint)
                seen[tenant_id] = _Seen(version, declared, fingerprint)
                record["version"] = version
            records[tenant_id] = record
        self._seen, self._made = seen, made
        return records

    def __repr__(self) -> str:
        return f"<_VersionBook [{len(self._seen)} tenants]>"


def _next_version(before: _Seen | None, declared: int, fingerprint: str) -> int:
    """The version to report for a tenant the document declares at ``declared`` with
    fields ``fingerprint``, given what was seen of it ``before``.

    A version the document raised (or lowered) is a change: it is reported as declared,
    but never below what was reported before. Fields changed under the same declared
    version are a change too: one above what was reported before.
    """
    if before is None:
        return declared
    if declared != before.declared:
        return declared if declared > before.version else before.version + 1
    if fingerprint != before.fingerprint:
        return before.version + 1
    return before.version


class _Halt:
    """Set once the caller's stop event or the store's closed event is (watchfiles polls
    ``is_set``; the polling watch waits on it)."""

    __slots__ = ("_closed", "_stop")

    def __init__(self, stop: threading.Event, closed: threading.Event) -> None:
        self._stop, self._closed = stop, closed

    def is_set(self) -> bool:
        return self._stop.is_set() or self._closed.is_set()

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` seconds for either event; whether one is set."""
        remaining = timeout_s
        while remaining > 0 and not self.is_set():
            step = min(remaining, _TICK_S)
            self._stop.wait(step)
            remaining -= step
        return self.is_set()


# -- records ---------------------------------------------------------------------------------


def _identity(directory: Path) -> tuple[int, int] | None:
    """Which directory ``directory`` is now (None: none)."""
    try:
        stat = directory.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _tenant_id(key: Any) -> str:
    return key if isinstance(key, str) else str(key)


def _record_of(key: Any, entry: Any) -> Record:
    """The record an entry of the document describes, at the version it declares."""
    tenant_id = _tenant_id(key)
    if not isinstance(key, str):
        return _broken(tenant_id, f"the id is a {type(key).__name__}; write it as a string")
    if not isinstance(entry, Mapping):
        return _broken(tenant_id, f"the entry is a {type(entry).__name__}, not a table of fields")
    fields = copy.deepcopy(dict(entry))
    fields.pop(UPDATED_AT, None)  # see the module docstring: this store keeps no stamp
    declared = fields.pop("version", 1)
    claimed = fields.pop("id", tenant_id)
    if claimed != tenant_id:
        return _broken(tenant_id, f"the entry's 'id' {claimed!r} differs from its key; remove it")
    record: Record = {"id": tenant_id, **copy.deepcopy(_DEFAULTS), **fields}
    limits = fields.get("limits")
    if isinstance(limits, Mapping):
        record["limits"] = {**_DEFAULTS["limits"], **limits}
    record["version"] = declared
    return record


def _broken(tenant_id: str, error: str) -> Record:
    return {"id": tenant_id, "version": None, ERROR_FIELD: error}


def _stored_version(record: Record) -> int:
    """The version a CAS compares (0 when the record has no valid one, so a correct
    record can replace a malformed one)."""
    version = record.get("version")
    return version if is_version(version) and ERROR_FIELD not in record else 0


def _fingerprint(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=repr, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _marks(records: Mapping[str, Record]) -> dict[str, str]:
    """A mark per tenant that changes whenever its record does (version included)."""
    return {tenant_id: _fingerprint(record) for tenant_id, record in records.items()}


# -- formats ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Format:
    """How one kind of document is read and written.

    A document is written entry by entry and the texts joined, so that a write renders
    again only the entries that changed (FileStore keeps the others' text).
    """

    name: str
    parse: Callable[[str], Any]
    """The document of a text; ValueError when it does not parse."""
    entry: Callable[[Any, Any], str]
    """The text of one ``(key, entry)``; TypeError or ValueError when the format cannot
    hold it."""
    join: Callable[[list[tuple[Any, str]]], str]
    """The document of ``(entry, text)`` pairs, in order."""
    empty: str
    """The text of a document with no tenants."""


def _format_of(path: Path) -> _Format:
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return _Format("TOML", tomllib.loads, _toml_entry, _toml_join, _HEADER)
    if suffix == ".json":
        return _Format("JSON", json.loads, _json_entry, _json_join, "{}\n")
    try:
        import yaml  # noqa: F401 (checked here, used by the _yaml functions)
    except ImportError as exc:
        raise ImportError(
            f"the file tenant store reads {path.name} with PyYAML, which is not installed:"
            " pip install 'tenantdb[yaml]'"
        ) from exc
    return _Format("YAML", _yaml_parse, _yaml_entry, _yaml_join, "{}\n")


def _json_entry(key: Any, entry: Any) -> str:
    text = json.dumps({key: entry}, indent=2, ensure_ascii=False, allow_nan=False)
    return text[2:-2]  # '  "key": ...' without the braces of the one-entry object


def _json_join(parts: list[tuple[Any, str]]) -> str:
    return "{\n" + ",\n".join(text for _, text in parts) + "\n}\n" if parts else "{}\n"


def _yaml_parse(text: str) -> Any:
    import yaml

    # libyaml's loader when PyYAML was built with it: the same documents, much faster.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # a safe loader: plain data only
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from exc


def _yaml_entry(key: Any, entry: Any) -> str:
    import yaml

    return str(
        yaml.dump(
            {key: entry},
            Dumper=_yaml_dumper(),
            allow_unicode=True,
            sort_keys=False,
            default_flow_style=False,
        )
    )


def _yaml_join(parts: list[tuple[Any, str]]) -> str:
    return _HEADER + ("".join(text for _, text in parts) if parts else "{}\n")


@functools.cache
def _yaml_dumper() -> type:
    """PyYAML's safe dumper (libyaml's when built with it) without anchors and aliases:
    entries are written one by one, and an anchor name repeated in two of them would make
    the document invalid (an entry parsed from a hand-written alias shares objects)."""
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return type("_TenantDumper", (base,), {"ignore_aliases": lambda self, data: True})


# TOML (https://toml.io/en/v1.0.0): a table per tenant; values that are tables themselves
# (limits, features) are written inline, on one line each.

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
_TOML_MUST_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')  # quote, backslash, control characters


def _toml_entry(key: Any, entry: Any) -> str:
    if isinstance(entry, Mapping):
        lines = [f"[{_toml_key(key)}]"]
        lines.extend(
            f"{_toml_key(k)} = {_toml_value(v)}" for k, v in entry.items() if v is not None
        )
        return "\n".join(lines) + "\n"
    if entry is None:
        return ""  # TOML has no null
    return f"{_toml_key(key)} = {_toml_value(entry)}\n"  # a malformed entry, kept


def _toml_join(parts: list[tuple[Any, str]]) -> str:
    # Keys outside any table must come before the first table header.
    loose = [text for entry, text in parts if not isinstance(entry, Mapping)]
    tables = [text for entry, text in parts if isinstance(entry, Mapping)]
    return "".join([_HEADER, *loose, *("\n" + text for text in tables)])


def _toml_key(key: Any) -> str:
    text = _tenant_id(key)
    return text if _BARE_KEY.fullmatch(text) else _toml_string(text)


def _toml_string(text: str) -> str:
    """A basic string: quotes, backslashes and control characters escaped."""
    return '"' + _TOML_MUST_ESCAPE.sub(_toml_escape, text) + '"'


def _toml_escape(match: re.Match[str]) -> str:
    char = match.group()
    return _TOML_ESCAPES.get(char) or f"\\u{ord(char):04X}"


def _toml_value(value: Any) -> str:
    """The TOML text of one value; TypeError or ValueError when TOML cannot hold it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # Python's shortest round-trip form is valid TOML
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, datetime.date | datetime.time):
        if isinstance(value, datetime.time) and value.tzinfo is not None:
            raise ValueError(f"TOML has no time of day with a UTC offset ({value})")
        return value.isoformat()
    if isinstance(value, Mapping):
        items = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, list | tuple):
        if any(item is None for item in value):
            raise ValueError("TOML has no null, so a list cannot hold None")
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"TOML cannot hold a {type(value).__name__}")


# -- the URL ---------------------------------------------------------------------------------


def _parse_url(url: str) -> tuple[Path, float | None]:
    """``(path, poll interval in seconds or None)`` of a ``file:///path?poll_interval=s``."""
    parsed = StoreUrl.parse(url)
    path = parsed.path
    if parsed.parts.netloc not in ("", "localhost") or not os.path.isabs(path):
        raise parsed.problem("a file store URL names an absolute path: file:///path/tenants.toml")
    if Path(path).suffix.lower() not in (".toml", ".yaml", ".yml", ".json"):
        raise parsed.problem("a file store's document ends in .toml, .yaml, .yml or .json")
    parsed.refuse_options(["poll_interval"], store="a file store URL")
    return Path(os.path.normpath(path)), parsed.seconds("poll_interval", None)
