"""Value normalisation for row comparison, and the progress file's encoding of keys."""

from __future__ import annotations

import datetime
import decimal
import uuid

import pytest

from tenantdb.core.verify import canonical, decode_key, decode_value, encode_key, encode_value

D = decimal.Decimal
PLUS_ONE = datetime.timezone(datetime.timedelta(hours=1))


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (D("9.50"), 9.5),  # NUMERIC on one copy, float on the other
        (D("9.5"), D("9.500")),
        (0.1, D("0.1")),
        (1, D("1.0")),
        (True, 1),
        ("é", "é".encode()),  # text and the same UTF-8 bytes
        (uuid.UUID(int=5), str(uuid.UUID(int=5))),
        (
            datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC),
            datetime.datetime(2026, 1, 1, 13, tzinfo=PLUS_ONE),
        ),
        ({"b": 1, "a": [1, 2]}, {"a": [1, 2], "b": 1}),
        (float("nan"), D("NaN")),
    ],
)
def test_equal_as_typed_values(left: object, right: object) -> None:
    assert canonical(left) == canonical(right)
    assert hash(canonical(left)) == hash(canonical(right))


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (None, ""),  # NULL is not an empty string
        ("a", "A"),  # a case-insensitive collation would call these equal
        ("a", "a "),  # a PAD SPACE collation would too
        ("1", 1),
        (D("9.51"), 9.5),
        (
            datetime.datetime(2026, 1, 1, 12),
            datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC),
        ),
        (datetime.date(2026, 1, 1), "2026-01-01"),
    ],
)
def test_different_values_stay_different(left: object, right: object) -> None:
    assert canonical(left) != canonical(right)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        7,
        "x",
        1.25,
        D("10.50"),
        b"\x00\xff",
        uuid.UUID(int=9),
        datetime.date(2026, 2, 3),
        datetime.datetime(2026, 2, 3, 4, 5, 6, 7),
        datetime.time(1, 2, 3),
    ],
)
def test_key_values_survive_the_progress_file(value: object) -> None:
    decoded = decode_value(encode_value(value))
    assert decoded == value
    assert type(decoded) is type(value)


def test_keys_round_trip_and_unknown_types_are_refused() -> None:
    assert decode_key(encode_key(("a", 1))) == ("a", 1)
    with pytest.raises(TypeError, match="value of type object cannot be recorded"):
        encode_value(object())
    with pytest.raises(ValueError, match="not a recorded primary-key value"):
        decode_value({"mystery": 1})
