"""Read placement and the one retry policy for replica reads, pure: replicas are
``ReplicaSelector``s over plain ``ReplicaState``s, the switch and the replica sets are dicts."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from tenantdb.core.replication import ReplicaSelector, ReplicaState
from tenantdb.core.session import (
    GiveUp,
    PrimaryReason,
    ReadAttempts,
    ReadPlacement,
    RetryRead,
    WritePositions,
    place_read,
    replica_lost,
)
from tenantdb.errors import (
    DatabaseError,
    OperationalError,
    ProgrammingError,
    ShardUnavailableError,
)


def selector(count: int = 2, *, replayed: int | None = 100, name: str = "ds0") -> ReplicaSelector:
    return ReplicaSelector(
        [ReplicaState(i, f"{name}/replica{i}", replayed=replayed) for i in range(count)]
    )


class Sets:
    """The replica sets of a cluster, counting who asked (a set starts on first use)."""

    def __init__(self, sets: Mapping[str, ReplicaSelector]) -> None:
        self.sets = dict(sets)
        self.asked: list[str] = []

    def __call__(self, name: str) -> ReplicaSelector | None:
        self.asked.append(name)
        return self.sets.get(name)


def place(
    name: str = "ds0",
    *,
    sets: Sets | None = None,
    statement_primary: bool = False,
    session_primary: bool = False,
    in_transaction: bool = False,
    switched: Mapping[str, str] | None = None,
    positions: WritePositions | None = None,
    attempts: ReadAttempts | None = None,
) -> ReadPlacement[ReplicaSelector]:
    forced = dict(switched or {})
    return place_read(
        name,
        statement_primary=statement_primary,
        session_primary=session_primary,
        in_transaction=in_transaction,
        replicas=sets if sets is not None else Sets({"ds0": selector()}),
        switched=forced.get,
        positions=positions if positions is not None else WritePositions(),
        attempts=attempts,
    )


def where(placement: ReadPlacement[ReplicaSelector]) -> str:
    if placement.replica is None:
        assert placement.replicas is None
        assert placement.reason is not None
        assert placement.on_primary
        return f"primary: {placement.reason}"
    assert placement.reason is None
    assert not placement.on_primary
    return placement.replica.name


# -- placement ---------------------------------------------------------------------------


def test_a_plain_read_goes_to_the_replicas_in_turn() -> None:
    sets = Sets({"ds0": selector(2)})
    assert [where(place(sets=sets)) for _ in range(3)] == [
        "ds0/replica0",
        "ds0/replica1",
        "ds0/replica0",
    ]
    assert place(sets=sets).replicas is sets.sets["ds0"]


@pytest.mark.parametrize(
    ("flag", "reason"),
    [
        ({"statement_primary": True}, "statement"),
        ({"session_primary": True}, "session"),
        ({"in_transaction": True}, "transaction"),
    ],
)
def test_statement_session_and_transaction_read_the_primary_without_starting_replicas(
    flag: dict[str, bool], reason: PrimaryReason
) -> None:
    sets = Sets({"ds0": selector()})
    assert where(place(sets=sets, **flag)) == f"primary: {reason}"
    assert sets.asked == [], "the replica set was started for a read that cannot use it"


def test_a_datasource_without_replicas_reads_its_primary() -> None:
    assert where(place("ds1", sets=Sets({"ds0": selector()}))) == "primary: no_replicas"


def test_the_degrade_switch_sends_reads_to_the_primary() -> None:
    switched = {"ds0": "maintenance"}
    assert where(place(switched=switched)) == "primary: switched"
    assert where(place("ds0", sets=Sets({"ds0": selector()}), switched={"ds1": "x"})) == (
        "ds0/replica0"
    )


def test_a_write_at_an_unknown_position_reads_the_primary() -> None:
    positions = WritePositions().after_write("ds0", None)
    assert where(place(positions=positions)) == "primary: unknown_position"


def test_a_write_position_needs_a_replica_that_replayed_it() -> None:
    sets = Sets({"ds0": selector(1, replayed=100)})
    assert where(place(sets=sets, positions=WritePositions({"ds0": 100}))) == "ds0/replica0"
    behind = place(sets=sets, positions=WritePositions({"ds0": 101}))
    assert where(behind) == "primary: none_eligible"
    # Another datasource's write does not hold this one back.
    assert where(place(sets=sets, positions=WritePositions({"ds1": 10**9}))) == "ds0/replica0"


def test_no_serving_replica_reads_the_primary() -> None:
    replicas = selector(2)
    for state in replicas.replicas:
        state.state = "down"
    assert where(place(sets=Sets({"ds0": replicas}))) == "primary: none_eligible"


def test_the_reasons_are_checked_in_their_documented_order() -> None:
    everything = {
        "statement_primary": True,
        "session_primary": True,
        "in_transaction": True,
    }
    assert where(place(**everything)) == "primary: statement"
    unknown = WritePositions().after_write("ds0", None)
    assert where(place(switched={"ds0": "x"}, positions=unknown)) == "primary: switched"


def test_placement_avoids_the_replica_a_retry_excludes() -> None:
    sets = Sets({"ds0": selector(2)})
    attempts = ReadAttempts()
    attempts.checkout_failed("ds0", 0)
    assert [where(place(sets=sets, attempts=attempts)) for _ in range(3)] == ["ds0/replica1"] * 3


def test_two_replicas_lost_at_checkout_send_the_datasource_to_its_primary() -> None:
    sets = Sets({"ds0": selector(3), "ds1": selector(3, name="ds1")})
    attempts = ReadAttempts()
    attempts.checkout_failed("ds0", 0)
    assert where(place(sets=sets, attempts=attempts)) != "primary: replicas_lost"
    attempts.checkout_failed("ds0", 1)
    assert where(place(sets=sets, attempts=attempts)) == "primary: replicas_lost"
    assert where(place("ds1", sets=sets, attempts=attempts)) == "ds1/replica0"


def test_placements_on_the_primary_are_shared() -> None:
    assert place(in_transaction=True) is place(in_transaction=True)


# -- what a replica's error means -----------------------------------------------------------


def test_a_broken_connection_or_an_unreachable_server_loses_the_replica() -> None:
    refused = ShardUnavailableError("connection refused", datasource="ds0", role="replica")
    assert replica_lost(refused, broken=False)
    assert replica_lost(OperationalError("server closed the connection"), broken=True)


def test_a_statement_error_on_a_live_connection_keeps_the_replica() -> None:
    assert not replica_lost(ProgrammingError("syntax error"), broken=False)
    assert not replica_lost(OperationalError("canceling statement"), broken=False)


# -- the retry policy ------------------------------------------------------------------------


def dropped(name: str = "ds0") -> DatabaseError:
    return OperationalError(f"{name}: server closed the connection", datasource=name)


def test_a_replica_dropped_once_is_retried_elsewhere() -> None:
    attempts = ReadAttempts("select")
    step = attempts.failed(dropped(), {"ds0": 1})
    assert step == RetryRead({"ds0": 1})
    assert attempts.excluded("ds0") == 1
    assert attempts.excluded("ds1") is None


def test_a_second_drop_gives_up_with_the_error_of_that_attempt() -> None:
    attempts = ReadAttempts("select")
    first, second = dropped("ds0"), dropped("ds1")
    assert isinstance(attempts.failed(first, {"ds0": 0}), RetryRead)
    step = attempts.failed(second, {"ds1": 0})
    assert isinstance(step, GiveUp)
    assert step.error is second
    # Both replicas stay excluded: the policy does not forget a replica it lost.
    assert (attempts.excluded("ds0"), attempts.excluded("ds1")) == (0, None)


def test_a_scatter_attempt_that_lost_several_replicas_excludes_them_all() -> None:
    attempts = ReadAttempts()
    step = attempts.failed(dropped(), {"ds0": 0, "ds2": 1})
    assert step == RetryRead({"ds0": 0, "ds2": 1})


def test_an_error_that_lost_no_replica_gives_up_at_once() -> None:
    attempts = ReadAttempts()
    error = ProgrammingError("syntax error")
    assert attempts.failed(error, {}) == GiveUp(error)
    # ... and does not use up the retry.
    assert isinstance(attempts.failed(dropped(), {"ds0": 0}), RetryRead)


def test_a_non_database_error_is_never_retried() -> None:
    bug = KeyError("x")
    assert ReadAttempts().failed(bug, {"ds0": 0}) == GiveUp(bug)


@pytest.mark.parametrize("kind", ["insert", "update", "delete", "ddl", "other"])
def test_a_write_is_never_retried(kind: str) -> None:
    error = dropped()
    assert ReadAttempts(kind).failed(error, {"ds0": 0}) == GiveUp(error)


def test_a_checkout_failure_does_not_use_up_the_retry() -> None:
    attempts = ReadAttempts()
    attempts.checkout_failed("ds0", 0)
    attempts.checkout_failed("ds1", 0)
    assert isinstance(attempts.failed(dropped(), {"ds2": 0}), RetryRead)
    assert repr(attempts) == (
        "<ReadAttempts retries left: 0, excluded: ds0/replica0, ds1/replica0, ds2/replica0>"
    )
