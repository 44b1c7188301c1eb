"""JSON Schema export of the configuration document (the input shape, as written).

Each property's description is the docstring written under its field. pydantic could read
those itself (``use_attribute_docstrings``), but it would read and parse the models' source
every time the package is imported, which is a third of what loading the configuration
costs a fresh process; the schema is asked for rarely, so it reads them here instead.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from . import _document, _models
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
    _describe_properties(schema, ConfigDocument)
    for name, definition in schema.get("$defs", {}).items():
        described = getattr(_document, name, None) or getattr(_models, name, None)
        if isinstance(described, type):
            _describe_properties(definition, described)
    return {"$schema": GenerateJsonSchema.schema_dialect, **schema}


def _describe_properties(schema: dict[str, Any], owner: type) -> None:
    """Give each property of ``schema`` (``owner``'s) the docstring of its field."""
    if issubclass(owner, BaseModel):
        keys = {name: field.alias or name for name, field in owner.model_fields.items()}
    elif dataclasses.is_dataclass(owner):
        keys = {field.name: field.name for field in dataclasses.fields(owner)}
    else:
        return
    properties = schema.get("properties", {})
    for name, text in _attribute_docstrings(owner).items():
        key = keys.get(name)
        if key in properties:
            properties[key]["description"] = text


def _attribute_docstrings(owner: type) -> dict[str, str]:
    """The string written right under each annotated attribute of ``owner``'s body."""
    (body,) = ast.parse(textwrap.dedent(inspect.getsource(owner))).body
    assert isinstance(body, ast.ClassDef)
    docs: dict[str, str] = {}
    for statement, following in zip(body.body, body.body[1:], strict=False):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = inspect.cleandoc(following.value.value)
    return docs
