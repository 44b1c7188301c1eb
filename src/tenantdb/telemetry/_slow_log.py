"""``SlowStatementLog``: the statements that ran longer than a threshold, logged and kept.

Each slow statement is logged on ``tenantdb.slow`` (WARNING; one line per statement text
and second at most, the next one saying how many were left out) with its SQL as the
application wrote it (the template: parameter values are separate and left out unless the
configuration opts in) and its plan: each target's datasource, role, physical SQL and
logical → physical tables (the targets that served it when it returned, else the planned
ones). The latest ``kept`` are returned newest first by ``cluster.slow_statements()`` for
the console.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from ..core.routing import Target
from ._logs import ThrottledLog

_LOG = logging.getLogger("tenantdb.slow")
# Each statement text is logged at most once a second (all are kept for slow_statements()).
_THROTTLED = ThrottledLog(_LOG, interval_s=1.0)


class SlowStatementLog:
    """Statements at or above ``threshold_s``; thread-safe."""

    def __init__(self, threshold_s: float, *, kept: int, with_params: bool) -> None:
        self.threshold_s = threshold_s
        self._with_params = with_params
        self._lock = threading.Lock()
        self._kept: deque[dict[str, Any]] = deque(maxlen=kept)

    def record(
        self,
        *,
        sql: str,
        params: object,
        tenant: str | None,
        duration_s: float,
        route: str,
        targets: Sequence[Target],
        error: BaseException | None,
    ) -> None:
        """Keep and log one statement that took ``duration_s`` (the caller checked it is
        at least ``threshold_s``)."""
        entry: dict[str, Any] = {
            "at": time.time(),
            "tenant": tenant,
            "sql": sql,
            "params": _jsonable(params) if self._with_params else None,
            "duration_s": duration_s,
            "route": route,
            "targets": [self._target(target) for target in targets],
            "error": None if error is None else type(error).__name__,
        }
        with self._lock:
            self._kept.append(entry)
        where = ", ".join(sorted({f"{t.datasource} ({t.role})" for t in targets})) or "nowhere"
        extra = {
            "tenant": tenant,
            "duration_s": duration_s,
            "route": route,
            "targets": entry["targets"],
        }
        if self._with_params:
            extra["params"] = entry["params"]
        _THROTTLED.warning(
            sql,
            "slow statement: %.3f s, tenant %s, %s on %s%s: %s",
            duration_s,
            tenant if tenant is not None else "(none)",
            route,
            where,
            "" if error is None else f", failed with {entry['error']}",
            sql,
            extra={"tenantdb": extra},
        )

    def _target(self, target: Target) -> dict[str, Any]:
        place: dict[str, Any] = {
            "datasource": target.datasource,
            "role": target.role,
            "sql": target.sql,
            "tables": dict(target.tables),
        }
        if self._with_params:
            place["params"] = _jsonable(target.params)
        return place

    def entries(self) -> list[dict[str, Any]]:
        """The kept slow statements, newest first (copies)."""
        with self._lock:
            return [dict(entry) for entry in reversed(self._kept)]


def _jsonable(params: object) -> Any:
    if params is None:
        return None
    if isinstance(params, dict):
        return {str(key): _value(value) for key, value in params.items()}
    if isinstance(params, list | tuple):
        return [_value(value) for value in params]
    return _value(params)


def _value(value: object) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
