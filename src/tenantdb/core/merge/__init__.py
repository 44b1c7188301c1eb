"""The pure parts of the streaming merge: how rows of several shards compare and combine.

The merge itself pulls rows from the shards' streams, so it lives in the I/O shell, written
once for both fronts (``tenantdb._async`` and the generated ``tenantdb._sync``:
``merge_rows``). What it decides with no I/O is here: the SQL order of rows
(:class:`RowOrder`) and the heap that merges them (:data:`MIN_HEAP`, :data:`MAX_HEAP`),
which rows DISTINCT keeps (:class:`DistinctRows`) and how a group's partial aggregates
combine (:class:`Groups`).
"""

from __future__ import annotations

from ._groups import Groups
from ._heap import MAX_HEAP, MIN_HEAP, Heap
from ._order import RowOrder
from ._rows import DistinctRows, Row

__all__ = ["DistinctRows", "Groups", "Heap", "MAX_HEAP", "MIN_HEAP", "Row", "RowOrder"]
