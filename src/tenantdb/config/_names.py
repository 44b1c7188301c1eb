"""Names a configuration declares: plain SQL identifiers and tenant ids."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import StringConstraints

IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
IDENTIFIER_HELP = "letters, digits and underscores, not starting with a digit"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)

TENANT_ID_MAX_LENGTH = 128
# JSON Schema form of "no control characters" (Unicode category Cc).
TENANT_ID_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]+$"

SqlIdentifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
"""A plain, unquoted SQL identifier such as ``tenant_id``."""

TenantId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TENANT_ID_MAX_LENGTH, pattern=TENANT_ID_PATTERN),
]
"""A tenant id: 1 to 128 characters, none of them a control character."""


def is_identifier(name: str) -> bool:
    """True when ``name`` is a plain SQL identifier (``[A-Za-z_][A-Za-z0-9_]*``)."""
    return _IDENTIFIER.fullmatch(name) is not None


def tenant_id_problem(tenant_id: str) -> str | None:
    """Say what is wrong with ``tenant_id``, or return None when it is a valid tenant id."""
    if not tenant_id:
        return "a tenant id must not be empty"
    if len(tenant_id) > TENANT_ID_MAX_LENGTH:
        return (
            f"a tenant id may have at most {TENANT_ID_MAX_LENGTH} characters;"
            f" this one has {len(tenant_id)}"
        )
    if any(unicodedata.category(char) == "Cc" for char in tenant_id):
        return "a tenant id must not contain control characters (tabs, newlines, NUL, ...)"
    try:
        tenant_id.encode("utf-8")
    except UnicodeEncodeError:
        return "a tenant id must be valid Unicode text (this one has a lone surrogate)"
    return None
