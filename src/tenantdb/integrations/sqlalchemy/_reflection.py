"""Public reflection helpers beyond SQLAlchemy's Inspector."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection, Engine

from ...errors import InterfaceError
from ._dialect import TenantdbDialect
from ._logical import PhysicalTable


def missing_tables(bind: Engine | Connection, table: str) -> list[PhysicalTable]:
    """The physical tables of logical ``table`` that do not exist yet (empty: the table
    exists, ``inspect(bind).has_table(table)`` is True). Each says its datasource.

    ``bind`` is an engine or connection of a tenantdb dialect (InterfaceError otherwise).
    """
    dialect: Any = bind.dialect
    if not isinstance(dialect, TenantdbDialect):
        raise InterfaceError(
            f"missing_tables() needs a tenantdb engine, not {bind.dialect.name}+"
            f"{bind.dialect.driver}"
        )
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return dialect.tenantdb_missing_tables(connection, table)
    return dialect.tenantdb_missing_tables(bind, table)
