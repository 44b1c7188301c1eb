"""How a move writes rows to the target: an upsert by primary key, and a delete by key.

Both the copy and the catch-up write a row the source has as it is there now, so writing
the same row twice must leave the target as writing it once: the copy of a chunk whose
cursor was not recorded before the mover was killed is copied again, and a key changed
twice is applied twice. An upsert (insert, or replace the other columns of the row with
that key) is that write; a key the source no longer has is deleted.

A chunk is written with as few statements as the servers allow: one ``INSERT`` of many
rows (``upsert(..., rows=n)``), as many rows as ``rows_per_statement`` says fit under the
server's limit on parameters. On PostgreSQL a chunk travels by ``COPY`` where the two
copies of the table have the same column types (``copy_format``): ``COPY (SELECT ...) TO
STDOUT`` on the source (``copy_out_chunk``, bounded by ``copy_chunk_bound``), ``COPY ...
FROM STDIN`` into the table on the target (``copy_in``). That write is a plain insert,
not an upsert: it is safe because a chunk's rows commit with the log entry that moves the
cursor past them, and nothing else writes the tenant's rows on the target during the copy,
so no key of a chunk is there yet. Should one be (written past the move), the insert fails
whole and the chunk is written again by ``upsert``, which leaves what copying it once does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from ..sql import quote_name
from ..verify import TableShape

MAX_PARAMETERS = {"postgres": 65535, "mysql": 65535, "sqlite": 32766}
"""The most parameters one statement may bind on each server: PostgreSQL's wire protocol
and MySQL's prepared statements count them in 16 bits; SQLite's default limit since 3.32
(999 before it: pass that to ``rows_per_statement`` for an older library)."""

Statement = tuple[str, tuple[object, ...]]

CopyFormat = Literal["binary", "text"]

FIRST_USER_OID = 16384
"""PostgreSQL's first object id of objects made after ``initdb`` (``FirstNormalObjectId``):
types with smaller ids are built in, the same in every database of every release."""

MAX_ROWS_PER_STATEMENT = 1000
"""Rows per statement past which a longer statement is no faster (its text grows, the
server's per-statement cost is already spread thin) and only uses more memory."""


def rows_per_statement(dialect: str, width: int, max_parameters: int | None = None) -> int:
    """How many rows of ``width`` columns one multi-row ``upsert`` may hold: within
    ``max_parameters`` (default: the server's, ``MAX_PARAMETERS``) and at most
    ``MAX_ROWS_PER_STATEMENT``."""
    if width < 1:
        raise ValueError("a written row has at least one column")
    limit = MAX_PARAMETERS.get(dialect) if max_parameters is None else max_parameters
    if limit is None:
        raise ValueError(f"no parameter limit known for dialect {dialect!r}")
    if limit < width:
        raise ValueError(
            f"a statement of at most {limit} parameters cannot hold one row of {width} columns"
        )
    return min(MAX_ROWS_PER_STATEMENT, limit // width)


def upsert(
    dialect: str,
    table: str,
    schema: str | None,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    rows: int = 1,
) -> str:
    """``rows`` rows written by key: one ``INSERT`` of ``columns`` (``%s`` placeholders,
    row after row, each in ``columns`` order) that replaces the non-key columns of an
    existing row with its key. The rows of one statement must have distinct keys
    (PostgreSQL refuses to update a row twice in one statement)."""
    if rows < 1:
        raise ValueError(f"an upsert writes at least one row, not {rows}")
    head, conflict = _upsert_parts(dialect, table, schema, columns, key)
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return f"{head} VALUES {', '.join([marks] * rows)} {conflict}"


def upsert_arrays(
    table: str,
    schema: str | None,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    types: tuple[str, ...],
) -> str:
    """PostgreSQL: any number of rows written by key in one statement of one parameter per
    column, each an array of that column's values (row ``i`` is element ``i`` of every
    array), cast to ``types`` (the columns' types as ``format_type`` spells them) and
    spread back into rows by ``unnest``. The statement's text does not grow with the rows,
    so neither the server's nor the drivers' per-placeholder costs do. Columns of array or
    composite types cannot be written this way (``unnest`` flattens arrays of arrays):
    use ``upsert`` for those tables. Distinct keys, as for ``upsert``."""
    if len(types) != len(columns):
        raise ValueError(f"{len(columns)} columns need {len(columns)} types, got {len(types)}")
    unfit = [t for t in types if t.endswith("]") or "%" in t]
    if unfit:
        raise ValueError(f"columns of type {', '.join(unfit)} cannot be written by unnest")
    head, conflict = _upsert_parts("postgres", table, schema, columns, key)
    arrays = ", ".join(f"%s::{t}[]" for t in types)
    return f"{head} SELECT * FROM unnest({arrays}) {conflict}"


def page_as_arrays(shape: TableShape, after: tuple[object, ...] | None, limit: int) -> Statement:
    """PostgreSQL: the rows of ``shape.page(after, limit)`` as one row: how many there are,
    the last one's key (its values, typed), then each column's values as the text of one
    array, all arrays in one same row order. Those texts are what ``upsert_arrays`` takes
    as parameters: the server writes them and reads them back, and the rows are never
    converted to and from Python values in between (the copy's own ``COPY``). The texts
    are the server's output format, so source and target must agree on the settings that
    shape it (``DateStyle``, ``IntervalStyle``, ``lc_monetary``, ``extra_float_digits``)."""
    if shape.dialect != "postgres":
        raise ValueError(f"page_as_arrays is for PostgreSQL, not {shape.dialect}")
    page, params = shape.page(after, limit)
    order = ", ".join(shape.key_columns)
    last = [f"(array_agg({k} ORDER BY {order}))[count(*)]" for k in shape.key_columns]
    # The arrays need no order of their own, only the same one, which aggregates over the
    # same input rows have (each chunk is one set of upserts); sorting them would cost.
    texts = [f"array_agg({c})::text" for c in shape.column_names]
    return f"SELECT {', '.join(['count(*)', *last, *texts])} FROM ({page}) AS page", params


def _upsert_parts(
    dialect: str, table: str, schema: str | None, columns: tuple[str, ...], key: tuple[str, ...]
) -> tuple[str, str]:
    """``INSERT INTO t (columns)`` and the clause that makes it replace an existing row."""
    missing = [k for k in key if k not in columns]
    if missing or not key:
        raise ValueError(f"the written columns must include the whole primary key {key}")

    def q(name: str) -> str:
        return quote_name(name, dialect)

    target = f"{q(schema)}.{q(table)}" if schema else q(table)
    head = f"INSERT INTO {target} ({', '.join(q(c) for c in columns)})"
    others = [c for c in columns if c not in key]
    if dialect == "mysql":
        # Every column named, key too, so a row that is all key still counts as written.
        sets = ", ".join(f"{q(c)} = VALUES({q(c)})" for c in others or key)
        return head, f"ON DUPLICATE KEY UPDATE {sets}"
    if dialect not in ("postgres", "sqlite"):
        raise ValueError(f"no upsert for dialect {dialect!r}")
    conflict = ", ".join(q(k) for k in key)
    if not others:
        return head, f"ON CONFLICT ({conflict}) DO NOTHING"
    sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in others)
    return head, f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}"


