"""Key values are placed as the database compares them (declared key type, backend rules)."""

from __future__ import annotations

import datetime
import uuid
import zlib

import pytest

from tenantdb.core.routing.strategies import (
    ConsistentHashStrategy,
    HashModStrategy,
    ModStrategy,
    RangeStrategy,
    TimeRangeStrategy,
)
from tenantdb.errors import RoutingError

TODAY = datetime.date(2025, 6, 1)
BACKENDS = ("postgres", "mysql", "sqlite")
U = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"


def hashed(key_type: str | None, backend: str | None = "postgres") -> HashModStrategy:
    return HashModStrategy(
        table="h",
        key="k",
        shards=4,
        datasources=("ds0", "ds1"),
        key_type=key_type,  # type: ignore[arg-type]
        backend=backend,  # type: ignore[arg-type]
    )


def crc_shard(text: str) -> int:
    return zlib.crc32(text.encode()) % 4


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("spelling", ["05", " 5", "+5", "5 ", "\t5", "0005"])
def test_int_key_strings_are_placed_as_the_number(backend: str, spelling: str) -> None:
    # Every backend compares these with an integer column as 5 (checked on the servers).
    assert hashed("int", backend).shard_for(spelling) == crc_shard("5")
    mod = ModStrategy(table="m", key="id", shards=3, datasources=("ds0",), backend=backend)  # type: ignore[arg-type]
    assert mod.shard_for(spelling) == 5 % 3


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("spelling", ["5.0", "5e0", "5abc", "abc", "0x5", "1_0", "", "--5"])
def test_int_key_strings_read_differently_by_backends_are_refused(
    backend: str, spelling: str
) -> None:
    with pytest.raises(RoutingError, match=r"h\.k is a string that is not a whole number"):
        hashed("int", backend).shard_for(spelling)


def test_int_key_refusal_never_shows_the_value() -> None:
    with pytest.raises(RoutingError) as caught:
        hashed("int").shard_for("secret-17")
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_undeclared_key_refuses_spellings_whose_placement_depends_on_the_type(
    backend: str,
) -> None:
    s = hashed(None, backend)
    for spelling in ("05", " 5", "+5", "5.0", U.upper(), "{" + U + "}"):
        with pytest.raises(RoutingError, match='declare key_type = "int", "text" or "uuid"'):
            s.shard_for(spelling)
    # Canonical spellings are placed alike whatever the column's type.
    assert s.shard_for("5") == s.shard_for(5) == crc_shard("5")
    assert s.shard_for("-12") == s.shard_for(-12)
    assert s.shard_for(uuid.UUID(U)) == s.shard_for(U) == crc_shard(U)
    if backend == "mysql":  # MariaDB reads a UUID string starting with digits as a number
        with pytest.raises(RoutingError, match="MariaDB reads the number"):
            s.shard_for("1" + U[1:])


def test_undeclared_text_keys_follow_the_backend() -> None:
    # PostgreSQL errors and SQLite never matches when text meets an integer column...
    assert hashed(None, "postgres").shard_for("acme") == crc_shard("acme")
    assert hashed(None, "sqlite").shard_for("acme") == crc_shard("acme")
    # ...MariaDB reads '5abc' as 5 there: a string starting like a number needs the type.
    for spelling in ("5abc", " 7 dwarfs", "-1x", ".5"):
        with pytest.raises(RoutingError, match="MariaDB reads the number"):
            hashed(None, "mysql").shard_for(spelling)
        assert hashed("text", "mysql").shard_for(spelling) == crc_shard(spelling)
    # Known gap (documented): 'acme' is 0 for a MariaDB integer column.
    assert hashed(None, "mysql").shard_for("acme") == crc_shard("acme")
    with pytest.raises(RoutingError, match="not a whole number"):
        hashed("int", "mysql").shard_for("acme")


def test_text_keys_are_hashed_verbatim_and_refuse_numbers() -> None:
    assert hashed("text").shard_for("05") == crc_shard("05")
    assert hashed("text").shard_for(" 5") == crc_shard(" 5")
    for backend in ("postgres", "mysql"):
        with pytest.raises(RoutingError, match="declared text, pass it as a string"):
            hashed("text", backend).shard_for(5)
    # SQLite gives the number the column's TEXT affinity: it compares as '5'.
    assert hashed("text", "sqlite").shard_for(5) == crc_shard("5")


def test_uuid_keys_are_placed_by_their_canonical_form() -> None:
    s = hashed("uuid")
    for spelling in (U, U.upper(), "{" + U + "}", U.replace("-", ""), uuid.UUID(U)):
        assert s.shard_for(spelling) == crc_shard(U)
    with pytest.raises(RoutingError, match="not a UUID"):
        s.shard_for("not-a-uuid")
    with pytest.raises(RoutingError, match="declared uuid"):
        s.shard_for(5)
    # A MariaDB CHAR(36) column compares text: only the hyphenated form can match.
    assert hashed("uuid", "mysql").shard_for(U.upper()) == crc_shard(U)
    with pytest.raises(RoutingError, match="hyphenated"):
        hashed("uuid", "mysql").shard_for(U.replace("-", ""))


