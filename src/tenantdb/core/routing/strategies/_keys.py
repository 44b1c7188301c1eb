"""Key values as the database compares them: the declared key type and the backend decide.

A statement's key value is placed by the value the database will compare, not by its
spelling: ``WHERE k = '05'`` on an integer column compares 5 on every backend here, so it
must be placed like 5. Each function below returns the canonical value for one key type
(``int`` for ``int`` keys, the canonical text for ``text`` and ``uuid`` keys), converting a
string the way the backend converts it, or raises :class:`~tenantdb.errors.RoutingError`
when it cannot convert it exactly (the message says what to pass instead and never shows
the value: it may be sensitive).

How the backends read a string compared with an integer column (checked on PostgreSQL 15,
MariaDB 10.11 and SQLite 3):

- PostgreSQL reads optional whitespace, a sign and decimal digits (``'05'``, ``' 5'``,
  ``'+5'``) and rejects anything else (``'5.0'``, ``'5e0'``, ``'abc'``) with an error;
- MariaDB/MySQL read every string as a number: ``'5.0'``, ``'5e0'`` and ``'5abc'`` equal 5,
  ``'abc'`` and ``'0x5'`` equal 0;
- SQLite converts text that is a well-formed number (``'5.0'``, ``'5e0'``) and compares
  other text as text (never equal to a number).

tenantdb accepts the spelling all of them read alike (whitespace, sign, decimal digits)
and refuses the rest.

A key column whose type is not declared (``key_type`` unset) may be an integer, a text or a
UUID column: a string is accepted only when it is placed the same way for each of them. One
known gap remains there, on MariaDB/MySQL only: a string that does not start like a number
(``'alice'``) equals 0 for an integer column, where it is placed by its text; declare
``key_type = "int"`` (such strings are then refused) or ``"text"``.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Literal, NoReturn

from ....errors import RoutingError
from ._base import column, integral_decimal, null_key, type_label

KeyType = Literal["int", "text", "uuid", "date", "datetime"]
KEY_TYPES: tuple[KeyType, ...] = ("int", "text", "uuid", "date", "datetime")
Backend = Literal["postgres", "mysql", "sqlite"] | None
"""The cluster's dialect; ``None`` (a strategy built alone): no backend-specific leniency."""

_SPACE = " \t\n\r\f\v"
_INTEGER_TEXT = re.compile(rf"[{_SPACE}]*([+-]?[0-9]+)[{_SPACE}]*")
_CANONICAL_INTEGER = re.compile(r"0|-?[1-9][0-9]*")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HYPHENATED_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# Text any backend may read as a number against a numeric column (SQLite: a real literal).
_NUMBER_LIKE = re.compile(
    rf"[{_SPACE}]*[+-]?([0-9][0-9_]*\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[{_SPACE}]*"
)
# MariaDB reads the longest numeric prefix of a string compared with a number ('5abc' is 5).
_NUMERIC_PREFIX = re.compile(rf"[{_SPACE}]*[+-]?\.?[0-9]")
_INT64 = 1 << 63


def integer_key(table: str, key: str, value: object, *, strategy: str, backend: Backend) -> int:
    """The integer a key compares as on an integer column."""
    if value is None:
        null_key(table, key)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        whole = integral_decimal(value)
        if whole is not None:
            return whole
        _refuse(table, key, f"is a non-integral Decimal; {strategy} sharding needs an integer key")
    if isinstance(value, str):
        return _integer_text(table, key, value)
    _refuse(
        table,
        key,
        f"has type {type_label(value)}; {strategy} sharding needs an integer key (pass it as "
        "int, or as a string of decimal digits)",
    )


def _integer_text(table: str, key: str, text: str) -> int:
    match = _INTEGER_TEXT.fullmatch(text)
    if match is None:
        _refuse(
            table,
            key,
            "is a string that is not a whole number in decimal digits; the databases read "
            "such strings differently ('5.0' is 5 on MariaDB and SQLite, an error on "
            "PostgreSQL, 'abc' is 0 on MariaDB), so pass the key as an int",
        )
    number = int(match.group(1))
    if not -_INT64 <= number < _INT64:
        _refuse(table, key, "is a string whose number is outside the 64-bit integer range")
    return number


