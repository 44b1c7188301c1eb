"""The statement-size limit: text over it is refused before any parsing work.

Parsing, analysing and rendering cost time and memory in proportion to the text (a few
hundred bytes of tree per byte of SQL), so an oversized statement is refused up front
with what to do instead.
"""

from __future__ import annotations

from ...errors import UnsupportedSQLError


def check_statement_size(sql: str, limit: int) -> None:
    """Raise UnsupportedSQLError when ``sql`` is longer than ``limit`` UTF-8 bytes."""
    if len(sql) <= limit // 4:
        return  # at most 4 bytes per character: under the limit without encoding
    size = len(sql) if sql.isascii() else len(sql.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise UnsupportedSQLError(
            f"the statement is {size:,} bytes, over the cluster's max_statement_bytes "
            f"({limit:,}); pass long values as parameters (%s) instead of literals, send "
            "long IN lists in batches, or raise max_statement_bytes in the configuration"
        )


__all__ = ["check_statement_size"]
