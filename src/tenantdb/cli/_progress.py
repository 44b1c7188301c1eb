"""Progress of a long command: a rich bar on a terminal, a few plain lines otherwise.

Commands that can run for more than a second report through ``ProgressDisplay`` (counted
work) or ``waiting`` (a wait with nothing to count). On a terminal the user sees a live
bar or spinner; in a log, a pipe or CI they see plain lines, few enough to read: a line
when about a second has passed since the last one (later, about a tenth of the elapsed
time, at most every 30 s), and a closing line, never one line per item.

``LineSchedule`` is the decision of when a plain line is due: pure, given the clock.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


@dataclass(slots=True)
class LineSchedule:
    """When plain progress output prints its next line.

    A line is due once ``every_s`` seconds have passed since the last one and work has
    advanced; as the job grows old the gap widens to a tenth of its age, capped at
    ``longest_s``, so an hour-long job prints about a hundred lines rather than thousands.
    Times are seconds of any monotonic clock; the caller passes ``now``.
    """

    started: float
    every_s: float = 1.0
    longest_s: float = 30.0
    _last_at: float = field(init=False)
    _last_done: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.every_s <= 0 or self.longest_s < self.every_s:
            raise ValueError(
                f"every_s must be above 0 and at most longest_s, got {self.every_s}"
                f" and {self.longest_s}"
            )
        self._last_at = self.started

    def due(self, done: int, now: float) -> bool:
        """Whether a line reporting ``done`` should be printed at ``now``."""
        if done <= self._last_done:
            return False
        gap = min(max(self.every_s, (now - self.started) / 10), self.longest_s)
        return now - self._last_at >= gap

    def printed(self, done: int, now: float) -> None:
        """Record that a line showing ``done`` was printed at ``now``."""
        self._last_at = now
        self._last_done = done

    def closing_due(self, done: int) -> bool:
        """Whether the job's closing line is needed: work advanced since the last line."""
        return done > self._last_done


class ProgressDisplay:
    """Progress of one counted job on ``console``: a rich bar when the console is a
    terminal, plain lines (see ``LineSchedule``) otherwise.

    Use it as a context manager and call ``update`` or ``advance`` as work is done. Plain
    output reads ``<description>: <done>/<total> (<percent>%)``, and closes with
    ``… in <seconds>s``, or ``… stopped at <done>/<total>`` when the block raised.
    ``note`` lines are for plain output only (a record of each step, e.g. ``tenantdb
    ddl``'s): each one counts as a progress line, and on a terminal the bar's label shows
    the step instead.
    """

    def __init__(
        self,
        console: Console,
        description: str,
        *,
        total: int | None = None,
        every_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._console = console
        self._description = description
        self._total = total
        self._done = 0
        self._clock = clock
        self._started = 0.0  # set, with the schedule, when the block starts
        self._schedule = LineSchedule(0.0, every_s=every_s)
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    @property
    def done(self) -> int:
        """Units of work done so far."""
        return self._done

    def __enter__(self) -> ProgressDisplay:
        self._started = self._clock()
        self._schedule = LineSchedule(self._started, every_s=self._schedule.every_s)
        if self._console.is_terminal:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self._console,
            )
            self._bar.start()
            self._task = self._bar.add_task(self._description, total=self._total)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            return
        if kind is not None:  # always said: the last count line does not tell it stopped
            self._console.print(f"{self._description}: stopped at {self._fraction()}")
        elif self._schedule.closing_due(self._done):
            elapsed = self._clock() - self._started
            self._console.print(f"{self._count()} in {elapsed:.1f}s")

    def advance(self, count: int = 1, *, label: str | None = None) -> None:
        """Count ``count`` more units done."""
        self.update(self._done + count, label=label)

    def update(
        self,
        done: int,
        *,
        total: int | None = None,
        label: str | None = None,
        note: str | None = None,
    ) -> None:
        """Report ``done`` units finished (of ``total``, when it is given or was known).

        ``label`` replaces the bar's description on a terminal; ``note`` is printed as it
        is on plain output (and nowhere on a terminal).
        """
        self._done = done
        if total is not None:
            self._total = total
        if self._bar is not None:
            assert self._task is not None
            self._bar.update(
                self._task,
                completed=done,
                total=self._total,
                description=label if label is not None else self._description,
            )
            return
        now = self._clock()
        if note is not None:
            self._console.print(note)
        elif self._schedule.due(done, now):
            self._console.print(self._count())
        else:
            return
        self._schedule.printed(done, now)

    def _count(self) -> str:
        return f"{self._description}: {self._fraction()}"

    def _fraction(self) -> str:
        if self._total is None:
            return f"{self._done} done"
        if self._total <= 0:
            return f"{self._done}/{self._total}"
        return f"{self._done}/{self._total} ({100 * self._done // self._total}%)"

    def __repr__(self) -> str:
        mode = "bar" if self._bar is not None else "lines"
        return f"<ProgressDisplay {self._description!r} [{self._fraction()} | {mode}]>"


@contextlib.contextmanager
def waiting(console: Console, text: str) -> Iterator[None]:
    """Show that the command waits, for the duration of the block: a spinner with ``text``
    on a terminal (gone afterwards), else ``text`` as one plain line."""
    if console.is_terminal:
        with console.status(text):
            yield
        return
    console.print(text)
    yield


__all__ = ["LineSchedule", "ProgressDisplay", "waiting"]
