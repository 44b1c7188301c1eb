"""The switch file: manual read-to-primary switches shared by ``tenantdb replicas`` and
every running process of a cluster.

The command line writes the file (atomically: a temporary file, then a rename); each
process polls it and applies what changed to its ``DegradeSwitch``. Format::

    {"cluster": "reason" | null, "datasources": {"ds0": "reason", ...}}

Switches set from code (``cluster.force_primary``) are separate: the file only releases
what the file set.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..core.replication import DegradeSwitch

log = logging.getLogger("tenantdb.replication")

_CLUSTER = ""  # key of the cluster-wide switch in the applied map


def read_switches(path: str | Path) -> dict[str, Any]:
    """The switches in ``path`` (empty when the file does not exist). Raises ValueError
    for a file that is not a switch file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"cluster": None, "datasources": {}}
    data = json.loads(text) if text.strip() else {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a tenantdb switch file (expected a JSON object)")
    cluster = data.get("cluster")
    datasources = data.get("datasources") or {}
    if (cluster is not None and not isinstance(cluster, str)) or not isinstance(datasources, dict):
        raise ValueError(f"{path} is not a tenantdb switch file")
    return {"cluster": cluster, "datasources": {str(k): str(v) for k, v in datasources.items()}}


def write_switches(path: str | Path, switches: dict[str, Any]) -> None:
    """Replace the file's content in one rename, so readers never see half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(switches, file, indent=2, sort_keys=True)
            file.write("\n")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class SwitchFileWatcher:
    """A daemon thread applying the switch file to ``switch`` every ``interval_s``."""

    def __init__(self, path: str, switch: DegradeSwitch, *, interval_s: float) -> None:
        self.path = path
        self._switch = switch
        self._interval_s = interval_s
        self._applied: dict[str, str] = {}
        self._seen: tuple[float, int] | None = None
        self._failed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tenantdb-switch-file", daemon=True)

    def start(self) -> None:
        self.check_once()
        self._thread.start()

    def check_once(self) -> None:
        """Apply the file if it changed since the last look."""
        try:
            stat = os.stat(self.path)
            seen: tuple[float, int] | None = (stat.st_mtime, stat.st_size)
        except FileNotFoundError:
            seen = None
        if seen == self._seen and self._seen is not None:
            return
        try:
            switches = read_switches(self.path)
        except (OSError, ValueError) as exc:
            if not self._failed:
                log.warning("cannot read switch file %s: %s; keeping the switches", self.path, exc)
            self._failed = True
            return
        self._failed = False
        self._seen = seen
        wanted = {_CLUSTER: switches["cluster"]} if switches["cluster"] else {}
        wanted.update(switches["datasources"])
        for key in self._applied.keys() - wanted.keys():
            self._switch.release(key or None)
        for key, reason in wanted.items():
            if self._applied.get(key) != reason:
                self._switch.force_primary(key or None, reason=reason)
        self._applied = wanted

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.check_once()
            except Exception:  # the watcher must outlive any surprise; the log says why
                log.exception("switch file %s: unexpected error", self.path)


__all__ = ["SwitchFileWatcher", "read_switches", "write_switches"]
