"""Rows as the shards return them, and their equality for DISTINCT and GROUP BY."""

from __future__ import annotations

from typing import Any, Final

Row = tuple[Any, ...]
"""One row as a driver returns it."""

_ARRAY: Final = object()
_OBJECT: Final = object()


def hashable(value: object) -> object:
    """An equal-for-equal hashable stand-in for a value (or row) holding lists or dicts.

    PostgreSQL arrays arrive as lists and json/jsonb as dicts; two stand-ins are equal
    exactly when the values are, and a list never equals a tuple or a dict.
    """
    if isinstance(value, tuple):
        return tuple([hashable(v) for v in value])
    if isinstance(value, list):
        return (_ARRAY, *[hashable(v) for v in value])
    if isinstance(value, dict):
        return (_OBJECT, frozenset((k, hashable(v)) for k, v in value.items()))
    return value


class DistinctRows:
    """What DISTINCT keeps: the first of equal rows, compared on their visible columns.

    Holds every distinct row it has been shown (the ``hidden`` trailing columns excluded),
    so its memory grows with the number of distinct rows, not with the rows seen.
    """

    __slots__ = ("_hidden", "_seen")

    def __init__(self, hidden: int) -> None:
        if hidden < 0:
            raise ValueError(f"hidden must not be negative, got {hidden}")
        self._hidden = hidden
        self._seen: set[object] = set()

    def __repr__(self) -> str:
        return f"<DistinctRows [{len(self._seen)} seen, {self._hidden} hidden columns]>"

    def is_new(self, row: Row) -> bool:
        """True the first time ``row``'s visible columns are seen; later equal rows: False."""
        visible: object = row[: -self._hidden] if self._hidden else row
        try:
            if visible in self._seen:
                return False
        except TypeError:  # a list (array) or dict (JSON) value
            visible = hashable(visible)
            if visible in self._seen:
                return False
        self._seen.add(visible)
        return True
