"""A move's phases: the one order a move takes, where an abort may start, and that a
state read back from the log can only go on the way the log allows. Pure."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantdb.core.moves import (
    ABORTABLE,
    FINISHED,
    PHASES,
    MovedTable,
    MoveState,
    Phase,
    state_from_record,
    state_to_record,
)

ALL_PHASES: tuple[Phase, ...] = (*PHASES, "aborting", "aborted")


def fresh() -> MoveState:
    return MoveState(
        move_id="m1",
        tenant="acme",
        source="ds0",
        target="ds1",
        tables=(MovedTable(source="orders", target="orders", key=("id",)),),
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
        elif phase == "catching_up" and before in ("verifying", "frozen"):
            pass  # differences left to catch up, or an abandoned freeze
        else:
            assert PHASES.index(phase) == PHASES.index(before) + 1
        assert before not in FINISHED


def test_a_table_cursor_is_replaced_not_mutated() -> None:
    state = fresh()
    moved = state.with_table(
        0, MovedTable("orders", "orders", ("id",), after=(10,), copied_rows=10)
    )
    assert state.tables[0].after is None
    assert moved.tables[0].after == (10,)


KEY_VALUES = st.one_of(
    st.none(),
    st.integers(),
    st.text(),
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(),
    st.datetimes(),
    st.uuids(),
    st.binary(max_size=16),
)


@given(st.lists(st.tuples(KEY_VALUES, KEY_VALUES), max_size=4), st.sampled_from(ALL_PHASES))
def test_a_state_survives_its_log_record(keys: list[tuple[object, object]], phase: Phase) -> None:
    state = MoveState(
        move_id="m1",
        tenant="acme",
        source="ds0",
        target="ds1",
        phase=phase,
        tables=tuple(
            MovedTable(
                f"t{n}",
                f"t{n}",
                ("a", "b"),
                columns=("a", "b", "note"),
                target_schema="s" if n else None,
                after=key,
                copied_rows=n,
                done=n % 2 == 0,
                applied=n * 10,
                verified_from=n,
            )
            for n, key in enumerate(keys)
        ),
        tenant_column="tenant_id",
        history=(("capturing", 1.5),),
    )
    record = json.loads(json.dumps(state_to_record(state)))  # as the log stores it
    again = state_from_record(record)
    assert again == state
    for before, after in zip(state.tables, again.tables, strict=True):
        assert [type(v) for v in before.after or ()] == [type(v) for v in after.after or ()]


def test_a_record_of_another_format_or_shape_is_refused_with_what_to_do() -> None:
    record = state_to_record(fresh())
    with pytest.raises(ValueError, match="written by another tenantdb version"):
        state_from_record({**record, "format": 99})
    with pytest.raises(ValueError, match="unknown phase 'teleporting'"):
        state_from_record({**record, "phase": "teleporting"})
    with pytest.raises(ValueError, match="malformed move log record"):
        state_from_record({k: v for k, v in record.items() if k != "tables"})


def test_a_key_of_an_unrecordable_type_is_refused() -> None:
    table = MovedTable("t", "t", ("k",), after=(object(),))
    with pytest.raises(TypeError, match="cannot be recorded"):
        state_to_record(MoveState("m", "t", "a", "b", tables=(table,)))


def test_a_schema_tenants_move_survives_its_log_record() -> None:
    table = MovedTable(
        "orders",
        "orders",
        ("id",),
        columns=("id", "note"),
        source_schema="acme",
        target_schema="acme_2",
        create=('CREATE TABLE "orders" ("id" integer NOT NULL)', "CREATE INDEX i ON orders (id)"),
    )
    state = MoveState(
        "m1",
        "acme",
        "ds0",
        "ds1",
        tables=(table,),
        isolation="schema",
        source_schema="acme",
        target_schema="acme_2",
        creates_schema=True,
    )
    again = state_from_record(json.loads(json.dumps(state_to_record(state))))
    assert again == state
    assert again.tables[0].created_by_move
    assert not MovedTable("t", "t", ("id",)).created_by_move


_NEW_FIELDS = ("isolation", "source_schema", "target_schema", "creates_schema")


def test_a_record_of_format_1_is_a_shared_tenants_move() -> None:
    """Logs written before other isolations moved have no isolation and no target
    definitions: a move in flight across the upgrade goes on as the shared move it is."""
    record = state_to_record(fresh())
    old = {k: v for k, v in record.items() if k not in _NEW_FIELDS}
    old["tables"] = [{k: v for k, v in t.items() if k != "create"} for t in record["tables"]]
    old["format"] = 1
    state = state_from_record(old)
    assert state == fresh()
    assert (state.isolation, state.creates_schema, state.tables[0].create) == ("shared", False, ())


def test_an_unknown_isolation_is_refused() -> None:
    record = state_to_record(fresh())
    with pytest.raises(ValueError, match="unknown isolation 'galaxy'"):
        state_from_record({**record, "isolation": "galaxy"})
