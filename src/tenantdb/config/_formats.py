"""Configuration file formats: TOML, YAML and JSON files read into one plain mapping."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ConfigProblem

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def read_document(path: Path) -> dict[str, Any]:
    """Read and parse the configuration file at ``path``; the format follows the extension.

    Raises ``ConfigError`` for an unknown extension, a missing or unreadable file, a syntax
    error (with the line and column when the parser gives them) and a document whose top
    level is not a mapping. Parser messages are reduced to their description: some
    parsers quote the offending text, which may be a secret.
    """
    parser = _PARSERS.get(path.suffix.lower())
    if parser is None:
        allowed = ", ".join(_PARSERS)
        raise ConfigError(
            f"cannot read {path}: unknown file type {path.suffix or '(none)'!r};"
            f" use a file ending in {allowed}"
        )
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"cannot read configuration file {path}: {reason}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (invalid byte at offset {error.start})"
        ) from None
    document = parser(text, path)
    if document is None:
        return {}  # an empty YAML file
    if not isinstance(document, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of settings, not {type(document).__name__}"
        )
    return document


def parse_document(text: str, where: str) -> dict[str, Any]:
    """Parse a document read from elsewhere than a file (an etcd key): JSON when it starts
    with ``{``, else TOML. ``where`` names it in errors. Raises ``ConfigError`` like
    ``read_document``."""
    parser = _parse_json if text.lstrip().startswith("{") else _parse_toml
    document = parser(text, Path(where))
    if not isinstance(document, dict):
        raise ConfigError(
            f"{where}: the top level must be a mapping of settings, not {type(document).__name__}"
        )
    return document


def _syntax_error(
    path: Path, kind: str, reason: str, line: int | None, column: int | None
) -> ConfigError:
    where = f"{path}, line {line}, column {column}" if line is not None else str(path)
    return ConfigError([ConfigProblem("", f"{where}: invalid {kind}: {reason}")])


def _parse_toml(text: str, path: Path) -> object:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _TOML_POSITION.search(message)
        line = int(position.group(1)) if position else None
        column = int(position.group(2)) if position else None
        reason = _TOML_POSITION.sub("", message)
        raise _syntax_error(path, "TOML", reason, line, column) from None


def _parse_json(text: str, path: Path) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise _syntax_error(path, "JSON", error.msg, error.lineno, error.colno) from None


def _parse_yaml(text: str, path: Path) -> object:
    try:
        import yaml
    except ImportError:
        raise ConfigError(
            f"cannot read {path}: YAML support needs PyYAML; install tenantdb[yaml]"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        reason = error.problem or "syntax error"
        if error.context:
            reason = f"{reason} ({error.context})"
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        raise _syntax_error(path, "YAML", reason, line, column) from None
    except yaml.YAMLError as error:
        raise _syntax_error(path, "YAML", type(error).__name__, None, None) from None


_PARSERS: dict[str, Callable[[str, Path], object]] = {
    ".toml": _parse_toml,
    ".yaml": _parse_yaml,
    ".yml": _parse_yaml,
    ".json": _parse_json,
}
