"""The heap functions a k-way merge runs on: ``heapq``'s min-heap, or its max-heap.

A merge whose sort keys are all descending compares raw values on a max-heap instead of
wrapping every text or date value in an object that reverses ``<`` in Python. CPython has
the max-heap functions in C, private before 3.14 and public from it; where neither exists,
:data:`MAX_HEAP` is None and such merges use the min-heap with reversing keys.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any, Final, NamedTuple


class Heap(NamedTuple):
    """``heapify``, ``heapreplace`` and ``heappop`` of one heap order."""

    heapify: Callable[[list[Any]], None]
    replace: Callable[[list[Any], Any], Any]
    pop: Callable[[list[Any]], Any]


MIN_HEAP: Final = Heap(heapq.heapify, heapq.heapreplace, heapq.heappop)


def _max_heap() -> Heap | None:
    names = ("heapify_max", "heapreplace_max", "heappop_max")
    for prefix in ("", "_"):
        found: list[Any] = [getattr(heapq, prefix + name, None) for name in names]
        if all(found):
            return Heap(*found)
    return None


MAX_HEAP: Final = _max_heap()
