"""Durations in configuration files: a number of seconds or a string such as ``"500ms"``."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_UNIT = r"(?:ms|s|m|h)"
# A bare number means seconds; otherwise one or more number+unit parts ("1h30m").
DURATION_PATTERN = rf"^\s*(?:{_NUMBER}|(?:{_NUMBER}\s*{_UNIT}\s*)+)\s*$"
_DURATION = re.compile(DURATION_PATTERN)
_PART = re.compile(rf"({_NUMBER})\s*({_UNIT})")

DURATION_HELP = "a number of seconds or a string such as '500ms', '2s', '1.5m', '1h' or '1h30m'"


def parse_duration(value: object) -> float:
    """Return ``value`` as a number of seconds.

    Accepts an int or float (seconds) or a string: a bare number (seconds) or number+unit
    parts with units ``ms``, ``s``, ``m``, ``h`` (``"1h30m"`` is 5400.0). Raises
    ``ValueError`` for anything else, including booleans, NaN and infinity; the message
    does not repeat the value, which may come from a secret environment variable.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a duration: {DURATION_HELP}")
    if isinstance(value, str):
        if not _DURATION.fullmatch(value):
            raise ValueError(f"expected a duration: {DURATION_HELP}")
        parts = _PART.findall(value)
        seconds = (
            sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
            if parts
            else float(value)
        )
    else:
        seconds = float(value)
    if not math.isfinite(seconds):
        raise ValueError(f"expected a finite duration: {DURATION_HELP}")
    return seconds


def _validate_duration(value: Any) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise PydanticCustomError("duration", str(exc)) from None


def _duration_schema(minimum: dict[str, float]) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "number", **minimum},
            {"type": "string", "pattern": DURATION_PATTERN},
        ],
        "description": f"Duration: {DURATION_HELP}.",
    }


PositiveDuration = Annotated[
    float,
    Field(gt=0),
    BeforeValidator(_validate_duration),
    WithJsonSchema(_duration_schema({"exclusiveMinimum": 0}), mode="validation"),
]
"""Seconds (> 0); the document may write a number or a duration string."""

NonNegativeDuration = Annotated[
    float,
    Field(ge=0),
    BeforeValidator(_validate_duration),
    WithJsonSchema(_duration_schema({"minimum": 0}), mode="validation"),
]
"""Seconds (>= 0); the document may write a number or a duration string."""
