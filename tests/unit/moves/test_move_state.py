"""A move's phases: the one order a move takes, where an abort may start, and that a
state read back from the log can only go on the way the log allows. Pure."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantdb.core.moves import ABORTABLE, FINISHED, PHASES, MoveState, Phase, TableCopy

ALL_PHASES: tuple[Phase, ...] = (*PHASES, "aborting", "aborted")


def fresh() -> MoveState:
    return MoveState(
        move_id="m1",
        tenant="acme",
        source="ds0",
        target="ds1",
        tables=(TableCopy(source="orders", target="orders", key=("id",)),),
    )


def test_a_move_runs_through_its_phases_in_order_and_records_each() -> None:
    state = fresh()
    for n, phase in enumerate(PHASES[1:], start=1):
        state = state.entering(phase, now=float(n))
    assert state.phase == "done"
    assert state.finished
    assert [phase for phase, _ in state.history] == list(PHASES[1:])
    assert [at for _, at in state.history] == [float(n) for n in range(1, len(PHASES))]


def test_a_phase_cannot_be_skipped() -> None:
    with pytest.raises(ValueError, match="cannot go from planned to copying"):
        fresh().entering("copying", now=1.0)


def test_an_abandoned_freeze_goes_back_to_catching_up() -> None:
    state = fresh()
    for phase in ("capturing", "copying", "catching_up", "verifying", "frozen"):
        state = state.entering(phase, now=0.0)
    assert state.entering("catching_up", now=1.0).phase == "catching_up"


@pytest.mark.parametrize("phase", ["cut_over", "cleaning", "done", "aborted"])
def test_no_abort_once_the_target_is_authoritative_or_the_move_ended(phase: Phase) -> None:
    state = MoveState(move_id="m", tenant="t", source="a", target="b", phase=phase)
    assert not state.abortable
    with pytest.raises(ValueError, match=f"cannot go from {phase} to aborting"):
        state.entering("aborting", now=0.0)


@given(st.lists(st.sampled_from(ALL_PHASES), max_size=30))
def test_any_sequence_of_requests_keeps_to_the_allowed_order(requests: list[Phase]) -> None:
    state = fresh()
    for phase in requests:
        try:
            after = state.entering(phase, now=0.0)
        except ValueError:
            continue
        before = state.phase
        state = after
        if phase == "aborting":
            assert before in ABORTABLE  # the source was still authoritative
        elif phase == "aborted":
            assert before == "aborting"
        elif phase == "catching_up" and before == "frozen":
            pass  # an abandoned freeze
        else:
            assert PHASES.index(phase) == PHASES.index(before) + 1
        assert before not in FINISHED


def test_a_table_cursor_is_replaced_not_mutated() -> None:
    state = fresh()
    moved = state.with_table(0, TableCopy("orders", "orders", ("id",), after=(10,), copied_rows=10))
    assert state.tables[0].after is None
    assert moved.tables[0].after == (10,)
