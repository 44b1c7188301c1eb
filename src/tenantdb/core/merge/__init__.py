"""Streaming merges: the rows of several shards combined into what one database returns."""

from __future__ import annotations

from ._rows import Row, merge_rows

__all__ = ["Row", "merge_rows"]
