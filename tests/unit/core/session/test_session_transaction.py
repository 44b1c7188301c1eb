"""The transaction's decisions, pure: BEGIN once, commit order, failed commits, lost
connections."""

from __future__ import annotations

import pickle

import pytest

from tenantdb.core.session import CommitFailure, TransactionState, lost_connection_error
from tenantdb.errors import DatabaseError, OperationalError, PartialCommitError


def transaction(begun: list[str], wrote: list[str]) -> TransactionState:
    state = TransactionState()
    for name in begun:
        assert state.needs_begin(name)
        state.began(name)
    state.wrote_on(wrote)
    return state


def test_a_datasource_needs_begin_once_in_order_of_first_use() -> None:
    state = TransactionState()
    assert state.needs_begin("ds1")
    state.began("ds1")
    assert not state.needs_begin("ds1")
    state.began("ds0")
    state.began("ds1")  # a repeated report changes nothing
    assert state.begun == ("ds1", "ds0")


def test_readers_commit_first_and_writers_last_each_in_order_of_first_use() -> None:
    state = transaction(["w1", "r1", "w2", "r2"], wrote=["w2", "w1"])
    assert state.commit_order() == ("r1", "r2", "w1", "w2")
    assert state.writers() == ("w1", "w2")


def test_a_write_on_a_datasource_that_never_began_does_not_reach_the_order() -> None:
    # DDL outside a transaction runs without BEGIN: only joined datasources commit.
    state = transaction(["ds0"], wrote=["ds0", "ds9"])
    assert state.commit_order() == ("ds0",)
    assert state.writers() == ("ds0",)


def test_a_failed_commit_on_the_first_writer_is_not_partial() -> None:
    state = transaction(["r", "w1", "w2"], wrote=["w1", "w2"])
    failure = state.commit_failed(1)  # r committed (a reader), w1 failed
    assert failure == CommitFailure(failed="w1", durable=(), rolled_back=("w2",))
    assert not failure.partial
    assert failure.roll_back == ("w1", "w2")
    assert failure.error(OperationalError("gone", datasource="w1")) is None


def test_a_failed_commit_after_a_writer_committed_is_partial() -> None:
    state = transaction(["r", "w1", "w2", "w3"], wrote=["w1", "w2", "w3"])
    failure = state.commit_failed(2)
    assert failure.durable == ("w1",)
    assert failure.rolled_back == ("w3",)
    assert failure.roll_back == ("w2", "w3")
    cause = OperationalError("server closed the connection", datasource="w2")
    error = failure.error(cause)
    assert isinstance(error, PartialCommitError)
    assert (error.committed, error.failed, error.rolled_back) == (("w1",), ("w2",), ("w3",))
    assert (error.datasource, error.role, error.orig) == ("w2", "primary", cause)
    assert str(error) == (
        "partial commit: committed on w1; commit failed on w2 (server closed the connection)"
        "; rolled back on w3. The committed changes are durable: reconcile them in the "
        "application"
    )
    assert pickle.loads(pickle.dumps(error)).committed == ("w1",)


def test_a_failed_last_commit_rolls_back_only_itself_and_keeps_the_drivers_error() -> None:
    state = transaction(["w1", "w2"], wrote=["w1", "w2"])
    failure = state.commit_failed(1)
    assert failure.roll_back == ("w2",)
    driver_error = ValueError("driver")
    cause = OperationalError("refused", datasource="w2", orig=driver_error)
    error = failure.error(cause)
    assert error is not None
    assert error.orig is driver_error
    assert str(error).endswith(
        "commit failed on w2 (refused). The committed changes are durable: reconcile them "
        "in the application"
    )


def test_a_commit_position_outside_the_order_is_refused() -> None:
    state = transaction(["ds0"], wrote=[])
    with pytest.raises(IndexError, match="commit position 1 outside an order of 1"):
        state.commit_failed(1)


def test_a_connection_lost_after_begin_loses_the_transaction() -> None:
    state = transaction(["ds0", "ds1"], wrote=["ds1"])
    assert state.refusal() is None
    assert state.connection_broke("ds1")
    assert state.lost == "ds1"
    refusal = state.refusal()
    assert isinstance(refusal, DatabaseError)
    assert (refusal.datasource, refusal.role) == ("ds1", "primary")
    assert "roll back and retry the transaction" in str(refusal)


def test_a_connection_lost_before_begin_is_only_replaced() -> None:
    state = transaction(["ds0"], wrote=[])
    assert not state.connection_broke("ds1")
    assert state.lost is None
    assert state.refusal() is None


def test_the_lost_error_says_whether_everything_was_rolled_back() -> None:
    during = lost_connection_error("ds2")
    at_commit = lost_connection_error("ds2", rolled_back=True)
    assert str(during) == (
        "the connection to ds2 was lost during the transaction, so its changes there are "
        "gone; roll back and retry the transaction"
    )
    assert str(at_commit).endswith("gone; everything was rolled back")


def test_repr_shows_what_began_wrote_and_was_lost() -> None:
    state = transaction(["ds0", "ds1"], wrote=["ds1"])
    state.connection_broke("ds0")
    assert repr(state) == "<TransactionState begun: ds0, ds1* (* wrote) lost ds0>"
    assert repr(TransactionState()) == "<TransactionState begun: none (* wrote)>"