def delete_by_key(dialect: str, table: str, schema: str | None, key: tuple[str, ...]) -> str:
    """The row with a primary key (``%s`` per key column, in key order) deleted."""
    if not key:
        raise ValueError("a delete by key needs the primary key's columns")

    def q(name: str) -> str:
        return quote_name(name, dialect)

    target = f"{q(schema)}.{q(table)}" if schema else q(table)
    return f"DELETE FROM {target} WHERE " + " AND ".join(f"{q(k)} = %s" for k in key)


def copy_format(
    source_types: Mapping[str, tuple[str, int]],
    target_types: Mapping[str, tuple[str, int]],
    columns: Sequence[str],
    *,
    texts_agree: bool,
) -> CopyFormat | None:
    """How a chunk of ``columns`` may travel by ``COPY`` between two copies of a table,
    given each side's types (column -> ``format_type`` spelling and type oid).

    None when a column's type differs between the sides or is missing: a binary copy could
    read one type's bytes as another's, silently (timestamp as timestamptz); such tables
    use the upsert, which casts to the target's types. Else ``"text"`` when the servers
    print and parse values alike (``texts_agree``: see ``page_as_arrays``): a text chunk
    is read in one scan, its last key found in its last line (``last_copied_key``). Else
    ``"binary"`` when every type is built in (its binary form, element types of arrays
    included, is the same in every database; a type of the database's own has another oid
    in each, which binary ``COPY`` of arrays and composites checks): a binary chunk's
    last key is read first (``copy_chunk_bound``). Else None."""
    if not columns:
        raise ValueError("a copied table has at least one column")
    spelled: list[tuple[str, int]] = []
    for column in columns:
        here, there = source_types.get(column), target_types.get(column)
        if here is None or there is None or here[0] != there[0]:
            return None
        spelled.append(there)
    if texts_agree:
        return "text"
    return "binary" if all(oid < FIRST_USER_OID for _, oid in spelled) else None


