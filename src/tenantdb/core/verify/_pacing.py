"""How big the next chunk is, and whether to wait before it: pure controllers fed with
measurements (durations, replica lag) taken by the loop that runs the chunks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class ChunkSizer:
    """Rows per chunk, adapted so that a chunk takes about ``target_s`` seconds.

    After each chunk, ``observe(rows, seconds)`` scales the size by ``target_s / seconds``,
    by at most ``max_step`` either way (one slow chunk, a lock wait, does not collapse the
    size), within ``[min_rows, max_rows]``. ``ChunkSizer.fixed(n)`` never changes.
    """

    rows: int = 1000
    target_s: float = 0.5
    min_rows: int = 50
    max_rows: int = 100_000
    max_step: float = 2.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_rows <= self.rows <= self.max_rows:
            raise ValueError("chunk sizes need 1 <= min_rows <= rows <= max_rows")
        if self.target_s <= 0 or self.max_step < 1:
            raise ValueError("target_s must be positive and max_step at least 1")

    @classmethod
    def fixed(cls, rows: int) -> ChunkSizer:
        """A sizer that always answers ``rows``."""
        return cls(rows=rows, min_rows=rows, max_rows=rows)

    def observe(self, rows: int, seconds: float) -> int:
        """Record that a chunk of ``rows`` rows took ``seconds``; return the next size.

        A chunk shorter than the current size (the table's last one) says little about
        the rate, and a chunk that took no measurable time says nothing: both keep it
        unless they show the size must grow.
        """
        if rows <= 0:
            return self.rows
        if seconds <= 0:
            factor = self.max_step
        else:
            per_row = seconds / rows
            factor = (self.target_s / per_row) / self.rows
        if rows < self.rows and factor < 1:
            return self.rows
        factor = min(self.max_step, max(1 / self.max_step, factor))
        self.rows = max(self.min_rows, min(self.max_rows, round(self.rows * factor)))
        return self.rows


@dataclass(frozen=True, slots=True)
class LagThrottle:
    """Whether to pause before the next chunk while a replica copy lags.

    ``pause(lag_s, waited_s)``: None to go on (no reading, or lag within ``max_lag_s``);
    else the seconds to sleep before reading the lag again. Raises TimeoutError once the
    wait for this chunk has lasted ``give_up_s``, naming the lag and the limit.
    """

    max_lag_s: float
    poll_s: float = 1.0
    give_up_s: float = 600.0
    stopped: str = (
        "verify stopped (its progress is kept: rerun it to resume once the replica has caught"
        " up, or raise max_replication_lag)"
    )
    """What the job that gave up did, for the TimeoutError's message."""

    def pause(self, lag_s: float | None, waited_s: float) -> float | None:
        if lag_s is None or lag_s <= self.max_lag_s:
            return None
        if waited_s >= self.give_up_s:
            raise TimeoutError(
                f"the replica stayed {lag_s:g} s behind (limit {self.max_lag_s:g} s) for "
                f"{waited_s:g} s; {self.stopped}"
            )
        return self.poll_s


__all__ = ["ChunkSizer", "LagThrottle"]