def test_consistent_hash_uses_the_same_key_reading() -> None:
    ring = ConsistentHashStrategy(
        table="c", key="k", datasources=("a", "b", "c"), key_type="int", backend="postgres"
    )
    assert ring.shard_for("007") == ring.shard_for(7)
    undeclared = ConsistentHashStrategy(table="c", key="k", datasources=("a", "b"))
    with pytest.raises(RoutingError, match="declare key_type"):
        undeclared.shard_for("007")


def test_key_type_is_part_of_colocation() -> None:
    assert hashed("int").colocation_key != hashed("text").colocation_key
    assert hashed("int").colocation_key == hashed("int", "mysql").colocation_key


def test_range_int_keys_read_strings_as_the_number() -> None:
    r = RangeStrategy(table="r", key="k", boundaries=(10, 20), datasources=("ds0",), key_type="int")
    assert r.shard_for("05") == 0
    assert r.shard_for(" 15") == 1
    assert r.shards_for_range("09", True, "010", True, today=TODAY) == (0, 1)
    with pytest.raises(RoutingError, match="not a whole number"):
        r.shard_for("15.5")
    undeclared = RangeStrategy(table="r", key="k", boundaries=(10, 20), datasources=("ds0",))
    with pytest.raises(RoutingError, match="pass a number"):
        undeclared.shard_for("05")


def months(key_type: str | None, backend: str | None) -> TimeRangeStrategy:
    return TimeRangeStrategy(
        table="tr",
        key="ts",
        interval="month",
        start=datetime.date(2025, 1, 1),
        pre_create=1,
        datasources=("ds0",),
        key_type=key_type,  # type: ignore[arg-type]
        backend=backend,  # type: ignore[arg-type]
    )


JANUARY, FEBRUARY = 0, 1
LATE = "2025-01-31 23:59:59.9999996"


def test_postgres_rounds_sub_microsecond_timestamps() -> None:
    assert months("datetime", "postgres").shard_for(LATE) == FEBRUARY
    assert months("datetime", "postgres").shard_for("2025-01-31 23:59:59.9999994") == JANUARY
    # A date column reads only the date.
    assert months("date", "postgres").shard_for(LATE) == JANUARY
    with pytest.raises(RoutingError, match="more than 6 fractional digits"):
        months(None, "postgres").shard_for(LATE)
    with pytest.raises(RoutingError, match="halfway"):
        months("datetime", "postgres").shard_for("2025-01-31 23:59:59.9999995")
    # Up to 6 digits nothing is rounded, declared or not.
    assert months(None, "postgres").shard_for("2025-01-31 23:59:59.999999") == JANUARY


def test_postgres_date_key_strings_are_their_date() -> None:
    s = months("date", "postgres")
    # date < '2025-02-01 00:00:01' is date < 2025-02-01 on a date column: no February.
    assert s.shards_for_range(None, False, "2025-02-01 00:00:01", False, today=TODAY) == (0,)


def test_mariadb_truncates_sub_microsecond_timestamps() -> None:
    assert months(None, "mysql").shard_for(LATE) == JANUARY
    assert months("datetime", "mysql").shard_for(LATE) == JANUARY


def test_sqlite_time_keys_follow_text_comparison() -> None:
    s = months(None, "sqlite")
    assert s.shard_for(LATE) == JANUARY  # a TEXT column stores exactly this text
    assert s.shard_for("2025-02-01") == FEBRUARY
    for compact in ("20250201", "2025-2-1", "2025-W05-6"):
        with pytest.raises(RoutingError, match="does not start with a YYYY-MM-DD"):
            s.shard_for(compact)
    with pytest.raises(RoutingError, match="not a calendar date"):
        s.shard_for("2025-02-30")
    # '2025-02-01 00:00:00' > '2025-02-01' as text: an exclusive high bound only excludes
    # February when it is the bare date.
    assert s.shards_for_range(None, False, "2025-02-01", False, today=TODAY) == (0,)
    assert s.shards_for_range(None, False, "2025-02-01 00:00:00", False, today=TODAY) == (0, 1)
    # Text order within a day is not time order: never declared empty from text bounds.
    assert s.shards_for_range("2025-03-05T09", False, "2025-03-05 10", False, today=TODAY) == (2,)


def test_compact_dates_are_read_as_dates_on_postgres_and_mariadb() -> None:
    for backend in ("postgres", "mysql"):
        assert months(None, backend).shard_for("20250201") == FEBRUARY
