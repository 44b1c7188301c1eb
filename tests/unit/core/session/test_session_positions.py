"""A session's write positions (read-your-writes): merge, unknown positions, tokens."""

from __future__ import annotations

import pytest

from tenantdb.core.session import WritePositions
from tenantdb.errors import ProgrammingError


def test_no_token_means_nothing_to_wait_for() -> None:
    positions = WritePositions.from_token(None)
    assert positions.as_dict() == {}
    assert positions.at_least("ds0") is None
    assert not positions.unknown("ds0")


def test_a_write_is_remembered_and_positions_only_grow() -> None:
    positions = WritePositions().after_write("ds0", 200)
    assert positions.at_least("ds0") == 200
    assert positions.after_write("ds0", 100).at_least("ds0") == 200
    assert positions.after_write("ds0", 300).at_least("ds0") == 300


def test_an_unknown_position_wins_and_sends_reads_to_the_primary() -> None:
    positions = WritePositions({"ds0": 200}).after_write("ds0", None)
    assert positions.unknown("ds0")
    assert positions.at_least("ds0") is None
    assert positions.after_write("ds0", 500).unknown("ds0")
    assert not positions.unknown("ds1")


def test_after_write_leaves_the_original_unchanged() -> None:
    before = WritePositions({"ds0": 1})
    after = before.after_write("ds1", 2)
    assert before.as_dict() == {"ds0": 1}
    assert after.as_dict() == {"ds0": 1, "ds1": 2}


def test_merged_keeps_the_later_position_per_datasource() -> None:
    a = WritePositions({"ds0": 10, "ds1": 30, "ds2": None})
    b = WritePositions({"ds0": 20, "ds1": 5, "ds3": 7})
    assert a.merged(b) == WritePositions({"ds0": 20, "ds1": 30, "ds2": None, "ds3": 7})
    assert a.merged(b) == b.merged(a)


@pytest.mark.parametrize(
    "positions",
    [{}, {"ds0": 0}, {"ds0": 2**64 - 1, "ds1": None}, {"b": 5, "a": 3, "c": None}],
)
def test_token_round_trip(positions: dict[str, int | None]) -> None:
    original = WritePositions(positions)
    token = original.token()
    assert token.startswith("tdb1.")
    assert WritePositions.from_token(token) == original
    # Equal positions give equal tokens, whatever order they were written in.
    assert WritePositions(dict(reversed(positions.items()))).token() == token


def test_a_foreign_token_is_refused_with_what_to_pass() -> None:
    with pytest.raises(ProgrammingError, match=r"pass the string Session.consistency_token"):
        WritePositions.from_token("session-42")


def test_a_position_that_cannot_be_encoded_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot encode position -1 of datasource 'ds0'"):
        WritePositions({"ds0": -1}).token()


def test_equality_and_repr() -> None:
    assert WritePositions({"ds0": 1}) != WritePositions({"ds0": 2})
    assert WritePositions() != {"ds0": 1}
    assert repr(WritePositions({"ds1": None, "ds0": 5})) == "<WritePositions ds0=5, ds1=None>"
    assert repr(WritePositions()) == "<WritePositions none>"
