"""The command line's progress helper: when plain lines are due (pure, on a fake clock),
what plain output and a forced terminal show."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from tenantdb.cli._progress import LineSchedule, ProgressDisplay, waiting


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def plain() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=False, width=100), out


def test_a_line_is_due_once_every_s_passed_and_work_advanced() -> None:
    schedule = LineSchedule(0.0, every_s=1.0)
    assert not schedule.due(5, 0.5)
    assert schedule.due(5, 1.0)
    schedule.printed(5, 1.0)
    assert not schedule.due(9, 1.9)
    assert not schedule.due(5, 3.0)  # nothing new to say
    assert schedule.due(6, 3.0)


def test_the_gap_widens_with_age_up_to_longest_s() -> None:
    schedule = LineSchedule(0.0, every_s=1.0, longest_s=30.0)
    schedule.printed(1, 100.0)
    assert not schedule.due(2, 110.0)  # 10 s later, but a tenth of 110 s of age is 11 s
    assert schedule.due(2, 112.0)
    schedule.printed(2, 1000.0)
    assert not schedule.due(3, 1029.0)  # capped at 30 s, not 100
    assert schedule.due(3, 1030.0)


def test_an_hour_of_steady_work_prints_about_a_hundred_lines() -> None:
    schedule = LineSchedule(0.0)
    lines = 0
    for tick in range(1, 36_001):  # an item every 0.1 s for an hour
        now = tick / 10
        if schedule.due(tick, now):
            schedule.printed(tick, now)
            lines += 1
    assert 100 <= lines <= 200


def test_closing_line_only_when_work_advanced_since_the_last() -> None:
    schedule = LineSchedule(0.0)
    assert not schedule.closing_due(0)
    assert schedule.closing_due(3)
    schedule.printed(3, 1.0)
    assert not schedule.closing_due(3)


@pytest.mark.parametrize(("every_s", "longest_s"), [(0.0, 30.0), (-1.0, 30.0), (5.0, 1.0)])
def test_bad_schedules_are_refused(every_s: float, longest_s: float) -> None:
    with pytest.raises(ValueError, match="every_s"):
        LineSchedule(0.0, every_s=every_s, longest_s=longest_s)


def test_plain_output_is_few_lines_and_a_closing_one() -> None:
    console, out = plain()
    clock = Clock()
    with ProgressDisplay(console, "importing tenants", total=10_000, clock=clock) as shown:
        for done in range(1, 10_001):
            clock.now += 0.00049  # 4.9 s for the whole job
            shown.update(done)
    lines = out.getvalue().splitlines()
    assert 4 <= len(lines) <= 7, lines
    for line in lines[:-1]:
        assert re.fullmatch(r"importing tenants: \d+/10000 \(\d+%\)", line), line
    assert re.fullmatch(r"importing tenants: 10000/10000 \(100%\) in 4\.9s", lines[-1])
    done = [int(line.split(": ")[1].split("/")[0]) for line in lines]
    assert done == sorted(set(done))


def test_a_quick_job_prints_only_its_closing_line() -> None:
    console, out = plain()
    clock = Clock()
    with ProgressDisplay(console, "checking tenants", total=3, clock=clock) as shown:
        for _ in range(3):
            clock.now += 0.01
            shown.advance()
    assert out.getvalue() == "checking tenants: 3/3 (100%) in 0.0s\n"


def test_a_failed_job_says_where_it_stopped() -> None:
    console, out = plain()
    clock = Clock()

    def fail_after_three() -> None:
        with ProgressDisplay(console, "importing tenants", total=8, clock=clock) as shown:
            shown.update(3)
            raise RuntimeError("store gone")

    with pytest.raises(RuntimeError, match="store gone"):
        fail_after_three()
    assert out.getvalue() == "importing tenants: stopped at 3/8 (37%)\n"


def test_notes_are_the_lines_when_given() -> None:
    console, out = plain()
    clock = Clock()
    with ProgressDisplay(console, "working", clock=clock) as shown:
        for done in (1, 2):
            clock.now += 5
            shown.update(done, total=2, label="ds0 t", note=f"[{done}/2] applied ds0 t")
    assert out.getvalue() == "[1/2] applied ds0 t\n[2/2] applied ds0 t\n"


def test_unknown_total_counts_what_is_done() -> None:
    console, out = plain()
    clock = Clock()
    with ProgressDisplay(console, "copying", clock=clock) as shown:
        clock.now += 2
        shown.advance(7)
        clock.now += 0.5
        shown.advance(2)
    assert out.getvalue() == "copying: 7 done\ncopying: 9 done in 2.5s\n"


def test_a_terminal_shows_a_bar_and_no_plain_lines() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system="standard")
    with ProgressDisplay(console, "importing tenants", total=50) as shown:
        for done in range(1, 51):
            shown.update(done, note="never shown on a terminal")
        assert repr(shown).endswith("| bar]>")
    text = out.getvalue()
    assert "\x1b[" in text  # drawn with control sequences
    assert "━" in text
    assert "50/50" in text
    assert "importing tenants" in text
    assert "never shown" not in text


def test_waiting_prints_one_plain_line_or_a_spinner() -> None:
    console, out = plain()
    with waiting(console, "waiting for replicas"):
        pass
    assert out.getvalue() == "waiting for replicas\n"
    tty = io.StringIO()
    with waiting(Console(file=tty, force_terminal=True, width=80), "waiting for replicas"):
        pass
    assert "\x1b[" in tty.getvalue()


def test_a_job_that_fails_right_after_a_count_line_still_says_it_stopped() -> None:
    console, out = plain()
    clock = Clock()

    def fail_after_a_line() -> None:
        with ProgressDisplay(console, "importing tenants", total=8, clock=clock) as shown:
            clock.now += 5.0
            shown.update(4)  # due: printed as a count line
            raise RuntimeError("store gone")

    with pytest.raises(RuntimeError, match="store gone"):
        fail_after_a_line()
    assert out.getvalue() == (
        "importing tenants: 4/8 (50%)\nimporting tenants: stopped at 4/8 (50%)\n"
    )
