"""The row count a write spread over several targets reports (``write_rowcount``)."""

from __future__ import annotations

import pytest

from tenantdb import IntegrityError
from tenantdb.core.session import NO_ROWCOUNT, write_rowcount


def test_shards_hold_disjoint_rows_so_their_counts_add_up() -> None:
    assert write_rowcount("update", {"ds0": 2, "ds1": 3}, copies=False) == 5
    assert write_rowcount("delete", {"ds0": 0, "ds1": -1}, copies=False) == 0


def test_broadcast_copies_count_once() -> None:
    counts = {"ds0": 1, "ds1": 1, "ds2": 1}
    assert write_rowcount("insert", counts, copies=True, tables=["countries"]) == 1
    assert write_rowcount("update", {"ds0": 0, "ds1": 0}, copies=True) == 0


def test_copies_that_disagree_are_an_integrity_error_naming_each_count() -> None:
    with pytest.raises(IntegrityError) as info:
        write_rowcount("update", {"ds1": 1, "ds0": 2}, copies=True, tables=["countries"])
    message = str(info.value)
    assert "copies of countries disagree" in message
    assert "ds0: 2, ds1: 1" in message
    assert "roll back" in message


@pytest.mark.parametrize("copies", [False, True])
def test_ddl_has_no_row_count(copies: bool) -> None:
    assert NO_ROWCOUNT == -1
    assert write_rowcount("ddl", {"ds0": 0, "ds1": 0}, copies=copies) == -1
    assert write_rowcount("ddl", {}, copies=copies) == -1