def text_key(table: str, key: str, value: object, *, strategy: str, backend: Backend) -> str:
    """The text a key compares as on a text column."""
    if value is None:
        null_key(table, key)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int) and not isinstance(value, bool) and backend == "sqlite":
        return int.__repr__(value)  # SQLite applies the column's TEXT affinity to a number
    _refuse(
        table,
        key,
        f"has type {type_label(value)}; the key is declared text, pass it as a string "
        "(MariaDB compares a number with every spelling of it: '05', ' 5', '5.0')",
    )


def uuid_key(table: str, key: str, value: object, *, strategy: str, backend: Backend) -> str:
    """The canonical lowercase hyphenated text of a UUID key."""
    if value is None:
        null_key(table, key)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        text = str.__str__(value)
        if backend == "mysql" and _HYPHENATED_UUID.fullmatch(text) is None:
            # A CHAR(36) column compares text: only the hyphenated form (any case, under
            # MariaDB's case-insensitive collations) can equal what is stored.
            _refuse(
                table,
                key,
                "is not a UUID in the hyphenated 8-4-4-4-12 form; pass uuid.UUID or that form",
            )
        try:
            return str(uuid.UUID(text))
        except ValueError:
            _refuse(table, key, "is a string that is not a UUID; pass uuid.UUID or its text")
    _refuse(table, key, f"has type {type_label(value)}; the key is declared uuid, pass uuid.UUID")


def undeclared_key(
    table: str, key: str, value: object, *, strategy: str, backend: Backend
) -> int | str:
    """A hash key of a table without ``key_type``: accepted only if its placement does not
    depend on whether the column is an integer, a text or a UUID column."""
    if value is None:
        null_key(table, key)
    if isinstance(value, str):
        text = str.__str__(value)
        if _CANONICAL_INTEGER.fullmatch(text) is not None:
            return text  # hashed like the int it equals
        if backend == "mysql" and _NUMERIC_PREFIX.match(text) is not None:
            _undeclared(table, key, "MariaDB reads the number this string starts with")
        if _NUMBER_LIKE.fullmatch(text) is not None:
            _undeclared(table, key, "an integer column would read this string as a number")
        if _looks_like_uuid(text) and _CANONICAL_UUID.fullmatch(text) is None:
            _undeclared(table, key, "a uuid column would read this string as another spelling")
        return text
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal) or (isinstance(value, int) and not isinstance(value, bool)):
        return integer_key(table, key, value, strategy=strategy, backend=backend)
    reason = ""
    if isinstance(value, float):
        reason = " (str(1.0) and str(1) differ, so a float key could be placed twice)"
    elif isinstance(value, bytes | bytearray | memoryview):
        reason = " (decode it, or pass a UUID as uuid.UUID)"
    _refuse(
        table,
        key,
        f"has type {type_label(value)}; {strategy} sharding needs an int, str or UUID key{reason}",
    )


def _looks_like_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _undeclared(table: str, key: str, why: str) -> NoReturn:
    _refuse(
        table,
        key,
        f"is a string whose placement depends on the column's type ({why}); declare "
        f'key_type = "int", "text" or "uuid" for table {table}, or pass the key in its '
        "canonical form (an int, or a UUID as uuid.UUID)",
    )


def _refuse(table: str, key: str, reason: str) -> NoReturn:
    raise RoutingError(f"{column(table, key)} {reason}")


def hash_key_text(
    table: str,
    key: str,
    value: object,
    key_type: KeyType | None,
    *,
    strategy: str,
    backend: Backend,
) -> str:
    """The text whose hash places a key of a hash strategy (``str`` of the canonical value)."""
    if key_type == "int":
        return int.__repr__(integer_key(table, key, value, strategy=strategy, backend=backend))
    if key_type == "text":
        return text_key(table, key, value, strategy=strategy, backend=backend)
    if key_type == "uuid":
        return uuid_key(table, key, value, strategy=strategy, backend=backend)
    found = undeclared_key(table, key, value, strategy=strategy, backend=backend)
    return found if isinstance(found, str) else int.__repr__(found)


__all__ = [
    "KEY_TYPES",
    "Backend",
    "KeyType",
    "hash_key_text",
    "integer_key",
    "text_key",
    "undeclared_key",
    "uuid_key",
]
