"""The sqlglot Dialect object of each of tenantdb's dialects, built once.

sqlglot accepts a dialect by name everywhere, and turns the name into a new Dialect object
on every call (settings parsed from the name, the object initialised); a new statement
passes through it about ten times (parse, dialect rules, generation, the round trip). A
Dialect holds settings only (each tokenizer, parser and generator is made per call), so
one object per dialect is shared by every thread.

Always go through :func:`sqlglot_dialect`, never a dialect name handed to sqlglot: a name
is looked up in sqlglot's registry of dialect classes, which is not safe while another
thread loads that dialect (see ``sqlglot_dialect``).
"""

from __future__ import annotations

import importlib
import threading

from sqlglot.dialects import DIALECT_MODULE_NAMES
from sqlglot.dialects.dialect import Dialect

_DIALECTS: dict[str, Dialect] = {}
_BUILDING = threading.Lock()


def sqlglot_dialect(name: str) -> Dialect:
    """The shared sqlglot Dialect for ``name`` (``postgres``, ``mysql``, ``sqlite``).

    The first call for a name loads the dialect's module completely before anything uses
    it, whichever thread loads it: sqlglot loads dialect modules on first use, and its
    registry maps the name to the class as soon as the class statement starts, before the
    class gets its tokenizer, parser and generator. Until then a lookup by name from
    another thread returns the class with sqlglot's generic ones (the generic generator
    writes ``:name`` where PostgreSQL takes ``%(name)s``). Importing the module waits for
    an import another thread has started; only then is the Dialect built and published.
    """
    dialect = _DIALECTS.get(name)
    if dialect is None:
        with _BUILDING:
            dialect = _DIALECTS.get(name)
            if dialect is None:
                if name in DIALECT_MODULE_NAMES:
                    importlib.import_module(f"sqlglot.dialects.{name}")
                dialect = _DIALECTS[name] = Dialect.get_or_raise(name)
    return dialect


__all__ = ["sqlglot_dialect"]
