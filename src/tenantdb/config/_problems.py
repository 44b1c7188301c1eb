"""Collecting configuration problems: key paths, pydantic errors made readable, no secrets.

Every message is built to say what is allowed or what to change. Values are shown through
``ProblemCollector.show``: a value that came from the environment is shown as the text
written in the file (``'${PGPASSWORD}' (interpolated)``) and URLs lose their password, so a
secret never reaches a message; as a last line of defence every value of four or more
characters taken from the environment is also masked (``***``) in the final messages.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import json
import re
import types
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ..errors import ConfigError, ConfigProblem
from ._names import IDENTIFIER_HELP, IDENTIFIER_PATTERN, TENANT_ID_PATTERN
from ._urls import redact_url

KeyPath = tuple[str | int, ...]
"""Where a value sits in the document: mapping keys and list indexes from the top."""

M = TypeVar("M", bound=BaseModel)

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_SHOWN_LENGTH = 60
# Shorter environment values are too likely to occur by chance in a message ("1", "ds0").
_MIN_MASKED_LENGTH = 4

_PATTERN_HELP = {
    IDENTIFIER_PATTERN: f"is not a plain SQL identifier; use {IDENTIFIER_HELP}",
    TENANT_ID_PATTERN: "must not contain control characters",
}
_MISSING_HINTS = {
    "url": 'every datasource needs one, e.g. url = "sqlite:///data/shard0.db"',
    "strategy": (
        "every table needs one: tenant, mod, hash_mod, consistent_hash, range,"
        " time_range, broadcast or single"
    ),
}


def format_path(path: KeyPath) -> str:
    """``("tables", "orders", "datasources", 1)`` → ``tables.orders.datasources[1]``.

    Keys other than letters, digits, ``_`` and ``-`` are quoted as JSON strings.
    """
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if _PLAIN_KEY.fullmatch(part) else json.dumps(part)
            text = f"{text}.{key}" if text else key
    return text


def describe_kind(value: object) -> str:
    """The kind of a document value, with its article: ``a string``, ``a table``, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, datetime.date):
        return "a date"
    return f"a {type(value).__name__}"


def join_words(words: Sequence[str]) -> str:
    """``["a", "b", "c"]`` → ``a, b and c``."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'shards'?"`` when a choice is close to ``word``, else ``""``."""
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1)
    return f"; did you mean '{by_lower[close[0]]}'?" if close else ""


