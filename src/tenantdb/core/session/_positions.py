"""A session's write positions: what its reads of each datasource must see (read-your-writes).

After a commit that wrote on a replicated datasource, the session reads the primary's write
position there; a replica may then serve that datasource's reads only once it has replayed
that far. A consistency token carries the positions to a later session (the same user's next
request). The encoding and the merge rule are ``core.replication``'s; this object is what the
session holds and asks.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..replication import Position, decode_token, encode_token, merge_positions


class WritePositions:
    """Per datasource, the write position a read must see; immutable (each write gives a new
    object, so a token or a copy handed out never changes under its holder).

    A datasource that is absent has no write to wait for; a position is an LSN
    (PostgreSQL) or a GTID position (MariaDB); ``None`` means a write whose position is
    unknown (a MySQL server without GTIDs, or a position that could not be read): only the
    primary is sure to have it. Positions only grow: merging keeps the later of two (per
    GTID domain for MariaDB), and ``None`` wins over any position.
    """

    __slots__ = ("_positions",)

    def __init__(self, positions: Mapping[str, Position | None] | None = None) -> None:
        self._positions: dict[str, Position | None] = dict(positions or {})

    @classmethod
    def from_token(cls, token: str | None) -> WritePositions:
        """The positions a consistency token carries (none for ``None``).

        Raises ProgrammingError ("not a tenantdb consistency token; …") for a string that
        ``token()`` did not produce.
        """
        if token is None:
            return _NONE
        return cls(decode_token(token))

    def token(self) -> str:
        """The consistency token for these positions (equal positions, equal tokens)."""
        return encode_token(self._positions)

    def after_write(self, datasource: str, position: Position | None) -> WritePositions:
        """These positions with a write on ``datasource`` at ``position`` (None: unknown)."""
        return WritePositions(merge_positions(self._positions, {datasource: position}))

    def merged(self, other: WritePositions) -> WritePositions:
        """Per datasource, the later of the two (what a read must wait for)."""
        return WritePositions(merge_positions(self._positions, other._positions))

    def unknown(self, datasource: str) -> bool:
        """True when this session wrote on ``datasource`` at a position it cannot compare:
        its reads there go to the primary."""
        return datasource in self._positions and self._positions[datasource] is None

    def at_least(self, datasource: str) -> Position | None:
        """The position a replica must have replayed to serve a read of ``datasource``
        (None: any serving replica will do; see ``unknown`` for a write of unknown
        position, which this also answers None for)."""
        return self._positions.get(datasource)

    def as_dict(self) -> dict[str, Position | None]:
        """A copy, datasource name → position (None: unknown)."""
        return dict(self._positions)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WritePositions):
            return NotImplemented
        return self._positions == other._positions

    __hash__ = None  # type: ignore[assignment]  # equal by content, which is a dict

    def __repr__(self) -> str:
        inner = ", ".join(
            f"{name}={position}" for name, position in sorted(self._positions.items())
        )
        return f"<WritePositions {inner or 'none'}>"


_NONE = WritePositions()
"""No write yet: what every session without a token starts from (immutable, so shared)."""

__all__ = ["WritePositions"]
