"""Bound parameter names tenantdb's placeholders accept, for the backends' SQL compilers."""

from __future__ import annotations

import string
from typing import Any

# tenantdb's %(name)s placeholders take Python identifiers only: every other ASCII
# character of a bound parameter's name is written as its code (SQLAlchemy translates the
# parameter dictionaries the same way), distinct for each character so no two names meet.
BIND_NAME_ESCAPES = {ch: f"_{ord(ch):02x}" for ch in string.punctuation + " " if ch != "_"}


class _BindNames:
    """Compiler mixin: a bound name that is still no identifier once its characters are
    escaped (``1param``, ``42numbers``) gets a ``p_`` prefix, recorded as SQLAlchemy records
    its own escapes so parameter dictionaries follow."""

    _bind_translate_re: Any
    _bind_translate_chars: Any

    def bindparam_string(self, name: str, **kw: Any) -> str:
        if not kw.get("escaped_from"):
            escaped = self._bind_translate_re.sub(
                lambda m: self._bind_translate_chars[m.group(0)], name
            )
            if not escaped.isidentifier():
                escaped = f"p_{escaped}"
            if escaped != name:
                kw["escaped_from"] = name
                name = escaped
        result: str = super().bindparam_string(name, **kw)  # type: ignore[misc]
        return result


def escaping_compiler(base: type[Any]) -> type[Any]:
    """``base`` (a backend's SQL compiler) with bound parameter names tenantdb accepts."""
    return type(
        f"Tenantdb{base.__name__}",
        (_BindNames, base),
        {"bindname_escape_characters": BIND_NAME_ESCAPES},
    )
