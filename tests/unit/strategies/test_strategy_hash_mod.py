"""HashModStrategy: shard ``zlib.crc32(str(key).encode("utf-8")) % shards``."""

from __future__ import annotations

import datetime
import enum
import uuid
import zlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantdb.core.routing.strategies import HashModStrategy
from tenantdb.errors import ConfigError, RoutingError

TODAY = datetime.date(2026, 3, 5)
ACME_UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def user_events(shards: int = 8, datasources: tuple[str, ...] = ("ds0", "ds1")) -> HashModStrategy:
    return HashModStrategy(
        table="user_events", key="user_id", shards=shards, datasources=datasources
    )


def reference_crc32(data: bytes) -> int:
    """Bitwise CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), independent of zlib."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


@pytest.mark.parametrize(
    ("value", "text", "crc", "shard"),
    [
        # Hard-coded once; a change of formula (hash, text, encoding) must fail here.
        (12345, "12345", 3421846044, 4),
        ("acme", "acme", 96778814, 6),
        (ACME_UUID, "12345678-1234-5678-1234-567812345678", 1385168713, 1),
        (-7, "-7", 3645828383, 7),
        (0, "0", 4108050209, 1),
        ("ünïcode", "ünïcode", 248075434, 2),
    ],
)
def test_pinned_placements(value: object, text: str, crc: int, shard: int) -> None:
    assert str(value) == text
    assert zlib.crc32(text.encode("utf-8")) == crc
    assert reference_crc32(text.encode("utf-8")) == crc
    assert crc % 8 == shard
    s = user_events()
    assert s.shard_for(value) == shard
    assert s.physical_table("user_events", shard) == f"user_events_{shard}"
    assert s.datasource_of(shard) == ("ds0", "ds1")[shard % 2]


def test_uuid_is_hashed_in_canonical_lowercase_form() -> None:
    upper = uuid.UUID("ABCDEF00-1234-5678-9ABC-DEF012345678")
    text = "abcdef00-1234-5678-9abc-def012345678"
    assert user_events().shard_for(upper) == zlib.crc32(text.encode()) % 8
    assert user_events().shard_for(str(upper)) == user_events().shard_for(text)
    # Without a declared key type, an upper-case UUID string would be another key in a text
    # column but the same in a uuid column: refused.
    with pytest.raises(RoutingError, match="declare key_type"):
        user_events().shard_for(text.upper())


def test_integral_decimal_hashes_like_the_int() -> None:
    s = user_events()
    assert s.shard_for(Decimal("12345")) == 4
    assert s.shard_for(Decimal("12345.00")) == 4
    assert s.shard_for(Decimal("1.2345E+4")) == 4


def test_enum_subclasses_hash_as_their_plain_value() -> None:
    class Code(enum.IntEnum):
        ACME = 12345

    class Name(enum.StrEnum):
        ACME = "acme"

    assert user_events().shard_for(Code.ACME) == 4
    assert user_events().shard_for(Name.ACME) == 6


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "user_events.user_id = NULL places no shard"),
        (
            True,
            "user_events.user_id has type bool; hash_mod sharding needs an int, str or UUID key",
        ),
        (
            1.0,
            "user_events.user_id has type float; hash_mod sharding needs an int, str or UUID key",
        ),
        (
            b"acme",
            "user_events.user_id has type bytes; hash_mod sharding needs an int, str or UUID",
        ),
        (Decimal("1.5"), "user_events.user_id is a non-integral Decimal"),
        (datetime.date(2026, 1, 1), "user_events.user_id has type date; hash_mod sharding needs"),
        (object(), "user_events.user_id has type object; hash_mod sharding needs"),
        ("\ud800", "user_events.user_id is a string that is not valid Unicode"),
    ],
)
def test_refuses_values_without_a_stable_text(value: object, message: str) -> None:
    with pytest.raises(RoutingError) as info:
        user_events().shard_for(value)
    assert str(info.value).startswith(message)


def test_float_refusal_says_why() -> None:
    with pytest.raises(RoutingError, match=r"str\(1\.0\) and str\(1\) differ"):
        user_events().shard_for(1.0)


def test_ranges_are_not_pruned_and_every_shard_exists() -> None:
    assert user_events().shards_for_range(1, True, 2, True, today=TODAY) is None
    assert user_events().all_shards(TODAY) == tuple(range(8))


def test_invalid_parameters() -> None:
    with pytest.raises(ConfigError, match=r"tables\.user_events\.shards: must be a positive"):
        user_events(shards=-1)
    with pytest.raises(ConfigError, match="must name at least one datasource"):
        user_events(datasources=())


def test_colocation_key_differs_from_mod() -> None:
    from tenantdb.core.routing.strategies import ModStrategy

    mod = ModStrategy(table="user_events", key="user_id", shards=8, datasources=["ds0", "ds1"])
    assert user_events().colocation_key != mod.colocation_key
    assert user_events().colocation_key == user_events().colocation_key
    assert user_events().colocation_key != user_events(shards=16).colocation_key


def test_repr_shows_state() -> None:
    assert repr(user_events()) == (
        "HashModStrategy(table='user_events', key='user_id', shards=8, datasources=('ds0', 'ds1'), "
        "key_type=None, backend=None)"
    )


keys = st.one_of(
    st.integers(min_value=-(2**100), max_value=2**100),
    st.text(max_size=40),
    st.uuids(),
)


@settings(max_examples=300, deadline=None)
@given(value=keys, shards=st.integers(min_value=1, max_value=128))
def test_placement_formula(value: int | str | uuid.UUID, shards: int) -> None:
    # Declared text keys are hashed verbatim; ints and UUIDs in their canonical text.
    key_type = "text" if isinstance(value, str) else None
    s = HashModStrategy(
        table="user_events",
        key="user_id",
        shards=shards,
        datasources=("ds0", "ds1"),
        key_type=key_type,
    )
    expected = zlib.crc32(str(value).encode("utf-8")) % shards
    assert s.shard_for(value) == expected
    assert s.datasource_of(expected) == ("ds0", "ds1")[expected % 2]
