"""``tenantdb+mysql://``: MySQL/MariaDB's SQLAlchemy dialect over tenantdb (PyMySQL
underneath)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.mysql.base import MySQLCompiler, MySQLExecutionContext
from sqlalchemy.dialects.mysql.base import MySQLDialect as _MySQLDialect

from ._bind_names import escaping_compiler
from ._dialect import ScopedExecutionContext, TenantdbDialect


class MySQLExecutionContextScoped(ScopedExecutionContext, MySQLExecutionContext):
    pass


class MySQLDialect(TenantdbDialect, _MySQLDialect):
    """SQLAlchemy's MySQL dialect with tenantdb's connection, probes and reflection."""

    supports_statement_cache = True  # SQLAlchemy reads it from each final class
    tenantdb_dialect = "mysql"
    tenantdb_isolation_level = "REPEATABLE READ"
    execution_ctx_cls = MySQLExecutionContextScoped
    supports_server_side_cursors = False
    statement_compiler = escaping_compiler(MySQLCompiler)
    tenantdb_schema_per_datasource = True
    # tenantdb's executemany reports the rows every parameter set matched (FOUND_ROWS).
    supports_sane_multi_rowcount = True
    supports_native_decimal = True  # PyMySQL returns DECIMAL columns as Decimal

    def _detect_charset(self, connection: Any) -> str:
        # tenantdb's MySQL pools connect with utf8mb4.
        return "utf8mb4"

    def _extract_error_code(self, exception: BaseException) -> Any:
        # tenantdb keeps the driver's error in .orig; PyMySQL's first argument is the code.
        orig = getattr(exception, "orig", None) or exception
        code = orig.args[0] if orig.args else None
        return code if isinstance(code, int) else None

    @classmethod
    def get_async_dialect_cls(cls, url: Any) -> Any:
        from ._async import AsyncMySQLDialect  # the asyncio twin, loaded when an async engine asks

        return AsyncMySQLDialect
