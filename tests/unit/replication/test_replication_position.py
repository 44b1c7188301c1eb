"""Write positions: PostgreSQL LSN text and consistency tokens."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantdb.core.replication import (
    decode_token,
    encode_token,
    format_pg_lsn,
    merge_positions,
    parse_pg_lsn,
)
from tenantdb.errors import ProgrammingError

NOT_A_TOKEN = (
    "not a tenantdb consistency token; pass the string Session.consistency_token() returned"
)


def token_of(payload: bytes) -> str:
    return "tdb1." + base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("16/B374D848", (0x16 << 32) | 0xB374D848),
        ("0/0", 0),
        ("0/1", 1),
        ("1/0", 1 << 32),
        ("FFFFFFFF/FFFFFFFF", (1 << 64) - 1),
        ("16/b374d848", (0x16 << 32) | 0xB374D848),
    ],
)
def test_parse_pg_lsn(text: str, value: int) -> None:
    assert parse_pg_lsn(text) == value


def test_format_pg_lsn_prints_as_postgresql_does() -> None:
    assert format_pg_lsn((0x16 << 32) | 0xB374D848) == "16/B374D848"
    assert format_pg_lsn(0) == "0/0"
    assert format_pg_lsn(0xA) == "0/A"


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_lsn_round_trip(value: int) -> None:
    assert parse_pg_lsn(format_pg_lsn(value)) == value


@pytest.mark.parametrize(
    "text", ["", "16", "16/", "/B3", "G/1", "123456789/0", " 16/1", "16/1 ", "16-1", "1/2/3"]
)
def test_parse_pg_lsn_refuses_malformed_text(text: str) -> None:
    with pytest.raises(ValueError, match="malformed PostgreSQL LSN"):
        parse_pg_lsn(text)


def test_parse_pg_lsn_refuses_non_text() -> None:
    with pytest.raises(ValueError, match="malformed PostgreSQL LSN"):
        parse_pg_lsn(12)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-1, 1 << 64, True, 1.0])
def test_format_pg_lsn_refuses_non_positions(value: int) -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL LSN"):
        format_pg_lsn(value)


@pytest.mark.parametrize(
    "positions",
    [
        {},
        {"ds0": 123},
        {"ds0": None},
        {"ds0": 0, "ds1": None, "ds2": (1 << 64) - 1},
        {"shard-é": 5},
    ],
)
def test_token_round_trip(positions: dict[str, int | None]) -> None:
    token = encode_token(positions)
    assert token.startswith("tdb1.")
    assert "=" not in token
    assert all(c.isalnum() or c in "-_." for c in token)
    assert decode_token(token) == positions


def test_equal_positions_give_equal_tokens() -> None:
    assert encode_token({"a": 1, "b": 2}) == encode_token({"b": 2, "a": 1})


@given(st.dictionaries(st.text(), st.none() | st.integers(0, (1 << 64) - 1)))
def test_any_positions_round_trip(positions: dict[str, int | None]) -> None:
    assert decode_token(encode_token(positions)) == positions


@pytest.mark.parametrize(
    "positions",
    [{"ds0": -1}, {"ds0": True}, {"ds0": 1.5}, {"ds0": "1"}, {1: 1}, {"ds0": 1 << 64}],
)
def test_encode_token_refuses_what_decode_would(positions: dict[str, int | None]) -> None:
    with pytest.raises(ValueError, match="cannot encode position"):
        encode_token(positions)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "tdb1",
        "tdb2." + token_of(b"{}")[5:],
        "TDB1." + token_of(b"{}")[5:],
        "tdb1.!!!!",
        "tdb1.e30=",  # padding is not part of the format
        "tdb1.abcde",  # a length no base64 text has
        "tdb1.e3+/",  # standard, not urlsafe, alphabet
        token_of(b"\xff\xfe"),  # not UTF-8
        "tdb1.",
        token_of(b"not json"),
        token_of(b"[1]"),
        token_of(b"null"),
        token_of(b'"ds0"'),
        token_of(b'{"ds0":-1}'),
        token_of(b'{"ds0":1.0}'),
        token_of(b'{"ds0":true}'),
        token_of(b'{"ds0":"1"}'),
        token_of(b'{"ds0":[1]}'),
        token_of(b'{"ds0":NaN}'),
        token_of(b'{"ds0":1,"ds0":2}'),
        token_of(b'{"ds0":18446744073709551616}'),
        token_of(b'{"ds0":' + b"9" * 5000 + b"}"),
        token_of(b"[" * 100_000),
    ],
)
def test_decode_token_refuses_anything_malformed(token: str) -> None:
    with pytest.raises(ProgrammingError) as info:
        decode_token(token)
    assert NOT_A_TOKEN in str(info.value)


@pytest.mark.parametrize("token", [None, b"tdb1.e30", 12])
def test_decode_token_refuses_non_text(token: object) -> None:
    with pytest.raises(ProgrammingError, match="not a tenantdb consistency token"):
        decode_token(token)  # type: ignore[arg-type]


def test_merge_positions_keeps_the_later_position() -> None:
    a: dict[str, int | None] = {"ds0": 10, "ds1": 30, "ds2": None, "ds3": 5}
    b: dict[str, int | None] = {"ds0": 20, "ds1": 25, "ds2": 7, "ds4": None}
    assert merge_positions(a, b) == {"ds0": 20, "ds1": 30, "ds2": None, "ds3": 5, "ds4": None}
    assert merge_positions(b, a) == merge_positions(a, b)
    assert a == {"ds0": 10, "ds1": 30, "ds2": None, "ds3": 5}  # inputs untouched


def test_merge_positions_unknown_wins_over_known() -> None:
    assert merge_positions({"ds0": 10}, {"ds0": None}) == {"ds0": None}
    assert merge_positions({"ds0": None}, {"ds0": 10}) == {"ds0": None}
    assert merge_positions({}, {}) == {}
