"""Static tenants: ids, placement, isolation and schema, status, limits, features."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantdb.config import TenantConfig, TenantLimits, load_config
from tenantdb.errors import ConfigProblem

Doc = dict[str, Any]
ProblemAt = Callable[..., str]
Problems = Callable[..., list[ConfigProblem]]


def _tenant(doc: Doc, tenant_id: str = "acme", **settings: Any) -> TenantConfig:
    doc["tenants"] = {tenant_id: settings}
    return load_config(doc, env={}).tenants[tenant_id]


def _with_tenant(doc: Doc, tenant_id: str = "acme", **settings: Any) -> Doc:
    doc["tenants"] = {tenant_id: settings}
    return doc


def test_defaults(doc: Doc) -> None:
    tenant = _tenant(doc)
    assert tenant == TenantConfig()
    assert (tenant.datasource, tenant.isolation, tenant.schema_name) == (None, "shared", None)
    assert (tenant.status, tenant.limits, tenant.features) == ("active", TenantLimits(), {})


def test_everything_written(doc: Doc) -> None:
    tenant = _tenant(
        doc,
        datasource="ds1",
        isolation="database",
        status="read_only",
        limits={"requests_per_second": 12.5, "burst": 20, "max_concurrent": 3},
        features={"beta": True, "rollout": {"stage": 2}},
    )
    assert tenant.datasource == "ds1"
    assert tenant.isolation == "database"
    assert tenant.status == "read_only"
    assert tenant.limits == TenantLimits(requests_per_second=12.5, burst=20, max_concurrent=3)
    assert tenant.features == {"beta": True, "rollout": {"stage": 2}}


def test_schema_defaults_to_the_tenant_id(doc: Doc) -> None:
    assert _tenant(doc, "globex", isolation="schema").schema_name == "globex"


def test_schema_may_be_written(doc: Doc) -> None:
    assert _tenant(doc, isolation="schema", schema="t_acme").schema_name == "t_acme"


def test_schema_needs_a_name_when_the_id_is_not_an_identifier(
    doc: Doc, problem_at: ProblemAt
) -> None:
    message = problem_at(
        _with_tenant(doc, "acme-corp", isolation="schema"), "tenants.acme-corp.schema"
    )
    assert message.startswith(
        "tenant id 'acme-corp' is not a plain SQL identifier, so it cannot name the tenant's"
        ' schema; set schema = "..."'
    )


def test_schema_name_must_be_an_identifier(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_tenant(doc, isolation="schema", schema="acme corp")
    message = problem_at(document, "tenants.acme.schema")
    assert message.startswith("'acme corp' is not a plain SQL identifier")


@pytest.mark.parametrize("isolation", ["shared", "database"])
def test_schema_only_with_schema_isolation(doc: Doc, problem_at: ProblemAt, isolation: str) -> None:
    message = problem_at(_with_tenant(doc, isolation=isolation, schema="s"), "tenants.acme.schema")
    assert message.startswith("only tenants with isolation = \"schema\" take 'schema'")
    assert message.endswith(f"(this tenant's isolation is '{isolation}')")


def test_schema_is_the_document_key_not_schema_name(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_tenant(doc, isolation="schema", schema_name="s")
    message = problem_at(document, "tenants.acme.schema_name")
    assert message.startswith("unknown key 'schema_name'; did you mean 'schema'?")


def test_two_tenants_cannot_share_a_schema(doc: Doc, problem_at: ProblemAt) -> None:
    doc["tenants"] = {
        "acme": {"isolation": "schema"},
        "globex": {"isolation": "schema", "schema": "acme"},
    }
    message = problem_at(doc, "tenants.globex.schema")
    assert message.startswith("schema 'acme' is already the schema of tenant 'acme'")


def test_tenant_datasource_must_exist(doc: Doc, problem_at: ProblemAt) -> None:
    message = problem_at(_with_tenant(doc, datasource="ds9"), "tenants.acme.datasource")
    assert message == "datasource 'ds9' is not defined; defined: ds0, ds1"


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (
            "isolation",
            "schemas",
            "unknown isolation 'schemas'; did you mean 'schema'?"
            " use one of: shared, schema, database",
        ),
        (
            "status",
            "disabled",
            "unknown status 'disabled'; use one of: active, read_only, suspended, moving",
        ),
    ],
)
def test_enumerated_settings(
    doc: Doc, problem_at: ProblemAt, setting: str, value: str, message: str
) -> None:
    assert problem_at(_with_tenant(doc, **{setting: value}), f"tenants.acme.{setting}") == message


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [
        ("requests_per_second", 0, "must be greater than 0, got 0"),
        ("burst", 0, "must be at least 1, got 0"),
        ("max_concurrent", -2, "must be at least 1, got -2"),
    ],
)
def test_limits(doc: Doc, problem_at: ProblemAt, limit: str, value: int, message: str) -> None:
    document = _with_tenant(doc, limits={limit: value})
    assert problem_at(document, f"tenants.acme.limits.{limit}") == message


@pytest.mark.parametrize(
    ("tenant_id", "path", "phrase"),
    [
        ("", 'tenants.""', "a tenant id must not be empty"),
        ("a" * 129, "tenants." + "a" * 129, "a tenant id may have at most 128 characters"),
        ("acme\n", 'tenants."acme\\n"', "a tenant id must not contain control characters"),
    ],
)
def test_tenant_ids(
    doc: Doc, problem_at: ProblemAt, tenant_id: str, path: str, phrase: str
) -> None:
    assert problem_at(_with_tenant(doc, tenant_id), path).startswith(phrase)


def test_tenant_ids_may_be_any_printable_text(doc: Doc) -> None:
    doc["tenants"] = {"Acme Corp. (EU)": {}, "a" * 128: {}, "ünïcode": {}}
    assert list(load_config(doc, env={}).tenants) == ["Acme Corp. (EU)", "a" * 128, "ünïcode"]


def test_tenant_id_with_dots_is_quoted_in_paths(doc: Doc, problem_at: ProblemAt) -> None:
    message = problem_at(_with_tenant(doc, "acme.eu", status="gone"), 'tenants."acme.eu".status')
    assert message.startswith("unknown status 'gone'")
