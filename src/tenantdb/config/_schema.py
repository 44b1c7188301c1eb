"""JSON Schema export of the configuration document (the input shape, as written)."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from ._document import ConfigDocument


class _DocumentSchema(GenerateJsonSchema):
    """Drops ``null`` alternatives: TOML has no null, and an omitted key means the default."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if json_schema.get("default", ...) is None:
            del json_schema["default"]
        return json_schema


def config_json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a configuration document.

    It describes the document as written, before interpolation and resolution: durations
    are numbers of seconds or strings such as ``"2s"``, a tenant's schema is ``schema``.
    """
    schema = ConfigDocument.model_json_schema(mode="validation", schema_generator=_DocumentSchema)
    return {"$schema": GenerateJsonSchema.schema_dialect, **schema}
