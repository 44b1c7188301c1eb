"""``tenantdb+sqlite://``: SQLite's SQLAlchemy dialect over tenantdb (the stdlib sqlite3
module underneath, whose library version decides what SQL SQLite accepts)."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy.dialects.sqlite.base import SQLiteCompiler, SQLiteExecutionContext
from sqlalchemy.dialects.sqlite.base import SQLiteDialect as _SQLiteDialect

from ._bind_names import escaping_compiler
from ._dialect import ScopedExecutionContext, TenantdbDialect


class SQLiteExecutionContextScoped(ScopedExecutionContext, SQLiteExecutionContext):
    pass


class SQLiteDialect(TenantdbDialect, _SQLiteDialect):  # type: ignore[misc]  # get_table_names takes **kw
    """SQLAlchemy's SQLite dialect with tenantdb's connection, probes and reflection."""

    supports_statement_cache = True  # SQLAlchemy reads it from each final class
    tenantdb_dialect = "sqlite"
    tenantdb_isolation_level = "SERIALIZABLE"
    execution_ctx_cls = SQLiteExecutionContextScoped
    supports_server_side_cursors = False
    statement_compiler = escaping_compiler(SQLiteCompiler)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The base dialect reads sqlite_version_info from its DB-API module, which
        # tenantdb.dbapi does not have: it is the stdlib sqlite3's, read here.
        module = kwargs.pop("dbapi", None)
        super().__init__(*args, **kwargs)
        self.dbapi = module
        version = sqlite3.sqlite_version_info
        self.supports_default_values = True
        self.supports_cast = True
        self.supports_multivalues_insert = True
        self._broken_dotted_colnames = False
        self._broken_fk_pragma_quotes = False
        if version < (3, 35):
            self.update_returning = self.delete_returning = self.insert_returning = False
        if version < (3, 32, 0):
            self.insertmanyvalues_max_parameters = 999

    def _get_server_version_info(self, connection: Any) -> tuple[int, ...]:
        return sqlite3.sqlite_version_info

    @classmethod
    def get_async_dialect_cls(cls, url: Any) -> Any:
        from ._async import AsyncSQLiteDialect  # the asyncio twin, loaded when an async engine asks

        return AsyncSQLiteDialect
