"""Tenant files: tenant records read from JSON Lines or a JSON array, with line numbers.

The records have the shape ``tenantdb tenants show --json`` prints and
``cluster.tenants.put`` accepts; ``tenantdb tenants export`` writes them as JSON Lines
(``dump_lines``). Reading checks only the file's shape (JSON, one object per tenant, a
string id, each id once); what the fields say is checked by the registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import Error
from ..tenants import Tenant

_SHOWN = 20  # problems listed in an error message; the rest are counted


@dataclass(frozen=True, slots=True)
class TenantLine:
    """One tenant record of a file and the line it starts on (1-based)."""

    line: int
    record: Mapping[str, Any]

    @property
    def tenant_id(self) -> str:
        tenant_id = self.record["id"]
        assert isinstance(tenant_id, str)  # read_tenant_file admits no other
        return tenant_id


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one record cannot be imported: its line, tenant (when known), the offending key
    (when known) and what to change."""

    line: int
    message: str
    tenant_id: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "tenant": self.tenant_id,
            "key": self.key,
            "message": self.message,
        }


class TenantFileError(Error):
    """The records of a tenant file cannot be imported; ``problems`` says where and why.

    The message lists the first problems, one per line, and counts the rest.
    """

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        count = len(problems)
        lines = [f"{source}: {count} bad record{'s' if count != 1 else ''}; nothing was imported"]
        lines += [f"  {problem}" for problem in problems[:_SHOWN]]
        if count > _SHOWN:
            lines.append(f"  ... and {count - _SHOWN} more (--json lists them all)")
        super().__init__("\n".join(lines))


def read_tenant_file(text: str, source: str) -> list[TenantLine]:
    """The tenant records of ``text``: a JSON array of objects when its first non-blank
    character is ``[``, else JSON Lines (one object per line; blank lines skipped).

    Raises TenantFileError listing every problem found: text that is not JSON, a record
    that is not an object or has no string ``id``, an id given twice. ``source`` names
    the file in messages.
    """
    if text.lstrip().startswith("["):
        records, problems = _array(text)
    else:
        records, problems = _json_lines(text)
    lines: list[TenantLine] = []
    first_line: dict[str, int] = {}
    for line, record in records:
        problem = _shape_problem(line, record, first_line)
        if problem is not None:
            problems.append(problem)
        else:
            lines.append(TenantLine(line, record))
            first_line[record["id"]] = line
    if problems:
        raise TenantFileError(source, sorted(problems, key=lambda problem: problem.line))
    return lines


def dump_lines(tenants: Iterable[Tenant]) -> Iterator[str]:
    """One JSON Lines line (with its newline) per tenant: its whole record, version
    included (``import`` ignores versions: the store numbers them)."""
    for tenant in tenants:
        yield json.dumps(tenant.to_dict(), ensure_ascii=False) + "\n"


def _json_lines(text: str) -> tuple[list[tuple[int, Any]], list[Problem]]:
    problems: list[Problem] = []
    records: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line, parse_constant=_refuse_constant)))
        except ValueError as exc:  # JSONDecodeError is one
            problems.append(Problem(number, _not_json(exc, line, first=number == 1)))
    return records, problems


def _array(text: str) -> tuple[list[tuple[int, Any]], list[Problem]]:
    """The elements of a JSON array and the line each starts on; or none and the file's
    only problem when it is not a well-formed array (JSON is not read past an error)."""
    decoder = json.JSONDecoder(parse_constant=_refuse_constant)
    records: list[tuple[int, Any]] = []
    at = _skip_blank(text, text.index("[") + 1)
    try:
        if text.startswith("]", at):
            at += 1
        else:
            while True:
                record, end = decoder.raw_decode(text, at)
                records.append((text.count("\n", 0, at) + 1, record))
                at = _skip_blank(text, end)
                if text.startswith("]", at):
                    at += 1
                    break
                if not text.startswith(",", at):
                    raise json.JSONDecodeError("Expecting ',' or ']' after a record", text, at)
                at = _skip_blank(text, at + 1)
        if text[at:].strip():
            raise json.JSONDecodeError("Extra data after the array", text, _skip_blank(text, at))
    except json.JSONDecodeError as exc:
        return [], [Problem(exc.lineno, f"not JSON at column {exc.colno}: {exc.msg}")]
    except ValueError as exc:  # NaN or Infinity
        return [], [Problem(text.count("\n", 0, at) + 1, f"not JSON: {exc}")]
    return records, []


def _shape_problem(line: int, record: Any, first_line: Mapping[str, int]) -> Problem | None:
    if not isinstance(record, dict):
        return Problem(
            line, f"a tenant record is a JSON object ({{...}}), not {_json_type(record)}"
        )
    tenant_id = record.get("id")
    if not isinstance(tenant_id, str):
        return Problem(
            line,
            f"a tenant record needs 'id' as a string, got {json.dumps(tenant_id)}",
            key="id",
        )
    earlier = first_line.get(tenant_id)
    if earlier is not None:
        return Problem(
            line,
            f"tenant {tenant_id!r} is also on line {earlier}; give each tenant once",
            tenant_id=tenant_id,
            key="id",
        )
    return None


def _not_json(exc: ValueError, line: str, *, first: bool) -> str:
    if isinstance(exc, json.JSONDecodeError):
        text = f"not JSON at column {exc.colno}: {exc.msg}"
    else:
        text = f"not JSON: {exc}"
    if first and "," in line and not line.lstrip().startswith("{"):
        # Most likely a CSV file: say what is read instead.
        text += (
            "; tenant files are JSON Lines (one JSON object per line, as `tenantdb tenants"
            " export` writes) or a JSON array, not CSV"
        )
    return text


def _skip_blank(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _refuse_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return "a number"


__all__ = [
    "Problem",
    "TenantFileError",
    "TenantLine",
    "dump_lines",
    "read_tenant_file",
]
