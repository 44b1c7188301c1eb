"""Online tenant moves, the pure part: a move's phases and the state its log records
(``MoveState``, kept as a JSON-ready record), the change capture it installs on the source
(``Capture``: triggers and change tables, as SQL), and how rows are written to the target
(``upsert``, ``delete_by_key``: writing a row twice leaves what writing it once does;
``rows_per_statement``: how many rows one upsert may hold; on PostgreSQL ``copy_*``: a
chunk by ``COPY``), and how a table the target lacks is made like the source's
(``postgres_table``, ``mysql_table``, ``sqlite_table``). The mover, which does the I/O,
lives in ``tenantdb.admin``."""

from __future__ import annotations

from ._apply import (
    FIRST_USER_OID,
    MAX_PARAMETERS,
    MAX_ROWS_PER_STATEMENT,
    CopyFormat,
    copy_chunk_bound,
    copy_format,
    copy_in,
    copy_out_chunk,
    copy_out_page,
    delete_by_key,
    key_from_text,
    last_copied_key,
    page_as_arrays,
    rows_per_statement,
    upsert,
    upsert_arrays,
)
from ._capture import MOVED_MESSAGE, PREFIX, Capture, capture_for
from ._definition import (
    PostgresColumn,
    PostgresConstraint,
    mysql_table,
    postgres_index,
    postgres_table,
    sqlite_table,
)
from ._state import (
    ABORTABLE,
    FINISHED,
    PHASES,
    MovedTable,
    MoveState,
    Phase,
    state_from_record,
    state_to_record,
)

__all__ = [
    "ABORTABLE",
    "FINISHED",
    "FIRST_USER_OID",
    "MAX_PARAMETERS",
    "MAX_ROWS_PER_STATEMENT",
    "MOVED_MESSAGE",
    "PHASES",
    "PREFIX",
    "Capture",
    "CopyFormat",
    "MovedTable",
    "MoveState",
    "Phase",
    "PostgresColumn",
    "PostgresConstraint",
    "capture_for",
    "copy_chunk_bound",
    "copy_format",
    "copy_in",
    "copy_out_chunk",
    "copy_out_page",
    "delete_by_key",
    "key_from_text",
    "last_copied_key",
    "mysql_table",
    "page_as_arrays",
    "postgres_index",
    "postgres_table",
    "rows_per_statement",
    "sqlite_table",
    "state_from_record",
    "state_to_record",
    "upsert",
    "upsert_arrays",
]