class ProblemCollector:
    """Gathers every problem of one document, then raises them together as one ConfigError.

    ``templates`` maps the path of each interpolated value to its text as written;
    ``secrets`` are the values taken from the environment; ``top_level_keys`` lets an
    unknown key explain that it belongs at the top of the document.
    """

    def __init__(
        self,
        *,
        templates: Mapping[KeyPath, str] | None = None,
        secrets: Collection[str] = (),
        top_level_keys: Collection[str] = (),
    ) -> None:
        self._problems: list[tuple[KeyPath, str]] = []
        # Values left as placeholders after a failed interpolation; other problems under
        # these paths would only describe the placeholder.
        self._unreliable: list[KeyPath] = []
        self._sticky: set[int] = set()
        self._templates = dict(templates or {})
        self._top_level_keys = frozenset(top_level_keys)
        self._secrets = sorted(
            (secret for secret in secrets if len(secret) >= _MIN_MASKED_LENGTH),
            key=len,
            reverse=True,
        )

    def __len__(self) -> int:
        return len(self._problems)

    def __repr__(self) -> str:
        return f"<ProblemCollector [{len(self._problems)} problems]>"

    def add(self, path: KeyPath, message: str) -> None:
        """Record a problem at ``path``; ``message`` says what is wrong and what to do."""
        self._problems.append((path, message))

    def add_unreliable(self, path: KeyPath, message: str) -> None:
        """Record a problem that leaves the value at ``path`` meaningless (unresolved variable).

        Later problems at or under ``path`` are dropped when the error is raised.
        """
        self._sticky.add(len(self._problems))
        self._problems.append((path, message))
        self._unreliable.append(path)

    def show(self, path: KeyPath, value: object) -> str:
        """How a message may quote the value at ``path``: never a secret or a password."""
        template = self._templates.get(path)
        if template is not None:
            return f"{_quote(redact_url(template))} (interpolated)"
        if isinstance(value, str):
            return _quote(redact_url(value))
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return "null"
        if isinstance(value, int | float):
            return _number(value)
        if isinstance(value, datetime.date):
            return value.isoformat()
        return describe_kind(value)

    def parse(self, model: type[M], data: object, path: KeyPath) -> M | None:
        """Validate ``data`` as ``model``; on failure record its problems and return None.

        Documents must use field aliases (``schema``), not Python field names.
        """
        try:
            return model.model_validate(data, by_alias=True, by_name=False)
        except ValidationError as error:
            self.add_validation_error(error, path, model)
            return None

    def add_validation_error(
        self, error: ValidationError, path: KeyPath, model: type[BaseModel]
    ) -> None:
        """Record each error of ``error`` (raised by ``model`` for the value at ``path``)."""
        for detail in error.errors(include_url=False):
            loc = tuple(part for part in detail["loc"] if part != "[key]")
            self.add(path + loc, self._describe(detail, model, loc, path + loc))

    def raise_if_any(self) -> None:
        """Raise one ConfigError listing every problem, ordered by path; else do nothing."""
        kept: list[tuple[KeyPath, str]] = []
        for index, (path, message) in enumerate(self._problems):
            if index not in self._sticky and any(
                path[: len(root)] == root for root in self._unreliable
            ):
                continue
            if (path, message) not in kept:
                kept.append((path, message))
        if not kept:
            return
        kept.sort(key=lambda item: _sort_key(item[0]))
        raise ConfigError(
            [ConfigProblem(format_path(path), self._mask(message)) for path, message in kept]
        )

    def _mask(self, message: str) -> str:
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return message

    def _describe(
        self, detail: ErrorDetails, model: type[BaseModel], loc: KeyPath, path: KeyPath
    ) -> str:
        kind = detail["type"]
        context = detail.get("ctx") or {}
        value = detail.get("input")
        got = self.show(path, value)
        if kind == "missing":
            key = str(loc[-1]) if loc else ""
            hint = _MISSING_HINTS.get(key)
            return f"required key '{key}' is missing" + (f"; {hint}" if hint else "")
        if kind in {"extra_forbidden", "unexpected_keyword_argument"}:  # model, dataclass
            key = str(loc[-1])
            message = _unknown_key(key, _keys_of(_annotation_at(model, loc[:-1])))
            if len(path) > 1 and key in self._top_level_keys:
                message += (
                    f"; '{key}' is a top-level key: in TOML, write it above the first"
                    " [section] header, or it belongs to that section"
                )
            return message
        if kind == "literal_error":
            choices = [str(choice) for choice in _literal_choices(model, loc)]
            name = str(loc[-1]) if loc and isinstance(loc[-1], str) else "value"
            hint = (
                did_you_mean(value, choices)
                if isinstance(value, str) and path not in self._templates
                else ""
            )
            return f"unknown {name} {got}{hint or ';'} use one of: {', '.join(choices)}"
        if kind in {"int_type", "int_parsing", "int_from_float"}:
            return f"expected a whole number, got {got}"
        if kind in {"float_type", "float_parsing", "finite_number"}:
            return f"expected a number, got {got}"
        if kind in {"bool_type", "bool_parsing"}:
            return f"expected true or false, got {got}"
        if kind == "string_type":
            return f"expected a string, got {got}"
        if kind in _BOUND_WORDS:
            words, bound_key = _BOUND_WORDS[kind]
            return f"must be {words} {_number(context[bound_key])}, got {got}"
        if kind == "string_pattern_mismatch":
            help_text = _PATTERN_HELP.get(str(context.get("pattern")), "has an invalid form")
            return f"{got} {help_text}"
        if kind == "string_too_short":
            return f"must not be empty, got {got}"
        if kind == "string_too_long":
            return f"may have at most {context.get('max_length')} characters"
        if kind in {
            "dict_type",
            "model_type",
            "model_attributes_type",
            "mapping_type",
            "dataclass_type",
        }:
            return f"expected a table of keys and values, got {describe_kind(value)}"
        if kind in {"list_type", "tuple_type", "iterable_type", "set_type"}:
            return f"expected a list, got {describe_kind(value)}"
        if kind.startswith("date_"):
            return f"expected a date such as 2026-01-01, got {got}"
        if kind in {"duration", "bool_not_number"}:
            return f"{detail['msg']}, got {got}"
        if kind == "value_error":
            return str(context.get("error", detail["msg"]))
        # Our own custom errors, and pydantic's messages, never contain the input.
        return detail["msg"]


_BOUND_WORDS = {
    "greater_than": ("greater than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}


def _quote(text: str) -> str:
    if len(text) > _SHOWN_LENGTH:
        text = text[: _SHOWN_LENGTH - 3] + "..."
    return repr(text)


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sort_key(path: KeyPath) -> tuple[tuple[int, str, int], ...]:
    return tuple((1, "", part) if isinstance(part, int) else (0, part, 0) for part in path)


def _unknown_key(key: str, allowed: Sequence[str]) -> str:
    message = f"unknown key '{key}'" + (did_you_mean(key, allowed) or ";")
    if allowed:
        message += f" allowed keys: {', '.join(allowed)}"
    return message


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``| None`` from a type annotation."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _annotation_at(model: type[BaseModel], loc: KeyPath) -> Any:
    """The type expected at ``loc`` inside ``model``, or None when it cannot be told."""
    annotation: Any = model
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next(
                (
                    info
                    for name, info in annotation.model_fields.items()
                    if part in (name, info.alias)
                ),
                None,
            )
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        elif get_origin(annotation) in (list, tuple):
            annotation = get_args(annotation)[0]
        else:
            return None
    return _unwrap(annotation)


def _keys_of(annotation: Any) -> list[str]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [info.alias or name for name, info in annotation.model_fields.items()]
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return [field.name for field in dataclasses.fields(annotation)]
    return []


def _literal_choices(model: type[BaseModel], loc: KeyPath) -> tuple[Any, ...]:
    annotation = _annotation_at(model, loc)
    return get_args(annotation) if get_origin(annotation) is Literal else ()
