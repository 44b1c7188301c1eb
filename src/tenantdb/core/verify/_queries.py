"""The statements verify runs on one copy of a table, rendered from its description.

Every statement reads one primary-key range (``KeyRange``) of the rows the copy's filter
selects, and is written with ``%s`` placeholders (pyformat, as every statement tenantdb
sends), its parameters returned beside it. Ranges follow keyset pagination: a range is
``lower < key <= upper`` in the database's own order of the key, each bound optional, so
the ranges of a run cover every key once, including keys past the last bound on either
copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...config import Dialect
from ..sql import quote_name
from ._checksum import checksum_select

Statement = tuple[str, tuple[object, ...]]
"""SQL text with ``%s`` placeholders, and its parameters."""


@dataclass(frozen=True, slots=True)
class KeyRange:
    """Keys above ``lower`` (exclusive) up to ``upper`` (inclusive); None: unbounded."""

    lower: tuple[object, ...] | None
    upper: tuple[object, ...] | None


@dataclass(frozen=True, slots=True)
class TableShape:
    """One copy of a table as verify reads it.

    ``columns`` lists every compared column, the primary-key columns ``key`` first (in key
    order); ``where`` is an optional row filter with ``%s`` placeholders (``tenant_id =
    %s``) and ``where_params`` its parameters (a literal ``%`` is written ``%%``).
    """

    dialect: Dialect
    table: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    schema: str | None = None
    where: str | None = None
    where_params: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError(
                f"table {self.table!r} has no primary key; verify pages through rows by "
                "primary key, so add one (or a unique, not-null key declared PRIMARY KEY)"
            )
        if self.columns[: len(self.key)] != self.key:
            raise ValueError("columns must start with the key columns, in key order")

    def _quoted(self, name: str) -> str:
        return quote_name(name, self.dialect)

    @property
    def qualified(self) -> str:
        """The table's quoted, schema-qualified name."""
        table = self._quoted(self.table)
        return table if self.schema is None else f"{self._quoted(self.schema)}.{table}"

    def _where(self, keys: KeyRange) -> Statement:
        parts: list[str] = []
        params: list[object] = []
        if self.where:
            parts.append(f"({self.where})")
            params += self.where_params
        if keys.lower is not None:
            sql, values = _beyond(self.key_columns, keys.lower, ">")
            parts.append(sql)
            params += values
        if keys.upper is not None:
            sql, values = _beyond(self.key_columns, keys.upper, ">")
            parts.append(f"NOT {sql}")  # key <= upper (key columns are never NULL)
            params += values
        return (" WHERE " + " AND ".join(parts) if parts else ""), tuple(params)

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The key columns, quoted."""
        return tuple(self._quoted(c) for c in self.key)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Every compared column, quoted, key columns first."""
        return tuple(self._quoted(c) for c in self.columns)

    def _order(self) -> str:
        return " ORDER BY " + ", ".join(self.key_columns)

    def boundary(
        self, lower: tuple[object, ...] | None, rows: int, upper: tuple[object, ...] | None = None
    ) -> Statement:
        """The key of the ``rows``-th row after ``lower`` (and not past ``upper``): the
        upper bound of the next chunk (no row: the chunk runs to ``upper``, or the end)."""
        if rows < 1:
            raise ValueError("a chunk holds at least one row")
        where, params = self._where(KeyRange(lower, upper))
        listed = ", ".join(self.key_columns)
        sql = f"SELECT {listed} FROM {self.qualified}{where}{self._order()}"
        return f"{sql} LIMIT 1 OFFSET {rows - 1}", params

    def checksum(self, keys: KeyRange) -> Statement:
        """``(count, checksum text)`` of the rows in ``keys``."""
        where, params = self._where(keys)
        select = checksum_select(self.dialect, self.column_names)
        return f"SELECT {select} FROM {self.qualified}{where}", params

    def rows(self, keys: KeyRange) -> Statement:
        """Every row in ``keys``, its columns in ``columns`` order, ordered by key."""
        where, params = self._where(keys)
        listed = ", ".join(self.column_names)
        return f"SELECT {listed} FROM {self.qualified}{where}{self._order()}", params

    def page(self, after: tuple[object, ...] | None, limit: int) -> Statement:
        """The first ``limit`` rows with a key above ``after`` (None: from the first),
        ordered by key: keyset pagination in one statement (fewer rows than ``limit``: the
        last page). On PostgreSQL the bound is a row-value comparison, which the server
        turns into a range of the primary-key index, so a page reads only its own rows;
        the column-by-column spelling of ``rows`` makes it scan the filter's rows before
        ``after`` again on every page (MariaDB ranges that spelling well)."""
        if limit < 1:
            raise ValueError(f"a page holds at least one row, not {limit}")
        parts: list[str] = []
        params: list[object] = []
        if self.where:
            parts.append(f"({self.where})")
            params += self.where_params
        if after is not None:
            if self.dialect == "postgres" and len(self.key) > 1:
                if len(after) != len(self.key):
                    raise ValueError(f"a key bound needs {len(self.key)} values, got {len(after)}")
                marks = ", ".join(["%s"] * len(after))
                parts.append(f"({', '.join(self.key_columns)}) > ({marks})")
                params += after
            else:
                sql, values = _beyond(self.key_columns, after, ">")
                parts.append(sql)
                params += values
        where = " WHERE " + " AND ".join(parts) if parts else ""
        listed = ", ".join(self.column_names)
        sql = f"SELECT {listed} FROM {self.qualified}{where}{self._order()} LIMIT {int(limit)}"
        return sql, tuple(params)

    def rows_with_keys(self, keys: Sequence[Sequence[object]]) -> Statement:
        """The rows (of those the filter selects) whose primary key is one of ``keys``
        (at least one), ordered by key."""
        if not keys:
            raise ValueError("rows_with_keys needs at least one key")
        matches: list[str] = []
        params: list[object] = list(self.where_params) if self.where else []
        for key in keys:
            match, values = self.key_match(key)
            matches.append(f"({match})")
            params += values
        listed = ", ".join(self.column_names)
        where = f"({self.where}) AND " if self.where else ""
        return (
            f"SELECT {listed} FROM {self.qualified} WHERE {where}({' OR '.join(matches)})"
            f"{self._order()}",
            tuple(params),
        )

    def row(self, key: Sequence[object]) -> Statement:
        """The row with primary key ``key``."""
        match, params = self.key_match(key)
        return f"SELECT {', '.join(self.column_names)} FROM {self.qualified} WHERE {match}", params

    def key_match(self, key: Sequence[object]) -> Statement:
        """``k1 = %s AND k2 = %s ...`` for one primary key."""
        if len(key) != len(self.key):
            raise ValueError(f"a key of {self.table!r} has {len(self.key)} values")
        return " AND ".join(f"{c} = %s" for c in self.key_columns), tuple(key)


def _beyond(columns: Sequence[str], bound: Sequence[object], op: str) -> Statement:
    """``key op bound`` in lexicographic order, spelled out column by column
    (``a > %s OR (a = %s AND b > %s)``) rather than as a row-value comparison, which not
    every server turns into an index range scan."""
    if len(bound) != len(columns):
        raise ValueError(f"a key bound needs {len(columns)} values, got {len(bound)}")
    terms: list[str] = []
    params: list[object] = []
    for i, column in enumerate(columns):
        equal = [f"{c} = %s" for c in columns[:i]]
        terms.append("(" + " AND ".join([*equal, f"{column} {op} %s"]) + ")")
        params += [*bound[:i], bound[i]]
    return "(" + " OR ".join(terms) + ")", tuple(params)


__all__ = ["KeyRange", "Statement", "TableShape"]
