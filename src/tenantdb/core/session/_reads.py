"""Where a read goes (a replica or the primary, and why), and the one retry policy for a
read whose replica drops.

Both are decisions for the I/O shell: ``place_read`` answers "where does this read of
datasource X go", ``ReadAttempts`` answers "this attempt lost a replica: again, elsewhere, or
give up". Neither depends on time: a dropped replica is taken out of service by its replica
set (whose state machine takes ``now``), and a retry goes elsewhere at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, NamedTuple, Protocol, TypeVar, get_args

from ...errors import Error, ShardUnavailableError
from ..replication import Position, ReplicaState
from ._positions import WritePositions

PrimaryReason = Literal[
    "statement",
    "session",
    "transaction",
    "no_replicas",
    "switched",
    "unknown_position",
    "replicas_lost",
    "none_eligible",
]
"""Why a read goes to the primary, in the order ``place_read`` checks: the statement asked
(``execute(..., primary=True)``), the session reads primaries only, a transaction is open,
the datasource has no replicas, the degrade switch forces its reads to the primary, the
session wrote there at a position it cannot compare, this read already failed to reach two
of its replicas, or no replica is eligible (serving, not excluded, replayed far enough)."""


class ReplicaChooser(Protocol):
    """What picks a replica for one datasource's reads (``ReplicaSet``,
    ``ReplicaSelector``)."""

    def choose(
        self, min_position: Position | None, exclude: int | None = None
    ) -> ReplicaState | None:
        """The replica for the next read, None for the primary."""
        ...


C = TypeVar("C", bound=ReplicaChooser)


class ReadPlacement(NamedTuple, Generic[C]):
    """Where one read of a datasource goes: ``replica`` of ``replicas``, or the primary
    (``replica`` None, ``reason`` says why)."""

    replicas: C | None
    """The datasource's replica set when a replica serves, else None."""
    replica: ReplicaState | None
    reason: PrimaryReason | None

    @property
    def on_primary(self) -> bool:
        return self.replica is None


# Placements on the primary carry nothing but their reason: one object per reason, shared,
# since this is on the path of every read (holding no replica set, they fit every C).
_PRIMARY: dict[PrimaryReason, ReadPlacement[Any]] = {
    reason: ReadPlacement(None, None, reason) for reason in get_args(PrimaryReason)
}


def place_read(
    datasource: str,
    *,
    statement_primary: bool,
    session_primary: bool,
    in_transaction: bool,
    replicas: Callable[[str], C | None],
    switched: Callable[[str], str | None],
    positions: WritePositions,
    attempts: ReadAttempts | None = None,
) -> ReadPlacement[C]:
    """Where a read of ``datasource`` goes, checking the reasons for the primary in the
    order of ``PrimaryReason``, then asking the datasource's replicas for one that has
    replayed this session's writes there (``positions``) and is not the one ``attempts``
    (this read's retry policy, when it has lost replicas) excludes.

    ``replicas`` gives a datasource's replica set (None without replicas) and is called
    only once the statement, session and transaction allow a replica, since a replica set
    starts its monitor on first use; ``switched`` gives the degrade switch's reason (None
    when not forced). Raises what ``choose`` raises (ReplicaLagError under
    ``on_replica_lag = "error"``).
    """
    if statement_primary:
        return _PRIMARY["statement"]
    if session_primary:
        return _PRIMARY["session"]
    if in_transaction:
        return _PRIMARY["transaction"]
    chooser = replicas(datasource)
    if chooser is None:
        return _PRIMARY["no_replicas"]
    if switched(datasource) is not None:
        return _PRIMARY["switched"]
    if positions.unknown(datasource):
        return _PRIMARY["unknown_position"]
    exclude = None
    if attempts is not None:
        if attempts.replicas_exhausted(datasource):
            return _PRIMARY["replicas_lost"]
        exclude = attempts.excluded(datasource)
    replica = chooser.choose(positions.at_least(datasource), exclude)
    if replica is None:
        return _PRIMARY["none_eligible"]
    return ReadPlacement(chooser, replica, None)


def replica_lost(error: BaseException, *, broken: bool) -> bool:
    """Whether a read's ``error`` on a replica means the replica is unreachable (so it is
    taken out of service and the read may go elsewhere): its connection broke, or it could
    not be reached at all. A refused statement (a syntax error, a timeout the server
    enforced) is the statement's fault and is not."""
    return broken or isinstance(error, ShardUnavailableError)


@dataclass(frozen=True, slots=True)
class RetryRead:
    """Run the read again; place each datasource in ``excluded`` away from that replica."""

    excluded: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Raise ``error``: the read is not tried again."""

    error: BaseException


class ReadAttempts:
    """The one retry policy of a statement that may read on replicas, for a single-target
    read and a scatter read alike; one object per statement.

    A replica found unreachable (``replica_lost``) is reported out of service by the shell
    and avoided for the rest of the statement. What happens next depends on whether the
    statement had been sent to it:

    - not yet (its connection could not be checked out, ``checkout_failed``): nothing ran,
      so nothing is retried: the datasource is placed again at once, away from that
      replica, and on its primary once two of its replicas failed so (``place_read`` reads
      this from the policy). So a replica server that is down for several datasources
      costs a scatter read no error.
    - while it ran (``failed`` with ``lost`` non-empty): the whole read runs once more,
      the lost replicas excluded; a second such loss gives up with that second error (the
      one the last try saw). Any other failure gives up at once: an error that lost no
      replica is the statement's own, a non-database error is a bug or an interrupt, and a
      statement other than a SELECT is never run twice (it may have written).
    """

    __slots__ = ("_checkout_losses", "_excluded", "_retries")

    def __init__(self, kind: str = "select") -> None:
        """``kind``: the statement's kind (``RoutePlan.kind``); only ``"select"`` retries."""
        self._retries = 1 if kind == "select" else 0
        self._excluded: dict[str, int] = {}
        self._checkout_losses: dict[str, int] = {}

    def excluded(self, datasource: str) -> int | None:
        """The replica of ``datasource`` (its index) that placement must avoid, None: any."""
        return self._excluded.get(datasource)

    def replicas_exhausted(self, datasource: str) -> bool:
        """True once two replicas of ``datasource`` failed at checkout: read its primary."""
        return self._checkout_losses.get(datasource, 0) >= _CHECKOUT_LOSSES

    def checkout_failed(self, datasource: str, index: int) -> None:
        """Replica ``index`` of ``datasource`` was unreachable before the statement was sent
        to it: place the datasource again (``place_read`` with these attempts)."""
        self._excluded[datasource] = index
        self._checkout_losses[datasource] = self._checkout_losses.get(datasource, 0) + 1

    def failed(self, error: BaseException, lost: Mapping[str, int]) -> RetryRead | GiveUp:
        """What to do after an attempt raised ``error`` while running, having lost the
        replicas ``lost`` (datasource → index; already reported out of service)."""
        if not lost or not isinstance(error, Error) or self._retries <= 0:
            return GiveUp(error)
        self._retries -= 1
        self._excluded.update(lost)
        return RetryRead(dict(self._excluded))

    def __repr__(self) -> str:
        excluded = ", ".join(f"{n}/replica{i}" for n, i in self._excluded.items()) or "none"
        return f"<ReadAttempts retries left: {self._retries}, excluded: {excluded}>"


# Replicas of one datasource a statement may fail to check out before it reads the primary.
_CHECKOUT_LOSSES = 2


__all__ = [
    "GiveUp",
    "PrimaryReason",
    "ReadAttempts",
    "ReadPlacement",
    "ReplicaChooser",
    "RetryRead",
    "place_read",
    "replica_lost",
]
