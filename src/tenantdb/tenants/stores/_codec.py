"""How stores that keep a record as JSON text encode and decode it.

The text holds every field but ``id`` and ``version``, which stores keep in columns (or
keys) of their own. A text that does not decode comes back as ``{"id", "version",
"_error"}``: the registry rejects such a record with that message, as it rejects any
malformed one, instead of the store failing the whole read.
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard

from ._base import Record

ERROR_FIELD = "_error"
UPDATED_AT = "updated_at"
"""The field a record's change time is kept in: Unix seconds by the writer's clock
(``tenants._record`` says who writes and reads it)."""


def is_version(value: object) -> TypeGuard[int]:
    """Whether ``value`` is a version a record may carry: a positive int (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def encode_fields(record: Record) -> str:
    """JSON of the record without ``id`` and ``version``, keys sorted."""
    fields = {k: v for k, v in record.items() if k not in ("id", "version")}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def decode_record(tenant_id: str, version: Any, text: str | bytes) -> Record:
    """The record stored as ``(tenant_id, version, text)``."""
    try:
        fields = json.loads(text)
    except (ValueError, TypeError) as exc:
        return {
            "id": tenant_id,
            "version": version,
            ERROR_FIELD: f"stored data is not JSON ({exc})",
        }
    if not isinstance(fields, dict):
        return {
            "id": tenant_id,
            "version": version,
            ERROR_FIELD: f"stored data is a JSON {type(fields).__name__}, not an object",
        }
    fields.pop("id", None)
    fields.pop("version", None)
    return {"id": tenant_id, "version": version, **fields}
