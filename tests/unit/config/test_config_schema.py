"""config_json_schema: the JSON Schema of the document as written."""

from __future__ import annotations

import json
import re
from typing import Any

from tenantdb.config import config_json_schema


def _defs(schema: dict[str, Any], name: str) -> dict[str, Any]:
    definitions: dict[str, Any] = schema["$defs"]
    return definitions[name]


def test_schema_is_draft_2020_12_and_json_serializable() -> None:
    schema = config_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert json.loads(json.dumps(schema)) == schema


def test_top_level_keys_and_required_datasources() -> None:
    schema = config_json_schema()
    assert list(schema["properties"]) == [
        "dialect",
        "tenant_column",
        "default_datasource",
        "datasources",
        "tables",
        "binding_tables",
        "allowed_functions",
        "switch_file",
        "max_statement_bytes",
        "precreate",
        "precreate_interval",
        "tenants",
        "registry",
        "limits",
        "telemetry",
        "moves",
    ]
    assert schema["required"] == ["datasources"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["datasources"]["minProperties"] == 1
    assert schema["properties"]["dialect"]["enum"] == ["postgres", "mysql", "sqlite"]


def test_durations_accept_numbers_and_strings() -> None:
    lag = _defs(config_json_schema(), "DatasourceConfig")["properties"]["max_replication_lag"]
    number, text = lag["anyOf"]
    assert number == {"type": "number", "exclusiveMinimum": 0}
    assert text["type"] == "string"
    pattern = re.compile(text["pattern"])
    assert all(pattern.search(value) for value in ("2s", "500ms", "1.5s", "1m", "1h", "10"))
    assert not any(pattern.search(value) for value in ("2x", "fast", ""))


def test_tenants_use_the_schema_key() -> None:
    properties = _defs(config_json_schema(), "TenantConfig")["properties"]
    assert "schema" in properties
    assert "schema_name" not in properties


def test_tables_describe_the_input_not_the_resolved_model() -> None:
    table = _defs(config_json_schema(), "TableDocument")
    assert table["required"] == ["strategy"]
    assert table["additionalProperties"] is False
    # Omitted settings are resolved later: no null alternatives, no null defaults.
    assert table["properties"]["shards"] == {
        "description": "Number of shards (mod, hash_mod); a range table has len(boundaries) + 1.",
        "minimum": 1,
        "title": "Shards",
        "type": "integer",
    }
    assert "null" not in json.dumps(table)


def test_properties_are_described_by_their_field_docstrings() -> None:
    schema = config_json_schema()
    # A field's docstring wins over the description its type carries (every duration's).
    lag = _defs(schema, "DatasourceConfig")["properties"]["max_replication_lag"]
    assert lag["description"] == (
        "Seconds a replica may lag behind the primary and still serve reads."
    )
    # Dataclass fields and aliased fields are described too.
    limits = _defs(schema, "TenantLimits")["properties"]["max_concurrent"]
    assert limits["description"] == "Statements of this tenant running at the same time."
    tenant_schema = _defs(schema, "TenantConfig")["properties"]["schema"]
    assert tenant_schema["description"].startswith("Schema of a schema-isolated tenant")
    assert schema["properties"]["tenant_column"]["description"] == (
        "Column carrying the tenant id in tenant-scoped tables."
    )
