"""An open transaction's state, and what each event in its life means for the I/O shell.

The session sends BEGIN, statements, COMMIT and ROLLBACK; this object only records what was
done (which datasources joined, which wrote, which lost its connection) and answers what to
do next: whether a datasource still needs BEGIN, the order to commit in, and what a failed
commit or a lost connection leaves behind. tenantdb runs no two-phase commit: datasources
commit one after another, readers first, so that only writers can disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ...errors import DatabaseError, Error, PartialCommitError


@dataclass(frozen=True, slots=True)
class CommitFailure:
    """What a failed COMMIT on ``failed`` means, given the ones committed before it.

    ``durable``: the writers that committed before it (their changes stay; the application
    must reconcile them); ``rolled_back``: the datasources after it, not committed, to roll
    back. ``roll_back`` is what the shell rolls back: ``failed`` too, since a failed COMMIT
    may leave its transaction open (SQLite does).
    """

    failed: str
    durable: tuple[str, ...]
    rolled_back: tuple[str, ...]

    @property
    def roll_back(self) -> tuple[str, ...]:
        return (self.failed, *self.rolled_back)

    @property
    def partial(self) -> bool:
        """True when some writes are durable: the transaction committed partially."""
        return bool(self.durable)

    def error(self, cause: Error) -> PartialCommitError | None:
        """The PartialCommitError to raise for ``cause`` (the COMMIT's own error), or None
        when nothing written is durable: then ``cause`` itself is the right error."""
        if not self.partial:
            return None
        rest = f"; rolled back on {', '.join(self.rolled_back)}" if self.rolled_back else ""
        return PartialCommitError(
            f"partial commit: committed on {', '.join(self.durable)}; commit failed on "
            f"{self.failed} ({cause.message}){rest}. The committed changes are durable: "
            "reconcile them in the application",
            committed=self.durable,
            failed=[self.failed],
            rolled_back=self.rolled_back,
            datasource=self.failed,
            role="primary",
            orig=cause.orig or cause,
        )


class TransactionState:
    """Bookkeeping of one open transaction (mutable; owned by one session).

    Datasources join on first use (``needs_begin`` → the shell sends BEGIN → ``began``), in
    that order. A datasource whose connection breaks after joining loses the transaction's
    work there (``connection_broke``): from then on every statement and the commit are
    refused, and the commit rolls back everywhere.
    """

    __slots__ = ("_begun", "_wrote", "lost")

    def __init__(self) -> None:
        self._begun: list[str] = []
        self._wrote: set[str] = set()
        self.lost: str | None = None
        """A datasource whose connection broke inside the transaction: commit must fail."""

    @property
    def begun(self) -> tuple[str, ...]:
        """Datasources with BEGIN sent, in order of first use."""
        return tuple(self._begun)

    def needs_begin(self, datasource: str) -> bool:
        """True when ``datasource`` has not joined yet: send BEGIN, then call ``began``."""
        return datasource not in self._begun

    def began(self, datasource: str) -> None:
        """Record that BEGIN succeeded on ``datasource``."""
        if datasource not in self._begun:
            self._begun.append(datasource)

    def wrote_on(self, datasources: Iterable[str]) -> None:
        """Record that statements that may write ran on ``datasources``."""
        self._wrote.update(datasources)

    def writers(self) -> tuple[str, ...]:
        """The datasources that wrote, in order of first use."""
        return tuple(name for name in self._begun if name in self._wrote)

    def connection_broke(self, datasource: str) -> bool:
        """Record that the connection to ``datasource`` broke; True when the transaction
        had joined it, so its work there is gone (raise ``lost_connection_error``). A
        connection that broke before joining is simply replaced."""
        if datasource not in self._begun:
            return False
        self.lost = datasource
        return True

    def refusal(self) -> DatabaseError | None:
        """The error every further statement gets once a connection is lost, else None."""
        return None if self.lost is None else lost_connection_error(self.lost)

    def commit_order(self) -> tuple[str, ...]:
        """The datasources to COMMIT, in order: those that only read first (their commit
        cannot lose a write), then the writers, each group in order of first use; so only
        writers can disagree."""
        readers = [name for name in self._begun if name not in self._wrote]
        return (*readers, *self.writers())

    def commit_failed(self, at: int) -> CommitFailure:
        """What it means when COMMIT number ``at`` of ``commit_order()`` fails, the ones
        before it having succeeded. Raises IndexError for a position outside the order."""
        order = self.commit_order()
        if not 0 <= at < len(order):
            raise IndexError(f"commit position {at} outside an order of {len(order)}")
        durable = tuple(name for name in order[:at] if name in self._wrote)
        return CommitFailure(failed=order[at], durable=durable, rolled_back=order[at + 1 :])

    def __repr__(self) -> str:
        begun = ", ".join(f"{n}*" if n in self._wrote else n for n in self._begun) or "none"
        lost = f" lost {self.lost}" if self.lost is not None else ""
        return f"<TransactionState begun: {begun} (* wrote){lost}>"


def lost_connection_error(datasource: str, *, rolled_back: bool = False) -> DatabaseError:
    """The error for a transaction whose connection to ``datasource`` broke: its changes
    there are gone. ``rolled_back``: said at commit, after everything was rolled back."""
    then = "everything was rolled back" if rolled_back else "roll back and retry the transaction"
    return DatabaseError(
        f"the connection to {datasource} was lost during the transaction, so its changes "
        f"there are gone; {then}",
        datasource=datasource,
        role="primary",
    )


__all__ = ["CommitFailure", "TransactionState", "lost_connection_error"]
