"""Write positions: PostgreSQL LSN text, and consistency tokens that carry them.

A position is what one primary has written, in a form that only grows: a PostgreSQL LSN
(a non-negative int) or a MariaDB GTID position (``GtidPosition``, one GTID per
replication domain). A session remembers, per datasource, the position of its last write;
a replica may serve its reads of that datasource once it has ``reached`` that position.
``None`` means "position unknown" (a MySQL server without GTIDs, or a write whose position
could not be read): only the primary is safe.

A consistency token carries those positions from one session to a later one (another
request, another process)::

    "tdb1." + urlsafe base64, without padding, of compact JSON
    {"ds0": 123, "ds1": null, "ds2": "0-1-42"}     (an LSN, unknown, a GTID position)
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping

from ...errors import ProgrammingError
from ._gtid import GtidPosition

Position = int | GtidPosition
"""A write position: a PostgreSQL LSN as an int, or a MariaDB GTID position."""

_LSN = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")
_MAX_POSITION = (1 << 64) - 1  # LSNs are unsigned 64-bit
_TOKEN_PREFIX = "tdb1."
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_NOT_A_TOKEN = (
    "not a tenantdb consistency token; pass the string Session.consistency_token() returned"
)


def parse_pg_lsn(text: str) -> int:
    """The position of a PostgreSQL ``pg_lsn`` text such as ``"16/B374D848"``.

    Returns ``(high << 32) | low`` of the two hex halves. Raises ValueError when ``text`` is
    not two hex numbers of 1 to 8 digits separated by ``/`` (no spaces).
    """
    match = _LSN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"malformed PostgreSQL LSN {text!r}: expected two hex numbers of 1 to 8 digits "
            "separated by '/', such as '16/B374D848'"
        )
    return (int(match[1], 16) << 32) | int(match[2], 16)


def format_pg_lsn(value: int) -> str:
    """The ``pg_lsn`` text of a position, as PostgreSQL prints it (``"16/B374D848"``).

    Raises ValueError for a value that is not an int in ``0 .. 2**64 - 1``.
    """
    if not _is_position(value):
        raise ValueError(f"not a PostgreSQL LSN: {value!r} (expected an int in 0 .. 2**64-1)")
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def encode_token(positions: Mapping[str, Position | None]) -> str:
    """The consistency token for ``positions`` (datasource name → write position or None).

    Keys are sorted, so equal mappings give equal tokens. Raises ValueError for a key that
    is not a str or a value that is neither None, an int in ``0 .. 2**64 - 1`` nor a
    non-empty ``GtidPosition``.
    """
    plain: dict[str, int | str | None] = {}
    for name, position in positions.items():
        if not isinstance(name, str) or not (
            position is None or _is_position(position) or _is_gtid(position)
        ):
            raise ValueError(
                f"cannot encode position {position!r} of datasource {name!r}: expected a "
                "datasource name and None, a non-negative int or a non-empty GtidPosition"
            )
        plain[name] = str(position) if isinstance(position, GtidPosition) else position
    text = json.dumps(plain, separators=(",", ":"), sort_keys=True)
    payload = base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")
    return _TOKEN_PREFIX + payload


def decode_token(token: str) -> dict[str, Position | None]:
    """The positions a consistency token carries (datasource name → position or None).

    Tokens arrive from outside the process (a header, a cookie), so everything is checked:
    raises ``ProgrammingError`` ("not a tenantdb consistency token; …") for anything other
    than what ``encode_token`` produces: a wrong prefix, bad base64, bad JSON, something
    other than an object, duplicate keys, or a value that is not None, a non-negative int
    (bools and floats included) or a non-empty MariaDB GTID position text.
    """
    if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX):
        raise _refusal("wrong prefix")
    payload = token[len(_TOKEN_PREFIX) :]
    if _BASE64URL.fullmatch(payload) is None or len(payload) % 4 == 1:
        raise _refusal("bad base64")
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise _refusal("bad base64") from None
    try:
        decoded = json.loads(text, object_pairs_hook=_unique_object)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError, duplicate keys and over-long integers.
        raise _refusal("bad JSON") from None
    if not isinstance(decoded, dict):
        raise _refusal("not a JSON object")
    positions: dict[str, Position | None] = {}
    for name, position in decoded.items():
        if isinstance(position, str):
            try:
                gtid = GtidPosition.parse(position)
            except ValueError:
                raise _refusal("bad position") from None
            if not gtid:
                raise _refusal("bad position")
            positions[name] = gtid
        elif position is None or _is_position(position):
            positions[name] = position
        else:
            raise _refusal("bad position")
    return positions


def reached(replayed: Position | None, wanted: Position) -> bool:
    """Whether a replica that has replayed ``replayed`` may serve a read that must see the
    write at ``wanted``. An unknown ``replayed``, or a position of another kind of server
    than ``wanted`` (a token from elsewhere), never qualifies: the primary is safe."""
    if isinstance(replayed, GtidPosition):
        return isinstance(wanted, GtidPosition) and replayed.reached(wanted)
    if replayed is None or isinstance(wanted, GtidPosition):
        return False
    return replayed >= wanted


def later(a: Position | None, b: Position | None) -> Position | None:
    """The position a reader of both ``a`` and ``b`` must wait for: the larger LSN, the
    per-domain later GTID position; None (primary only) when either is unknown or they are
    of different kinds."""
    if isinstance(a, GtidPosition):
        return a.merged(b) if isinstance(b, GtidPosition) else None
    if a is None or b is None or isinstance(b, GtidPosition):
        return None
    return max(a, b)


def position_text(position: Position) -> str:
    """How a position reads in logs and status: LSN text (``"16/B374D848"``) for an int,
    the GTID list for a GTID position."""
    if isinstance(position, GtidPosition):
        return str(position)
    try:
        return format_pg_lsn(position)
    except ValueError:
        return str(position)


def merge_positions(
    a: Mapping[str, Position | None], b: Mapping[str, Position | None]
) -> dict[str, Position | None]:
    """Per datasource, the later of the two positions (what a reader must wait for).

    A datasource in only one mapping keeps its position; ``None`` in either wins over a
    position, since an unknown position is only satisfied by the primary (see ``later``).
    """
    merged = dict(a)
    for name, position in b.items():
        merged[name] = later(merged[name], position) if name in merged else position
    return merged


def _is_position(value: object) -> bool:
    # bool is an int subclass; True is not a position.
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_POSITION


def _is_gtid(value: object) -> bool:
    return isinstance(value, GtidPosition) and bool(value)


def _unique_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _refusal(why: str) -> ProgrammingError:
    # The token itself is not echoed: it came from outside and may be long or hostile.
    return ProgrammingError(f"{_NOT_A_TOKEN} ({why})")