def copy_chunk_bound(shape: TableShape, after: tuple[object, ...] | None, rows: int) -> Statement:
    """PostgreSQL: the key of the ``rows``-th row after ``after`` (None: from the first),
    in key order: the last key of the next chunk. No row: fewer are left, and the chunk
    runs to the table's end."""
    if rows < 1:
        raise ValueError(f"a chunk holds at least one row, not {rows}")
    where, params = _key_range(shape, after, None)
    listed = ", ".join(shape.key_columns)
    sql = f"SELECT {listed} FROM {shape.qualified}{where} ORDER BY {listed}"
    return f"{sql} LIMIT 1 OFFSET {rows - 1}", params


def copy_out_chunk(
    shape: TableShape,
    after: tuple[object, ...] | None,
    upto: tuple[object, ...] | None,
    format: CopyFormat,
) -> Statement:
    """PostgreSQL: ``COPY (SELECT columns ...) TO STDOUT`` of the rows with a key above
    ``after`` up to ``upto`` (None: unbounded), in ``format``; unordered (the rows are
    inserted, in any order)."""
    where, params = _key_range(shape, after, upto)
    listed = ", ".join(shape.column_names)
    select = f"SELECT {listed} FROM {shape.qualified}{where}"
    return f"COPY ({select}) TO STDOUT (FORMAT {_format(format)})", params


def copy_out_page(
    shape: TableShape, after: tuple[object, ...] | None, rows: int, format: CopyFormat
) -> Statement:
    """PostgreSQL: ``COPY (SELECT columns ... ORDER BY key LIMIT rows) TO STDOUT`` of the
    first ``rows`` rows with a key above ``after`` (None: from the first), in ``format``.
    In text format the last line holds the last key (``last_copied_key``), so a chunk is
    read in one scan, with no ``copy_chunk_bound`` before it."""
    if rows < 1:
        raise ValueError(f"a chunk holds at least one row, not {rows}")
    where, params = _key_range(shape, after, None)
    listed = ", ".join(shape.column_names)
    order = ", ".join(shape.key_columns)
    select = f"SELECT {listed} FROM {shape.qualified}{where} ORDER BY {order} LIMIT {int(rows)}"
    return f"COPY ({select}) TO STDOUT (FORMAT {_format(format)})", params


# Text COPY's one-letter escapes, and the bytes they stand for.
_UNESCAPED = {ord(c): b for c, b in zip("bfnrtv", (8, 12, 10, 13, 9, 11), strict=True)}
_BACKSLASH = 0x5C
_HEX = frozenset(b"0123456789abcdefABCDEF")
_OCTAL = frozenset(b"01234567")


