"""Quiet sqlglot's warnings about tenantdb's own parses, and only those.

sqlglot logs a warning for every text it falls back to parsing as a raw command; tenantdb
refuses those statements with an error of its own, so for its parses the warnings are only
noise. The application's own use of sqlglot, and its logging configuration, stay as they are:
a filter on the ``sqlglot`` logger drops records below ERROR only while a tenantdb parse runs
in the current thread or task.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_parsing: ContextVar[bool] = ContextVar("tenantdb_sqlglot_quiet", default=False)


class _OwnParses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not _parsing.get()


_FILTER = _OwnParses()


def install() -> None:
    """Attach the filter to the ``sqlglot`` logger (once; importing tenantdb calls it)."""
    logger = logging.getLogger("sqlglot")
    if not any(isinstance(f, _OwnParses) for f in logger.filters):
        logger.addFilter(_FILTER)


@contextmanager
def quiet() -> Iterator[None]:
    """Drop sqlglot's warnings emitted inside the block (this thread or task only)."""
    token = _parsing.set(True)
    try:
        yield
    finally:
        _parsing.reset(token)
