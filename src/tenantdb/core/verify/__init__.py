"""Verify's decisions, with no I/O: chunk statements over primary-key ranges, checksum
SQL per backend (and SQLite's checksum function), chunk sizing and lag throttling, value
normalisation, the row comparison of a chunk and the report of a table. ``tenantdb.admin``
runs them against databases (``verify_copies``)."""

from __future__ import annotations

from ._checksum import ROW_HASH_SUM, RowHashSum, checksum_select, row_hash
from ._pacing import ChunkSizer, LagThrottle
from ._queries import KeyRange, Statement, TableShape
from ._report import ChunkDiff, Kind, TableReport, diff_rows
from ._values import (
    canonical,
    canonical_row,
    decode_key,
    decode_value,
    encode_key,
    encode_value,
    show_key,
)

__all__ = [
    "ROW_HASH_SUM",
    "ChunkDiff",
    "ChunkSizer",
    "Kind",
    "KeyRange",
    "LagThrottle",
    "RowHashSum",
    "Statement",
    "TableReport",
    "TableShape",
    "canonical",
    "canonical_row",
    "checksum_select",
    "decode_key",
    "decode_value",
    "diff_rows",
    "encode_key",
    "encode_value",
    "row_hash",
    "show_key",
]
