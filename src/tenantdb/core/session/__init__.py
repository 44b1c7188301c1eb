"""The session's decisions, pure: what a statement leaves on its connection, the state of an
open transaction (what to BEGIN, the commit order, what a failed commit or a lost connection
means), the write positions reads must see, where a read goes and when it is retried, and
the row count a write spread over several targets reports.

The I/O shell (``Session``) acquires, executes, commits and releases; it asks these objects
what to do next, so the sync and async fronts share every decision.
"""

from __future__ import annotations

from ._positions import WritePositions
from ._reads import (
    GiveUp,
    PrimaryReason,
    ReadAttempts,
    ReadPlacement,
    ReplicaChooser,
    RetryRead,
    place_read,
    replica_lost,
)
from ._rowcount import NO_ROWCOUNT, write_rowcount
from ._state import changes_state_in_tenant_session, may_change_state
from ._transaction import CommitFailure, TransactionState, lost_connection_error

__all__ = [
    "CommitFailure",
    "GiveUp",
    "NO_ROWCOUNT",
    "PrimaryReason",
    "ReadAttempts",
    "ReadPlacement",
    "ReplicaChooser",
    "RetryRead",
    "TransactionState",
    "WritePositions",
    "changes_state_in_tenant_session",
    "lost_connection_error",
    "may_change_state",
    "place_read",
    "replica_lost",
    "write_rowcount",
]
