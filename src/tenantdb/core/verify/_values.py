"""Values as verify compares them, and as its progress file stores them.

Two copies of a row are equal when their values are equal as typed values, never as the
database's text or collation would have it: ``canonical`` maps each value to a form that
compares that way. Numbers compare by value whatever their Python type (``Decimal('9.50')``,
``9.5`` and ``Decimal('9.5')`` are one number: one driver's NUMERIC is another's float);
text compares by its UTF-8 bytes (so two copies under different collations, where ``'a'``
and ``'A'`` or ``'a '`` and ``'a'`` may be "equal", still differ), and text equals bytes
with the same UTF-8 encoding (a driver that returns a binary-collated column as bytes);
NULL is never equal to an empty string; aware datetimes compare in UTC.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import math
import uuid
from collections.abc import Hashable, Sequence
from typing import Any

_NULL = ("null",)
_NAN = ("nan",)


def canonical(value: object) -> Hashable:
    """The comparable, hashable form of one column value (see the module docstring)."""
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return ("n", decimal.Decimal(int(value)))
    if isinstance(value, int):
        return ("n", decimal.Decimal(value))
    if isinstance(value, float):
        if math.isnan(value):
            return _NAN
        # repr is the shortest text that reads back as the same float: 0.1 -> Decimal('0.1'),
        # which is what a NUMERIC column holding 0.1 returns.
        return ("n", decimal.Decimal(repr(value)))
    if isinstance(value, decimal.Decimal):
        return _NAN if value.is_nan() else ("n", value)
    if isinstance(value, str):
        return ("b", value.encode("utf-8"))
    if isinstance(value, bytes | bytearray | memoryview):
        return ("b", bytes(value))
    if isinstance(value, uuid.UUID):
        return ("b", str(value).encode("ascii"))
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            return ("t", value.astimezone(datetime.UTC).replace(tzinfo=None), "utc")
        return ("t", value, "naive")
    if isinstance(value, dict | list):
        # JSON documents: by content, not by key order or spacing.
        return ("j", json.dumps(value, sort_keys=True, separators=(",", ":"), default=str))
    if isinstance(value, Hashable):
        return ("v", type(value).__name__, value)
    return ("r", repr(value))


def canonical_row(row: Sequence[object]) -> tuple[Hashable, ...]:
    """``canonical`` of every value of ``row``."""
    return tuple(canonical(value) for value in row)


def encode_value(value: object) -> Any:
    """``value`` (a primary-key value a driver returned) as JSON-ready data that
    ``decode_value`` turns back into the same Python value. Raises TypeError for a type it
    does not know (the message names it)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    if isinstance(value, datetime.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"date": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"time": value.isoformat()}
    raise TypeError(
        f"a primary-key value of type {type(value).__name__} cannot be recorded (verify's "
        "progress, a move's log): verify or move tables whose key columns are integers, "
        "text, bytes, decimals, dates or UUIDs"
    )


_DECODERS: dict[str, Any] = {
    "float": float,
    "decimal": decimal.Decimal,
    "bytes": base64.b64decode,
    "uuid": uuid.UUID,
    "datetime": datetime.datetime.fromisoformat,
    "date": datetime.date.fromisoformat,
    "time": datetime.time.fromisoformat,
}


def decode_value(data: Any) -> object:
    """The value ``encode_value`` wrote. Raises ValueError for data it did not write."""
    if data is None or isinstance(data, bool | int | str):
        return data
    if isinstance(data, dict) and len(data) == 1:
        ((kind, text),) = data.items()
        if kind in _DECODERS:
            return _DECODERS[kind](text)
    raise ValueError(f"not a recorded primary-key value: {data!r}")


def encode_key(key: Sequence[object]) -> list[Any]:
    """A primary key (a tuple of values) as JSON-ready data."""
    return [encode_value(value) for value in key]


def decode_key(data: Sequence[Any]) -> tuple[object, ...]:
    """The primary key ``encode_key`` wrote."""
    return tuple(decode_value(item) for item in data)


def show_key(key: Sequence[object]) -> Any:
    """A primary key for reports: the bare value for a one-column key, a list otherwise;
    values JSON cannot hold as they are shown as text."""
    shown = [v if v is None or isinstance(v, bool | int | float | str) else str(v) for v in key]
    return shown[0] if len(shown) == 1 else shown


__all__ = [
    "canonical",
    "canonical_row",
    "decode_key",
    "decode_value",
    "encode_key",
    "encode_value",
    "show_key",
]
