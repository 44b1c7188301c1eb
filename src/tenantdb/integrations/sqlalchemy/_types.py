"""Numeric result types of the PostgreSQL dialect."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import types as sqltypes
from sqlalchemy.engine import processors


class Numeric(sqltypes.Numeric[Any]):
    """psycopg binds Decimal and float themselves and return exact
    numerics as Decimal, floating point as float: results are converted to what the
    column's ``asdecimal`` asks for, by the value's type (tenantdb's description does not
    promise one driver's type codes)."""

    def bind_processor(self, dialect: Any) -> None:
        return None

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        if self.asdecimal:
            to_decimal = processors.to_decimal_processor_factory(
                Decimal, self._effective_decimal_return_scale
            )

            def as_decimal(value: Any) -> Any:
                return to_decimal(value) if isinstance(value, float | int) else value

            return as_decimal

        def as_float(value: Any) -> Any:
            return float(value) if isinstance(value, Decimal) else value

        return as_float


class Float(Numeric, sqltypes.Float[Any]):
    __visit_name__ = "float"
