"""``LazyDescription``: a result description built on first read, read like the tuple."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tenantdb._async._driver import LazyDescription

COLUMNS = (("id", 23, None, 4, None, None, None), ("name", 25, None, -1, None, None, None))


def counted() -> tuple[LazyDescription, list[int]]:
    builds: list[int] = []

    def build() -> Sequence[Sequence[Any]]:
        builds.append(1)
        return list(COLUMNS)

    return LazyDescription(build), builds


def test_nothing_is_built_until_it_is_read() -> None:
    description, builds = counted()
    assert builds == []
    assert description[0][0] == "id"
    assert builds == [1]


def test_it_reads_like_the_tuple_and_builds_once() -> None:
    description, builds = counted()
    assert len(description) == 2
    assert [column[0] for column in description] == ["id", "name"]
    assert description[-1:] == COLUMNS[-1:]
    assert description == COLUMNS
    assert COLUMNS == description  # noqa: SIM300  # the tuple on the left: reflected __eq__
    assert description == LazyDescription(lambda: COLUMNS)
    assert description != COLUMNS[:1]
    assert repr(description) == repr(COLUMNS)
    assert tuple(description) == COLUMNS
    assert builds == [1]


def test_it_is_not_hashable_like_a_list() -> None:
    description, _ = counted()
    with pytest.raises(TypeError):
        hash(description)
