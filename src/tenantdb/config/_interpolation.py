"""Environment interpolation: ``${VAR}`` and ``${VAR:-default}`` in every string value.

``$${`` is a literal ``${``. Mapping keys are never interpolated. ``${VAR:-default}`` uses
the default when ``VAR`` is unset or empty, as the shell does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._problems import KeyPath

# One token: an escaped "$${", a reference "${...}", or an unclosed "${".
_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_REFERENCE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)
_SYNTAX_HELP = "write ${NAME} or ${NAME:-default}, or $${ for a literal '${'"


@dataclass(frozen=True, slots=True)
class Interpolated:
    """A document with every reference replaced, and what the replacement involved."""

    document: dict[str, Any]
    templates: dict[KeyPath, str] = field(default_factory=dict)
    """Path of each string that had a reference → the string as written."""
    secrets: frozenset[str] = frozenset()
    """Every value taken from the environment; messages must not show them."""
    problems: tuple[tuple[KeyPath, str], ...] = ()
    """Undefined variables and malformed references; each leaves its value unusable."""


def interpolate(document: Mapping[str, Any], env: Mapping[str, str]) -> Interpolated:
    """Replace references in every string value of ``document`` with values from ``env``.

    Never raises for a bad reference: each one becomes a problem at its key path, and the
    reference is replaced by an empty string so the rest of the document can be checked.
    Returns new containers; ``document`` is not modified.
    """
    walker = _Walker(env)
    result = walker.walk(document, ())
    return Interpolated(
        document=result,
        templates=walker.templates,
        secrets=frozenset(walker.secrets),
        problems=tuple(walker.problems),
    )


class _Walker:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.templates: dict[KeyPath, str] = {}
        self.secrets: set[str] = set()
        self.problems: list[tuple[KeyPath, str]] = []
        # Containers being walked: a YAML alias can make a value contain itself.
        self.open: set[int] = set()

    def walk(self, value: Any, path: KeyPath) -> Any:
        if isinstance(value, str):
            return self.substitute(value, path)
        if not isinstance(value, Mapping | list | tuple):
            return value
        if id(value) in self.open:
            self.problems.append((path, "this value contains itself (a YAML alias cycle)"))
            return None
        self.open.add(id(value))
        try:
            if isinstance(value, Mapping):
                return {key: self.walk(item, (*path, str(key))) for key, item in value.items()}
            return [self.walk(item, (*path, index)) for index, item in enumerate(value)]
        finally:
            self.open.discard(id(value))

    def substitute(self, text: str, path: KeyPath) -> str:
        if "${" not in text:
            return text
        pieces: list[str] = []
        position = 0
        referenced = False
        for match in _TOKEN.finditer(text):
            pieces.append(text[position : match.start()])
            position = match.end()
            token = match.group(0)
            if token == "$${":
                pieces.append("${")
                continue
            referenced = True
            pieces.append(self.resolve(match.group(1), path))
        pieces.append(text[position:])
        if referenced:
            self.templates[path] = text
        return "".join(pieces)

    def resolve(self, reference: str | None, path: KeyPath) -> str:
        if reference is None:
            self.problems.append((path, f"'${{' is not closed by '}}'; {_SYNTAX_HELP}"))
            return ""
        match = _REFERENCE.fullmatch(reference)
        if match is None:
            self.problems.append(
                (path, f"'${{{reference}}}' is not a variable reference; {_SYNTAX_HELP}")
            )
            return ""
        name, default = match.group(1), match.group(2)
        value = self.env.get(name)
        if value:
            self.secrets.add(value)
            return value
        if default is not None:
            return default
        if value is None:
            self.problems.append(
                (
                    path,
                    f"environment variable {name} is not set; set it, or give a default"
                    f" with ${{{name}:-default}}",
                )
            )
        return ""
