"""Logs for operators: ``JsonFormatter`` (one JSON object per line) and ``ThrottledLog``
(a warning that could repeat on every statement is written at most once per interval).

tenantdb logs on the standard ``logging`` module under ``tenantdb.*``; records about one
statement or endpoint carry ``extra={"tenantdb": {...}}`` (tenant, datasource, role,
duration, ...). ``JsonFormatter`` writes those fields, the tenant of the current
``tenant_context`` when the record has none, and the trace and span ids of the current
OpenTelemetry span (tenantdb's own statement span while a statement runs), so log lines
and traces can be joined.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ..core.tenancy import current_tenant

_MAX_KEYS = 1_000  # distinct throttled messages remembered; more start the table over


class JsonFormatter(logging.Formatter):
    """Formats each record as one JSON object: ``time`` (UTC, ISO 8601), ``level``,
    ``logger``, ``message``, tenantdb's fields (``tenant``, ``datasource``, ...), ``trace_id``
    and ``span_id`` when a span is current, and ``exception`` when there is one.

    Install it on a handler: ``handler.setFormatter(tenantdb.telemetry.JsonFormatter())``.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "tenantdb", None)
        if isinstance(fields, dict):
            entry.update({key: value for key, value in fields.items() if value is not None})
        if "tenant" not in entry:
            tenant = current_tenant()
            if tenant is not None:
                entry["tenant"] = tenant
        entry.update(_trace_ids())
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def _trace_ids() -> dict[str, str]:
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return {}
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


class ThrottledLog:
    """Writes a message with a given key at most once per ``interval_s``; the next one
    after a quiet spell says how many were left out. Thread-safe."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._next: dict[str, tuple[float, int]] = {}  # key → (next allowed at, left out)

    def warning(self, key: str, message: str, *args: object, **kwargs: Any) -> bool:
        """Log ``message % args`` at WARNING unless ``key`` was logged less than
        ``interval_s`` ago; True when it was written."""
        now = self._clock()
        with self._lock:
            allowed_at, left_out = self._next.get(key, (0.0, 0))
            if now < allowed_at:
                self._next[key] = (allowed_at, left_out + 1)
                return False
            if len(self._next) >= _MAX_KEYS:
                self._next.clear()
            self._next[key] = (now + self._interval_s, 0)
        if left_out:
            message += f" ({left_out} more like this since the last one)"
        self._logger.warning(message, *args, **kwargs)
        return True
