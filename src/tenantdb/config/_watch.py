"""``ConfigWatcher``: calls back when a configuration document's content changes.

For a file, watchfiles (extra ``watch``) watches the file's directory, since editors and
deployment tools replace a file rather than write it in place, and wakes the watcher as
soon as the file changes; without watchfiles (or with ``poll_interval_s``) the file is read
every ``poll_interval_s``. An ``etcd://`` document is read every ``poll_interval_s``. Either
way a change is the content differing from the last read, so a touch without an edit, or
several events for one write, call back at most once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError
from ._etcd import is_etcd_url, read_etcd_text

log = logging.getLogger("tenantdb.config")

DEFAULT_POLL_INTERVAL_S = 1.0
_WATCH_STEP_MS = 50  # watchfiles: quiet time that ends a batch of events (a write's burst)
_WATCH_TIMEOUT_MS = 500  # watchfiles: longest wait before the file is read anyway


class ConfigWatcher:
    """Runs ``on_change()`` on a daemon thread each time the content of ``source`` (a file
    path, or ``etcd://host:port/key``) changes.

    ``on_change`` must not raise (what it raises is logged, and watching goes on). A
    missing or unreadable document is not a change: the watcher waits for it to come
    back (an unreachable etcd is logged once until it answers again). ``close()`` stops
    the thread (within about half a second, or one poll interval) and waits for it.
    """

    def __init__(
        self,
        source: str | os.PathLike[str],
        on_change: Callable[[], None],
        *,
        poll_interval_s: float | None = None,
    ) -> None:
        if poll_interval_s is not None and poll_interval_s <= 0:
            raise ValueError(f"poll_interval_s must be positive, got {poll_interval_s}")
        self._etcd = str(source) if is_etcd_url(source) else None
        self._etcd_down = False
        self.path = Path(source).resolve() if self._etcd is None else Path()
        self._on_change = on_change
        self._poll_interval_s = poll_interval_s
        self._stop = threading.Event()
        self._last = self._read()
        self._thread = threading.Thread(target=self._run, name="tenantdb-config-watch", daemon=True)

    @property
    def how(self) -> str:
        """``"watchfiles"`` or ``"poll <seconds>s"``."""
        if self._etcd is None and self._poll_interval_s is None and _watchfiles_installed():
            return "watchfiles"
        return f"poll {self._poll_interval_s or DEFAULT_POLL_INTERVAL_S}s"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _read(self) -> bytes | None:
        if self._etcd is not None:
            return self._read_etcd(self._etcd)
        try:
            return self.path.read_bytes()
        except OSError:
            return None

    def _read_etcd(self, url: str) -> bytes | None:
        try:
            text = read_etcd_text(url)
        except ConfigError as exc:
            if not self._etcd_down:
                self._etcd_down = True
                log.warning("%s; the running configuration keeps serving", exc)
            return None
        if self._etcd_down:
            self._etcd_down = False
            log.warning("%s answers again", url)
        return text.encode() if text is not None else None

    def _check(self) -> None:
        data = self._read()
        if data is None or data == self._last:
            return
        self._last = data
        try:
            self._on_change()
        except Exception:
            log.exception("reloading %s failed", self.path)

    def _run(self) -> None:
        if self.how == "watchfiles":
            self._watch()
        else:
            interval = self._poll_interval_s or DEFAULT_POLL_INTERVAL_S
            while not self._stop.wait(interval):
                self._check()

    def _watch(self) -> None:
        import watchfiles

        name = self.path.name
        while not self._stop.is_set():
            directory = self.path.parent
            if not directory.is_dir():
                self._stop.wait(DEFAULT_POLL_INTERVAL_S)
                continue
            batches = watchfiles.watch(
                directory,
                watch_filter=lambda _change, path: os.path.basename(path) == name,
                step=_WATCH_STEP_MS,
                rust_timeout=_WATCH_TIMEOUT_MS,
                yield_on_timeout=True,
                stop_event=self._stop,
                recursive=False,
            )
            try:
                with contextlib.closing(batches):
                    # Every batch, and every timeout too: a directory replaced under the
                    # watch sends no more events, and reading the file is cheap.
                    for _batch in batches:
                        self._check()
            except (OSError, RuntimeError) as exc:  # watchfiles reports I/O failures as either
                log.warning("cannot watch %s (%s); trying again", directory, exc)
                self._stop.wait(DEFAULT_POLL_INTERVAL_S)

    def __repr__(self) -> str:
        state = "stopped" if self._stop.is_set() else self.how
        return f"<{type(self).__name__} {self._etcd or self.path} [{state}]>"


def _watchfiles_installed() -> bool:
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        return False
    return True


__all__ = ["ConfigWatcher"]
