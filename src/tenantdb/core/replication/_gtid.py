"""MariaDB GTID positions: what a MariaDB primary has written, or a replica has applied.

A MariaDB GTID is ``domain-server-sequence`` (``0-1-42``). Within one replication domain
the sequence numbers only grow, whichever server wrote them, so a position is one GTID per
domain (``@@gtid_binlog_pos``, ``@@gtid_slave_pos``: ``"0-1-42,1-3-7"``) and positions
compare domain by domain: a replica has reached a write when, in the write's domain, its
sequence number is at least the write's. Two positions are then only partially ordered,
which is why a GTID position is not folded into the int positions PostgreSQL's LSNs use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_GTID = re.compile(r"(\d{1,10})-(\d{1,10})-(\d{1,20})")
_MAX_DOMAIN = (1 << 32) - 1  # gtid_domain_id and server_id are unsigned 32-bit
_MAX_SEQUENCE = (1 << 64) - 1


class GtidPosition:
    """One GTID per replication domain; immutable and hashable.

    ``reached(wanted)`` is the read-your-writes test: for every domain of ``wanted``, this
    position has that domain at a sequence number at least as high (the server ids do not
    take part: a failover changes them, not the order). ``merged(other)`` keeps the later
    GTID of each domain. Equal positions have equal text (domains in ascending order).
    """

    __slots__ = ("_gtids",)

    def __init__(self, gtids: Iterable[tuple[int, int, int]] = ()) -> None:
        by_domain: dict[int, tuple[int, int, int]] = {}
        for gtid in gtids:
            domain, server, sequence = gtid
            if not (
                _bounded(domain, _MAX_DOMAIN)
                and _bounded(server, _MAX_DOMAIN)
                and _bounded(sequence, _MAX_SEQUENCE)
            ):
                raise ValueError(f"not a MariaDB GTID: {gtid!r}")
            known = by_domain.get(domain)
            if known is None or sequence > known[2]:
                by_domain[domain] = (domain, server, sequence)
        self._gtids: tuple[tuple[int, int, int], ...] = tuple(
            by_domain[domain] for domain in sorted(by_domain)
        )

    @classmethod
    def parse(cls, text: str) -> GtidPosition:
        """The position a MariaDB GTID list such as ``"0-1-42,1-3-7"`` names.

        Accepts what ``@@last_gtid``, ``@@gtid_binlog_pos`` and ``@@gtid_slave_pos`` show
        (an empty string is the empty position; spaces around commas are allowed). Raises
        ValueError for anything else, or for two GTIDs of one domain.
        """
        if not isinstance(text, str):
            raise ValueError(f"malformed MariaDB GTID position {text!r}: expected a string")
        gtids: list[tuple[int, int, int]] = []
        domains: set[int] = set()
        for part in text.split(",") if text.strip() else ():
            match = _GTID.fullmatch(part.strip())
            if match is None:
                raise ValueError(
                    f"malformed MariaDB GTID position {text!r}: expected comma-separated "
                    "domain-server-sequence numbers, such as '0-1-42,1-3-7'"
                )
            domain, server, sequence = (int(group) for group in match.groups())
            if domain in domains:
                raise ValueError(f"malformed MariaDB GTID position {text!r}: domain {domain} twice")
            domains.add(domain)
            gtids.append((domain, server, sequence))
        return cls(gtids)

    @property
    def sequences(self) -> Mapping[int, int]:
        """Domain → sequence number (a new dict)."""
        return {domain: sequence for domain, _, sequence in self._gtids}

    def reached(self, wanted: GtidPosition) -> bool:
        """Whether a server at this position has applied every GTID ``wanted`` names."""
        mine = {domain: sequence for domain, _, sequence in self._gtids}
        for domain, _, sequence in wanted._gtids:
            have = mine.get(domain)
            if have is None or have < sequence:
                return False
        return True

    def merged(self, other: GtidPosition) -> GtidPosition:
        """Per domain, the later of the two GTIDs (what a reader of both must wait for)."""
        return GtidPosition((*self._gtids, *other._gtids))

    def __bool__(self) -> bool:
        return bool(self._gtids)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GtidPosition):
            return NotImplemented
        return self._gtids == other._gtids

    def __hash__(self) -> int:
        return hash(self._gtids)

    def __str__(self) -> str:
        return ",".join(f"{d}-{s}-{n}" for d, s, n in self._gtids)

    def __repr__(self) -> str:
        return f"<GtidPosition {str(self) or 'empty'}>"


def write_gtid(last_gtid: object, binlog_pos: object) -> GtidPosition | None:
    """The position a read must wait for after a session's write on a MariaDB primary,
    from ``@@last_gtid`` and ``@@gtid_binlog_pos`` read on the session's connection right
    after the commit.

    ``@@last_gtid`` is exactly the session's last transaction. It is empty when the
    connection has logged nothing yet (a write that changed no row under row-based
    logging); ``@@gtid_binlog_pos`` (everything the primary has logged, in every domain) is
    then a safe, stricter stand-in. Both empty, or unreadable, means the primary keeps no
    binary log: None, the position is unknown and reads go to the primary.
    """
    for text in (last_gtid, binlog_pos):
        if isinstance(text, bytes):
            text = text.decode("ascii", "replace")
        if not isinstance(text, str):
            continue
        try:
            position = GtidPosition.parse(text)
        except ValueError:
            return None
        if position:
            return position
    return None


def _bounded(value: object, maximum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum


__all__ = ["GtidPosition", "write_gtid"]
