"""Row comparison inside a chunk, and the table report it feeds."""

from __future__ import annotations

import decimal

import pytest

from tenantdb.core.verify import TableReport, diff_rows


def test_rows_pair_by_key_whatever_order_they_arrive_in() -> None:
    source = [(1, "a"), (2, "b"), (3, "c"), (4, None)]
    target = [(5, "e"), (3, "C"), (1, "a"), (4, "")]
    diff = diff_rows(1, source, target)
    assert diff.matching == 1
    assert diff.mismatched == ((3,), (4,))
    assert diff.extra_source == ((2,),)
    assert diff.extra_target == ((5,),)


def test_representation_differences_are_not_mismatches() -> None:
    source = [(1, decimal.Decimal("9.50"), "x")]
    target = [(decimal.Decimal(1), 9.5, b"x")]
    diff = diff_rows(1, source, target)
    assert (diff.matching, diff.mismatched) == (1, ())


def test_a_duplicated_key_is_reported() -> None:
    with pytest.raises(ValueError, match="returned key 1 twice"):
        diff_rows(1, [(1, "a"), (1, "b")], [])


def test_the_report_counts_and_keeps_bounded_samples() -> None:
    report = TableReport("t", "ds0", "ds1", sample_limit=2)
    report.add_equal_rows(10)
    report.add_diff(diff_rows(1, [(i, "x") for i in range(5)], [(i, "y") for i in range(5)]))
    report.add_diff(diff_rows(1, [], [(9, "z")]))
    report.chunks += 1
    assert (report.processed, report.matching, report.mismatched) == (16, 10, 5)
    assert (report.extra_source, report.extra_target, report.differences) == (0, 1, 6)
    assert report.samples["mismatched"] == [(0,), (1,)]
    assert report.chunks == 1
    assert report.chunks_compared_by_row == 2
    assert not report.equal
    data = report.to_dict()
    assert data["samples"] == {"mismatched": [0, 1], "extra_source": [], "extra_target": [9]}


def test_the_report_survives_its_progress_state() -> None:
    report = TableReport("t", "ds0", "ds1", run="r1")
    report.add_diff(diff_rows(2, [("a", 1, "x")], [("a", 1, "y"), ("b", 2, "z")]))
    again = TableReport.from_state(report.to_state())
    assert again == report
    assert again.to_dict()["samples"]["extra_target"] == [["b", 2]]
