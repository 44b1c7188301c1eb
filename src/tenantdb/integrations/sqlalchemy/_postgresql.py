"""``tenantdb+postgresql://``: PostgreSQL's SQLAlchemy dialect over tenantdb (psycopg 3
underneath, which already parses json/jsonb results)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import types as sqltypes
from sqlalchemy.dialects.postgresql import JSON, JSONB
from sqlalchemy.dialects.postgresql.base import PGCompiler, PGDialect, PGExecutionContext
from sqlalchemy.dialects.postgresql.pg_catalog import INT2VECTOR, OIDVECTOR

from ._bind_names import escaping_compiler
from ._dialect import ScopedExecutionContext, TenantdbDialect
from ._types import Float, Numeric


class _JSON(JSON):
    def result_processor(self, dialect: Any, coltype: Any) -> None:
        return None  # psycopg returns json as Python values already


class _JSONB(JSONB):
    def result_processor(self, dialect: Any, coltype: Any) -> None:
        return None  # psycopg returns jsonb as Python values already


class _SpaceSeparated:
    """int2vector / oidvector (catalog columns reflection reads): psycopg returns their
    text form, ``"1 2"``; the catalog query expects a list of ints."""

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        def process(value: Any) -> Any:
            if isinstance(value, str):
                return [int(part) for part in value.split()]
            return value

        return process


class _INT2VECTOR(_SpaceSeparated, INT2VECTOR):
    cache_ok = True


class _OIDVECTOR(_SpaceSeparated, OIDVECTOR):
    cache_ok = True


def _cast_bound(base: type[Any]) -> type[Any]:
    """``base`` rendering ``%(name)s::TYPE``: psycopg binds a str as type "unknown" on the
    server, which PostgreSQL cannot type inside a function call (json_build_object(...))."""
    return type(f"Cast{base.__name__}", (base,), {"render_bind_cast": True})


_CAST_BOUND = (
    sqltypes.String,
    sqltypes.Integer,
    sqltypes.SmallInteger,
    sqltypes.BigInteger,
    sqltypes.Boolean,
    sqltypes.Date,
    sqltypes.DateTime,
    sqltypes.Time,
    sqltypes.Interval,
    sqltypes.JSON.JSONIntIndexType,
    sqltypes.JSON.JSONStrIndexType,
)


class PostgreSQLExecutionContext(ScopedExecutionContext, PGExecutionContext):
    pass


class PostgreSQLDialect(TenantdbDialect, PGDialect):
    """SQLAlchemy's PostgreSQL dialect with tenantdb's connection, probes and reflection."""

    supports_statement_cache = True  # SQLAlchemy reads it from each final class
    tenantdb_dialect = "postgres"
    tenantdb_isolation_level = "READ COMMITTED"
    execution_ctx_cls = PostgreSQLExecutionContext
    supports_server_side_cursors = False
    statement_compiler = escaping_compiler(PGCompiler)
    # tenantdb refuses COMMENT ON statements (they are not routed DDL): SQLAlchemy then
    # emits none, and reflection reports no comments.
    supports_comments = False
    # tenantdb refuses CREATE TYPE: Enum columns are VARCHAR (with a CHECK constraint when
    # the Enum asks for one), as on backends without native enums.
    supports_native_enum = False
    supports_constraint_comments = False
    colspecs = {
        **PGDialect.colspecs,
        **{base: _cast_bound(PGDialect.colspecs.get(base, base)) for base in _CAST_BOUND},
        sqltypes.Numeric: Numeric,
        sqltypes.Float: Float,
        sqltypes.JSON: _JSON,
        JSON: _JSON,
        JSONB: _JSONB,
        INT2VECTOR: _INT2VECTOR,
        OIDVECTOR: _OIDVECTOR,
    }

    def _fold(self, name: str) -> str:
        return name  # PostgreSQL reports names already folded; compare exactly

    @classmethod
    def get_async_dialect_cls(cls, url: Any) -> Any:
        from ._async import (
            AsyncPostgreSQLDialect,
        )  # the asyncio twin, loaded when an async engine asks

        return AsyncPostgreSQLDialect
