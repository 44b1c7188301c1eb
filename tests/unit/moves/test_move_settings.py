"""``MoveSettings.sizer``: the copy's chunk sizes start at ``chunk_rows`` and adapt to
``chunk_s``, or stay fixed. Pure (the sizes the copy then takes: ``ChunkSizer``'s tests)."""

from __future__ import annotations

import pytest

from tenantdb.admin import MoveSettings
from tenantdb.errors import ProgrammingError


def test_chunks_start_at_chunk_rows_and_adapt_to_chunk_s() -> None:
    sizer = MoveSettings(chunk_rows=1000, chunk_s=0.5).sizer()
    assert sizer.rows == 1000
    assert sizer.observe(1000, 0.1) == 2000  # fast: grows, at most twice per chunk
    assert sizer.observe(2000, 2.0) == 1000  # slow: shrinks, at most by half


def test_a_start_outside_the_default_bounds_widens_them() -> None:
    small = MoveSettings(chunk_rows=5).sizer()
    assert (small.rows, small.min_rows) == (5, 5)
    big = MoveSettings(chunk_rows=500_000).sizer()
    assert (big.rows, big.max_rows) == (500_000, 500_000)


def test_no_chunk_s_keeps_chunk_rows() -> None:
    sizer = MoveSettings(chunk_rows=300, chunk_s=None).sizer()
    assert sizer.observe(300, 0.001) == 300
    assert sizer.observe(300, 60.0) == 300


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (MoveSettings(chunk_rows=0), "chunk_rows must be at least 1, not 0"),
        (MoveSettings(chunk_s=0.0), r"chunk_s must be positive \(or None\), not 0.0"),
    ],
)
def test_bad_sizes_say_what_to_change(settings: MoveSettings, message: str) -> None:
    with pytest.raises(ProgrammingError, match=message):
        settings.sizer()