def last_copied_key(data: bytes, width: int) -> tuple[bytes, ...] | None:
    r"""The first ``width`` fields of the last row of a text ``COPY ... TO STDOUT``
    (``data``: every byte it sent), unescaped: each field's text in the connection's
    encoding, as the type's output function wrote it; None when ``data`` holds no row.
    A text row is one line of tab-separated fields, and a newline, tab or backslash in a
    value is written escaped (``\n``, ``\t``, ``\\``), so the last line and its fields are
    found by bytes alone. Raises ValueError for a NULL (``\N``) field, which no key holds,
    or a row of fewer fields."""
    if width < 1:
        raise ValueError("a key has at least one column")
    if not data:
        return None
    if not data.endswith(b"\n"):
        raise ValueError("text COPY output ends each row with a newline")
    start = data.rfind(b"\n", 0, len(data) - 1) + 1
    fields = data[start:-1].split(b"\t", width)
    if len(fields) < width:
        raise ValueError(f"a copied row has {len(fields)} fields, fewer than its key's {width}")
    key = fields[:width]
    if b"\\N" in key:
        raise ValueError("a key column was copied as NULL")
    return tuple(_unescape(field) for field in key)


def _unescape(field: bytes) -> bytes:
    r"""A text COPY field's value: its backslash sequences (``\t`` and the other letters,
    octal ``\NNN``, hex ``\xHH``, any other ``\c`` for ``c``) replaced."""
    if _BACKSLASH not in field:
        return field
    out = bytearray()
    i, end = 0, len(field)
    while i < end:
        byte = field[i]
        i += 1
        if byte != _BACKSLASH or i == end:
            out.append(byte)
            continue
        code = field[i]
        i += 1
        if code in _UNESCAPED:
            out.append(_UNESCAPED[code])
        elif code in _OCTAL:
            digits = bytes([code])
            while len(digits) < 3 and i < end and field[i] in _OCTAL:
                digits += field[i : i + 1]
                i += 1
            out.append(int(digits, 8) & 0xFF)
        elif code == ord("x") and i < end and field[i] in _HEX:
            digits = field[i : i + 1]
            i += 1
            if i < end and field[i] in _HEX:
                digits += field[i : i + 1]
                i += 1
            out.append(int(digits, 16))
        else:
            out.append(code)
    return bytes(out)


def key_from_text(types: Sequence[str]) -> str:
    """PostgreSQL: one row of a key's values, typed (``types``: as ``format_type`` spells
    them), from the texts ``last_copied_key`` found, one ``%s`` each, sent as bytes. Run
    on the server that printed them, in the same session: the same settings parse them."""
    if not types:
        raise ValueError("a key has at least one column")
    return "SELECT " + ", ".join(f"convert_from(%s, pg_client_encoding())::{t}" for t in types)


def copy_in(table: str, schema: str | None, columns: tuple[str, ...], format: CopyFormat) -> str:
    """PostgreSQL: ``COPY table (columns) FROM STDIN`` in ``format``: what
    ``copy_out_chunk`` of the same columns sent, inserted (no upsert: see the module)."""
    if not columns:
        raise ValueError("a copied table has at least one column")

    def q(name: str) -> str:
        return quote_name(name, "postgres")

    target = f"{q(schema)}.{q(table)}" if schema else q(table)
    listed = ", ".join(q(c) for c in columns)
    return f"COPY {target} ({listed}) FROM STDIN (FORMAT {_format(format)})"


def _format(format: str) -> str:
    if format not in ("binary", "text"):
        raise ValueError(f"COPY format must be binary or text, not {format!r}")
    return format


def _key_range(
    shape: TableShape, after: tuple[object, ...] | None, upto: tuple[object, ...] | None
) -> Statement:
    """`` WHERE filter AND (key) > (after) AND (key) <= (upto)``: row-value comparisons,
    which PostgreSQL turns into one range of the primary-key index."""
    if shape.dialect != "postgres":
        raise ValueError(f"COPY chunks are for PostgreSQL, not {shape.dialect}")
    parts: list[str] = []
    params: list[object] = []
    if shape.where:
        parts.append(f"({shape.where})")
        params += shape.where_params
    listed = ", ".join(shape.key_columns)
    for bound, op in ((after, ">"), (upto, "<=")):
        if bound is None:
            continue
        if len(bound) != len(shape.key):
            raise ValueError(f"a key bound needs {len(shape.key)} values, got {len(bound)}")
        marks = ", ".join(["%s"] * len(bound))
        parts.append(f"({listed}) {op} ({marks})")
        params += bound
    return (" WHERE " + " AND ".join(parts) if parts else ""), tuple(params)
