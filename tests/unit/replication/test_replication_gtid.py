"""MariaDB GTID positions: parsing, the per-domain order, tokens and replica choice."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantdb.core.replication import (
    GtidPosition,
    ReplicaSelector,
    ReplicaState,
    decode_token,
    encode_token,
    later,
    merge_positions,
    position_text,
    reached,
    write_gtid,
)
from tenantdb.core.session import WritePositions
from tenantdb.errors import ProgrammingError

gtids = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, (1 << 32) - 1), st.integers(0, (1 << 64) - 1)),
    max_size=4,
)


def gtid(text: str) -> GtidPosition:
    return GtidPosition.parse(text)


@pytest.mark.parametrize(
    ("text", "sequences", "canonical"),
    [
        ("0-1-42", {0: 42}, "0-1-42"),
        ("1-3-7,0-1-42", {0: 42, 1: 7}, "0-1-42,1-3-7"),
        ("0-1-42, 1-3-7", {0: 42, 1: 7}, "0-1-42,1-3-7"),
        ("", {}, ""),
        ("4294967295-4294967295-18446744073709551615", {(1 << 32) - 1: (1 << 64) - 1}, None),
    ],
)
def test_parse_reads_what_mariadb_shows(
    text: str, sequences: dict[int, int], canonical: str | None
) -> None:
    position = gtid(text)
    assert position.sequences == sequences
    assert str(position) == (text if canonical is None else canonical)
    assert bool(position) == bool(sequences)


@pytest.mark.parametrize(
    "text",
    ["0-1", "0-1-2-3", "a-1-2", "0-1-2,", "-1-1-2", "0-1-2 0-1-3", "0-1-2,0-2-3", "4294967296-1-1"],
)
def test_parse_refuses_malformed_text(text: str) -> None:
    with pytest.raises(ValueError, match="MariaDB GTID"):
        gtid(text)


def test_parse_refuses_non_text() -> None:
    with pytest.raises(ValueError, match="expected a string"):
        GtidPosition.parse(42)  # type: ignore[arg-type]


def test_reached_compares_each_domain_of_the_write() -> None:
    replica = gtid("0-1-10,1-2-5")
    assert replica.reached(gtid("0-1-10"))
    assert replica.reached(gtid("0-1-9,1-2-5"))
    assert replica.reached(GtidPosition())
    assert not replica.reached(gtid("0-1-11"))
    assert not replica.reached(gtid("1-2-6"))
    assert not replica.reached(gtid("2-1-1"))  # a domain the replica has never applied
    # Server ids play no part: a failover changes them, not the order within a domain.
    assert replica.reached(gtid("0-7-10"))


def test_merged_keeps_the_later_gtid_of_each_domain() -> None:
    merged = gtid("0-1-10,1-2-5").merged(gtid("0-1-8,1-2-9,2-3-1"))
    assert str(merged) == "0-1-10,1-2-9,2-3-1"
    assert merged == gtid("2-3-1,1-2-9,0-1-10")
    assert hash(merged) == hash(gtid("2-3-1,1-2-9,0-1-10"))


@given(gtids, gtids)
def test_a_merge_reaches_both_and_text_round_trips(
    a: list[tuple[int, int, int]], b: list[tuple[int, int, int]]
) -> None:
    x, y = GtidPosition(a), GtidPosition(b)
    merged = x.merged(y)
    assert merged.reached(x)
    assert merged.reached(y)
    assert GtidPosition.parse(str(merged)) == merged


@pytest.mark.parametrize(
    ("last_gtid", "binlog_pos", "expected"),
    [
        ("0-1-42", "0-1-50,1-1-3", "0-1-42"),  # the session's own transaction, exactly
        (b"0-1-42", b"0-1-50", "0-1-42"),  # as bytes, as some drivers return variables
        ("", "0-1-50,1-1-3", "0-1-50,1-1-3"),  # nothing logged on this connection yet
        ("", "", None),  # no binary log: unknown, so the primary
        (None, None, None),
        ("garbage", "0-1-50", None),
    ],
)
def test_write_gtid(last_gtid: object, binlog_pos: object, expected: str | None) -> None:
    position = write_gtid(last_gtid, binlog_pos)
    assert (None if position is None else str(position)) == expected


def test_reached_and_later_never_mix_lsns_and_gtids() -> None:
    assert reached(10, 10)
    assert not reached(9, 10)
    assert not reached(None, 10)
    assert reached(gtid("0-1-5"), gtid("0-1-5"))
    assert not reached(gtid("0-1-4"), gtid("0-1-5"))
    # A token from a datasource of another kind: no replica qualifies, the primary does.
    assert not reached(gtid("0-1-5"), 5)
    assert not reached(5, gtid("0-1-5"))
    assert later(3, 5) == 5
    assert later(gtid("0-1-5"), gtid("0-1-3,1-1-1")) == gtid("0-1-5,1-1-1")
    assert later(gtid("0-1-5"), 5) is None
    assert later(5, gtid("0-1-5")) is None
    assert later(None, gtid("0-1-5")) is None


def test_tokens_carry_gtid_positions() -> None:
    positions = {"pg": 123, "maria": gtid("0-1-42,1-2-7"), "other": None}
    token = encode_token(positions)
    assert decode_token(token) == positions
    assert WritePositions.from_token(token).at_least("maria") == gtid("0-1-42,1-2-7")
    merged = merge_positions(decode_token(token), {"maria": gtid("1-2-9")})
    assert merged["maria"] == gtid("0-1-42,1-2-9")


def test_tokens_refuse_empty_and_malformed_gtids() -> None:
    with pytest.raises(ValueError, match="cannot encode position"):
        encode_token({"maria": GtidPosition()})
    for text in ('""', '"0-1"', '"0-1-2,0-1-3"', '"0-1-2,"'):
        payload = base64.urlsafe_b64encode(('{"maria":' + text + "}").encode()).rstrip(b"=")
        with pytest.raises(ProgrammingError, match="bad position"):
            decode_token("tdb1." + payload.decode("ascii"))


def test_selector_sends_a_read_after_a_write_only_to_a_replica_that_applied_it() -> None:
    behind = ReplicaState(index=0, name="ds/replica0", replayed=gtid("0-1-41"))
    ahead = ReplicaState(index=1, name="ds/replica1", replayed=gtid("0-1-42,1-1-1"))
    unknown = ReplicaState(index=2, name="ds/replica2")
    selector = ReplicaSelector([behind, ahead, unknown])
    wrote = gtid("0-1-42")
    assert {selector.choose(wrote) for _ in range(6)} == {ahead}
    assert selector.choose(gtid("1-1-2")) is None
    assert {selector.choose() for _ in range(6)} == {behind, ahead, unknown}
    assert position_text(ahead.replayed) == "0-1-42,1-1-1"  # type: ignore[arg-type]
    assert ahead.snapshot()["replayed"] == "0-1-42,1-1-1"
    assert "replayed 0-1-42,1-1-1" in repr(ahead)
