"""The sqlglot Dialect object of each of tenantdb's dialects, built once.

sqlglot accepts a dialect by name everywhere, and turns the name into a new Dialect object
on every call (settings parsed from the name, the object initialised); a new statement
passes through it about ten times (parse, dialect rules, generation, the round trip). A
Dialect holds settings only (each tokenizer, parser and generator is made per call), so
one object per dialect is shared by every thread.
"""

from __future__ import annotations

from sqlglot.dialects.dialect import Dialect

_DIALECTS: dict[str, Dialect] = {}


def sqlglot_dialect(name: str) -> Dialect:
    """The shared sqlglot Dialect for ``name`` (``postgres``, ``mysql``, ``sqlite``)."""
    dialect = _DIALECTS.get(name)
    if dialect is None:
        dialect = _DIALECTS.setdefault(name, Dialect.get_or_raise(name))
    return dialect


__all__ = ["sqlglot_dialect"]
