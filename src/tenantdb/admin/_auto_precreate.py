"""Background precreation of ``time_range`` period tables (``precreate = "auto"``).

A long-running service should never meet a period table that does not exist yet. With
``precreate = "auto"`` the cluster runs the same work as ``tenantdb ddl --precreate`` (no
schema script: a missing period is copied from the newest existing one) in a daemon thread:
once when the first session opens, then every ``precreate_interval``. Each pass is
idempotent (existing tables are skipped), logs what it created on the ``tenantdb.precreate``
logger, and logs rather than raises its failures: the next pass tries again. Several
processes may run it at once; one that loses a race to create a table logs the failure and
finds the table there on its next pass.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from ..errors import Error
from ._ddl import DdlReport, precreate

if TYPE_CHECKING:
    from ._view import ClusterView

logger = logging.getLogger("tenantdb.precreate")


class AutoPrecreator:
    """Runs ``precreate(cluster)`` now and then every ``interval`` seconds until ``stop()``."""

    def __init__(self, cluster: ClusterView, *, interval: float) -> None:
        self._cluster = cluster
        self.interval = interval
        """Seconds between passes; a configuration reload sets it (read before each wait)."""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.passes = 0
        """Passes finished (successful or not): lets a caller wait for the next one."""
        self.last_error: str | None = None
        """The failure of the latest pass, None when it succeeded."""

    def start(self) -> None:
        """Start the thread (once; later calls do nothing)."""
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(
                target=self._run, name="tenantdb-precreate", daemon=True
            )
            self._thread.start()

    def step(self) -> DdlReport | None:
        """One pass: create the missing period tables. Returns the report, or None when
        the pass failed (the failure is logged and kept in ``last_error``)."""
        report: DdlReport | None = None
        try:
            report = precreate(self._cluster)
        except Exception as exc:  # logged, never raised: the next pass tries again
            self.last_error = str(exc) if isinstance(exc, Error) else f"{type(exc).__name__}: {exc}"
            if self._stop.is_set():
                logger.debug("precreation pass ended by close(): %s", exc)
            elif isinstance(exc, Error):
                logger.error(
                    "precreating time_range period tables failed (tried again in %gs): %s",
                    self.interval,
                    exc,
                )
            else:  # a bug: show the traceback, keep the thread
                logger.exception("precreating time_range period tables failed unexpectedly")
        else:
            self.last_error = None
            created = [f"{s.datasource}: {', '.join(s.tables)}" for s in report.steps("applied")]
            if created:
                logger.info("created %d period table(s): %s", len(created), "; ".join(created))
            else:
                logger.debug("every time_range period table exists")
        self.passes += 1
        return report

    def stop(self) -> None:
        """Tell the thread to stop after the pass in progress (``join()`` waits for it)."""
        self._stop.set()

    def join(self) -> None:
        """Wait for the thread to end (after ``stop()``, once the pools are closed)."""
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.interval)
