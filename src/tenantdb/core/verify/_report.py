"""Comparing the rows of one chunk, and the report of one table (VDiff's shape).

Row comparison is by primary key: rows whose canonical keys match are compared value by
value (``canonical``); a key on one copy only is an extra row of that copy. Nothing here
depends on the order the rows arrived in, so two copies whose databases sort the key
differently still pair their rows within a chunk.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._values import canonical_row, decode_key, encode_key, show_key

Kind = Literal["mismatched", "extra_source", "extra_target"]
"""A difference: a key on both copies with different values, or on one copy only."""


@dataclass(frozen=True, slots=True)
class ChunkDiff:
    """The outcome of comparing one chunk row by row. Keys are the primary keys as the
    source (``mismatched``, ``extra_source``) or the target (``extra_target``) returned
    them, in key order of that copy."""

    source_rows: int
    target_rows: int
    matching: int
    mismatched: tuple[tuple[object, ...], ...]
    extra_source: tuple[tuple[object, ...], ...]
    extra_target: tuple[tuple[object, ...], ...]


def diff_rows(
    key_width: int, source: Sequence[Sequence[object]], target: Sequence[Sequence[object]]
) -> ChunkDiff:
    """Compare the rows of one chunk of two copies; each row starts with its ``key_width``
    key values. Raises ValueError when a copy returns one key twice (not a primary key)."""
    theirs = _by_key(key_width, target, "target")
    ours = _by_key(key_width, source, "source")
    matching = 0
    mismatched: list[tuple[object, ...]] = []
    extra_source: list[tuple[object, ...]] = []
    for key, (raw_key, values) in ours.items():
        other = theirs.get(key)
        if other is None:
            extra_source.append(raw_key)
        elif other[1] == values:
            matching += 1
        else:
            mismatched.append(raw_key)
    extra_target = [raw for key, (raw, _) in theirs.items() if key not in ours]
    return ChunkDiff(
        len(source),
        len(target),
        matching,
        tuple(mismatched),
        tuple(extra_source),
        tuple(extra_target),
    )


def _by_key(
    width: int, rows: Sequence[Sequence[object]], side: str
) -> dict[tuple[Hashable, ...], tuple[tuple[object, ...], tuple[Hashable, ...]]]:
    found: dict[tuple[Hashable, ...], tuple[tuple[object, ...], tuple[Hashable, ...]]] = {}
    for row in rows:
        values = canonical_row(row)
        key = values[:width]
        if key in found:
            raise ValueError(
                f"the {side} copy returned key {show_key(tuple(row[:width]))!r} twice; "
                "verify needs the key columns to be a primary key on both copies"
            )
        found[key] = (tuple(row[:width]), values)
    return found


@dataclass(slots=True)
class TableReport:
    """What verify found in one table (mutable while the run adds chunks to it).

    ``chunks`` counts the chunks finished; ``chunks_compared_by_row`` the key ranges read
    row by row (a differing chunk, or each differing part of one that was split first).
    ``processed`` counts distinct keys seen on either copy; ``matching + mismatched +
    extra_source + extra_target == processed``. ``repaired``: target rows a repair
    changed (the differences stay counted as found). Samples keep at most ``sample_limit`` keys
    of each kind, the first found in key order.
    """

    table: str
    source: str
    target: str
    sample_limit: int = 10
    run: str = ""
    """This run's identity (kept when a killed run resumes; a repair log names it)."""
    source_rows: int = 0
    target_rows: int = 0
    matching: int = 0
    mismatched: int = 0
    extra_source: int = 0
    extra_target: int = 0
    chunks: int = 0
    chunks_compared_by_row: int = 0
    repaired: int = 0
    samples: dict[str, list[tuple[object, ...]]] = field(
        default_factory=lambda: {"mismatched": [], "extra_source": [], "extra_target": []}
    )

    @property
    def processed(self) -> int:
        return self.matching + self.mismatched + self.extra_source + self.extra_target

    @property
    def equal(self) -> bool:
        return self.processed == self.matching

    @property
    def differences(self) -> int:
        return self.mismatched + self.extra_source + self.extra_target

    def add_equal_rows(self, rows: int) -> None:
        """A key range whose summaries agreed: ``rows`` rows on each copy, all matching."""
        self.source_rows += rows
        self.target_rows += rows
        self.matching += rows

    def add_diff(self, diff: ChunkDiff) -> None:
        """A key range compared row by row."""
        self.chunks_compared_by_row += 1
        self.source_rows += diff.source_rows
        self.target_rows += diff.target_rows
        self.matching += diff.matching
        for kind in ("mismatched", "extra_source", "extra_target"):
            keys: tuple[tuple[object, ...], ...] = getattr(diff, kind)
            setattr(self, kind, getattr(self, kind) + len(keys))
            room = self.sample_limit - len(self.samples[kind])
            self.samples[kind].extend(keys[: max(room, 0)])

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (keys shown as values, or lists for composite
        keys)."""
        return {
            "table": self.table,
            "run": self.run,
            "source": self.source,
            "target": self.target,
            "equal": self.equal,
            "processed": self.processed,
            "matching": self.matching,
            "mismatched": self.mismatched,
            "extra_source": self.extra_source,
            "extra_target": self.extra_target,
            "source_rows": self.source_rows,
            "target_rows": self.target_rows,
            "chunks": self.chunks,
            "chunks_compared_by_row": self.chunks_compared_by_row,
            "repaired": self.repaired,
            "samples": {k: [show_key(key) for key in v] for k, v in self.samples.items()},
        }

    def to_state(self) -> dict[str, Any]:
        """Everything, keys exactly (``encode_key``), for a progress file."""
        state = {name: getattr(self, name) for name in _COUNTERS}
        state["samples"] = {k: [encode_key(key) for key in v] for k, v in self.samples.items()}
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TableReport:
        """The report ``to_state`` wrote."""
        report = cls(**{name: state[name] for name in _COUNTERS})
        report.samples = {k: [decode_key(key) for key in v] for k, v in state["samples"].items()}
        return report


_COUNTERS = (
    "table",
    "source",
    "target",
    "sample_limit",
    "run",
    "source_rows",
    "target_rows",
    "matching",
    "mismatched",
    "extra_source",
    "extra_target",
    "chunks",
    "chunks_compared_by_row",
    "repaired",
)


__all__ = ["ChunkDiff", "Kind", "TableReport", "diff_rows"]
