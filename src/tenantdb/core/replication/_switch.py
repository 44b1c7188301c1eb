"""The switch that sends reads to primaries: by hand (cluster-wide or per datasource) and
automatically (the lag monitor, when no replica of a datasource qualifies)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("tenantdb.replication")


@dataclass(slots=True)
class _DatasourceSwitch:
    """Both switches of one datasource; changed only under ``DegradeSwitch._lock``."""

    manual: str | None = None  # the reason, when forced by hand
    automatic: str | None = None  # the reason, when the monitor found no replica
    since: float = 0.0  # when either switch last changed


class DegradeSwitch:
    """Whether reads of a datasource must go to its primary instead of a replica.

    Two kinds of switch, reported together by ``snapshot``:

    - **manual** (``force_primary`` / ``release``), cluster-wide or per datasource: an
      operator's decision; ``forced`` answers it on every read. The cluster-wide switch
      takes precedence over a datasource's own;
    - **automatic** (``set_automatic``), per datasource, set by its lag monitor when no
      replica qualifies and cleared when one does again. ``forced`` does not consult it:
      the selector already finds no replica then, which sends reads to the primary.

    ``forced`` is the hot path (an attribute read and a dict lookup, no lock); changes
    take a lock and are logged once each on ``"tenantdb.replication"``: WARNING when reads
    move to primaries, INFO when they may use replicas again. Times (``since``) come from
    ``clock``, monotonic seconds by default.
    """

    def __init__(
        self,
        datasources: Iterable[str] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # Readers use these without the lock: every change replaces one value in one step.
        self._cluster: str | None = None
        self._cluster_since = 0.0
        self._manual: dict[str, str] = {}
        self._switches: dict[str, _DatasourceSwitch] = {
            name: _DatasourceSwitch() for name in datasources
        }

    def forced(self, datasource: str) -> str | None:
        """Why reads of ``datasource`` must go to its primary by hand, or None.

        The cluster-wide reason first, then the datasource's own. The automatic switch is
        not consulted (see the class docstring).
        """
        reason = self._cluster
        if reason is not None:
            return reason
        return self._manual.get(datasource)

    def force_primary(self, datasource: str | None = None, *, reason: str) -> None:
        """Send reads of ``datasource`` (None: of every datasource) to primaries until
        ``release``. Calling it again replaces the reason. Raises ValueError for an empty
        ``reason``: it is what ``forced`` answers, and what operators read in the logs."""
        if not reason:
            raise ValueError("force_primary needs a reason (shown by forced() and logged)")
        with self._lock:
            now = self._clock()
            if datasource is None:
                before = self._cluster
                self._cluster = reason
                if before is None:
                    self._cluster_since = now
            else:
                switch = self._switch(datasource)
                before = switch.manual
                switch.manual = reason
                self._manual[datasource] = reason
                if before is None:
                    switch.since = now
        if before != reason:
            log.warning(
                "reads of %s forced to %s (manual): %s",
                _subject(datasource),
                "the primary" if datasource is not None else "primaries",
                reason,
            )

    def release(self, datasource: str | None = None) -> None:
        """Undo ``force_primary`` for ``datasource`` (None: the cluster-wide switch only;
        per-datasource switches stay). Releasing a switch that is off does nothing."""
        with self._lock:
            now = self._clock()
            still = ""
            if datasource is None:
                before = self._cluster
                self._cluster = None
                if before is not None:
                    self._cluster_since = now
            else:
                switch = self._switches.get(datasource)
                before = switch.manual if switch is not None else None
                if switch is not None and before is not None:
                    switch.manual = None
                    self._manual.pop(datasource, None)
                    switch.since = now
                    if self._cluster is not None:
                        still = f"; every datasource is still forced ({self._cluster})"
                    elif switch.automatic is not None:
                        still = f"; no replica qualifies yet ({switch.automatic})"
        if before is not None:
            log.info(
                "reads of %s may use replicas again (manual release)%s",
                _subject(datasource),
                still,
            )

    def set_automatic(self, datasource: str, on: bool, reason: str) -> None:
        """Record whether ``datasource`` has no qualifying replica (``on``) and why.

        Called by the lag monitor after every pass; only a change of ``on`` is logged
        (the reason's figures change from pass to pass and are just kept for
        ``snapshot``).
        """
        with self._lock:
            switch = self._switch(datasource)
            was_on = switch.automatic is not None
            switch.automatic = reason if on else None
            if was_on != on:
                switch.since = self._clock()
        if was_on == on:
            return
        if on:
            log.warning(
                "reads of datasource %s go to the primary (automatic): %s", datasource, reason
            )
        else:
            log.info(
                "reads of datasource %s may use replicas again (automatic): %s", datasource, reason
            )

    def snapshot(self) -> dict[str, Any]:
        """A plain dict of every switch, for status pages (JSON-serializable)::

        {"cluster": {"forced": bool, "reason": str | None, "since": float},
         "datasources": {name: {"forced": bool, "reason": str | None,
                                "automatic": bool, "automatic_reason": str | None,
                                "since": float}}}
        """
        with self._lock:
            return {
                "cluster": {
                    "forced": self._cluster is not None,
                    "reason": self._cluster,
                    "since": self._cluster_since,
                },
                "datasources": {
                    name: {
                        "forced": s.manual is not None,
                        "reason": s.manual,
                        "automatic": s.automatic is not None,
                        "automatic_reason": s.automatic,
                        "since": s.since,
                    }
                    for name, s in sorted(self._switches.items())
                },
            }

    def __repr__(self) -> str:
        with self._lock:
            manual = sorted(name for name, s in self._switches.items() if s.manual is not None)
            automatic = sorted(n for n, s in self._switches.items() if s.automatic is not None)
            cluster = self._cluster is not None
        parts = ["cluster forced"] if cluster else []
        if manual:
            parts.append(f"forced: {', '.join(manual)}")
        if automatic:
            parts.append(f"automatic: {', '.join(automatic)}")
        return f"<DegradeSwitch [{'; '.join(parts) or 'replicas in use'}]>"

    def _switch(self, datasource: str) -> _DatasourceSwitch:
        switch = self._switches.get(datasource)
        if switch is None:
            switch = self._switches[datasource] = _DatasourceSwitch()
        return switch


def _subject(datasource: str | None) -> str:
    return "every datasource" if datasource is None else f"datasource {datasource}"
