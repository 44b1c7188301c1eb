"""parse_record, merged_record, change_time and stored_version: records in, Tenants out,
no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from tenantdb.errors import InvalidTenantError
from tenantdb.tenants import Tenant, TenantLimits
from tenantdb.tenants._record import change_time, merged_record, parse_record, stored_version

FULL: dict[str, Any] = {
    "id": "acme",
    "datasource": "ds1",
    "isolation": "schema",
    "schema": "acme_data",
    "status": "read_only",
    "limits": {
        "requests_per_second": 50.0,
        "burst": 10,
        "max_concurrent": 4,
        "max_concurrent_per_datasource": None,
        "max_queued": None,
        "queue_timeout": None,
        "statement_timeout": None,
    },
    "features": {"stage": "beta", "new_checkout": True},
    "version": 7,
}


def with_(**fields: Any) -> dict[str, Any]:
    """A minimal valid record (id "acme", version 1) with ``fields`` changed."""
    return {"id": "acme", "version": 1, **fields}


# -- parse_record: accepted --------------------------------------------------------------


def test_a_full_record_becomes_the_tenant_it_describes() -> None:
    assert parse_record(FULL) == Tenant(
        id="acme",
        datasource="ds1",
        isolation="schema",
        schema="acme_data",
        status="read_only",
        limits=TenantLimits(requests_per_second=50.0, burst=10, max_concurrent=4),
        features={"stage": "beta", "new_checkout": True},
        version=7,
    )


def test_a_minimal_record_takes_the_defaults() -> None:
    assert parse_record(with_()) == Tenant(id="acme", version=1)


def test_a_schema_isolated_tenant_without_schema_gets_its_id_as_schema() -> None:
    tenant = parse_record(with_(isolation="schema", schema=None))
    assert tenant.schema == "acme"
    assert tenant.isolation == "schema"


def test_the_features_of_a_parsed_tenant_are_read_only() -> None:
    tenant = parse_record(FULL)
    with pytest.raises(TypeError):
        tenant.features["stage"] = "general"  # type: ignore[index]


def test_a_record_survives_to_dict_and_back() -> None:
    tenant = parse_record(FULL)
    assert tenant.to_dict() == FULL
    assert parse_record(tenant.to_dict()) == tenant


def test_an_id_of_exactly_128_characters_is_accepted() -> None:
    assert parse_record(with_(id="a" * 128)).id == "a" * 128


def test_an_empty_datasource_is_refused() -> None:
    with pytest.raises(InvalidTenantError, match="leave it out") as caught:
        parse_record(with_(datasource=""))
    assert caught.value.field == "datasource"


# -- parse_record: rejected --------------------------------------------------------------

REJECTED = [
    # (record, .tenant_id, .field, a fragment of the message)
    pytest.param({"version": 1}, None, "id", "string 'id'", id="missing-id"),
    pytest.param({"id": 5, "version": 1}, None, "id", "string 'id', got 5", id="int-id"),
    pytest.param(with_(id=""), "", "id", "must not be empty", id="empty-id"),
    pytest.param(with_(id="ac\nme"), "ac\nme", "id", "control characters", id="newline-in-id"),
    pytest.param(with_(id="ac\x00me"), "ac\x00me", "id", "control characters", id="nul-in-id"),
    pytest.param(with_(id="a" * 129), "a" * 129, "id", "this one has 129", id="id-too-long"),
    pytest.param(with_(version=0), "acme", "version", "got 0", id="version-0"),
    pytest.param(with_(version=-3), "acme", "version", "got -3", id="version-negative"),
    pytest.param(with_(version=True), "acme", "version", "got True", id="version-bool"),
    pytest.param(with_(version="2"), "acme", "version", "got '2'", id="version-string"),
    pytest.param(with_(version=1.0), "acme", "version", "got 1.0", id="version-float"),
    pytest.param({"id": "acme"}, "acme", "version", "got None", id="version-missing"),
    pytest.param(with_(isolation="rows"), "acme", "isolation", "'shared'", id="isolation"),
    pytest.param(with_(status="deleted"), "acme", "status", "'suspended'", id="status"),
    pytest.param(
        with_(schema="acme"), "acme", "schema", "isolation is 'shared'", id="schema-on-shared"
    ),
    pytest.param(
        with_(isolation="database", schema="acme"),
        "acme",
        "schema",
        "isolation is 'database'",
        id="schema-on-database",
    ),
    pytest.param(
        with_(id="acme-corp", isolation="schema"),
        "acme-corp",
        "schema",
        "not a plain SQL identifier",
        id="schema-tenant-id-not-identifier",
    ),
    pytest.param(
        with_(isolation="schema", schema="acme data"),
        "acme",
        "schema",
        "should match pattern",
        id="schema-not-identifier",
    ),
    pytest.param(
        with_(limits={"requests_per_second": -1}),
        "acme",
        "limits",
        "limits.requests_per_second",
        id="negative-rps",
    ),
    pytest.param(with_(limits={"burst": 0}), "acme", "limits", "limits.burst", id="zero-burst"),
    pytest.param(with_(colour="red"), "acme", "colour", "Extra inputs", id="unknown-field"),
    pytest.param(with_(features=["x"]), "acme", "features", "dictionary", id="features-list"),
]


@pytest.mark.parametrize(("record", "tenant_id", "field", "fragment"), REJECTED)
def test_a_malformed_record_is_rejected_naming_the_field(
    record: dict[str, Any], tenant_id: str | None, field: str, fragment: str
) -> None:
    with pytest.raises(InvalidTenantError) as caught:
        parse_record(record)
    error = caught.value
    assert error.tenant_id == tenant_id
    assert error.field == field
    message = str(error)
    assert field in message
    assert fragment in message
    if tenant_id is not None:
        assert message.startswith(f"tenant {tenant_id!r}: ")


def test_a_record_the_store_could_not_decode_is_rejected_with_its_error() -> None:
    with pytest.raises(InvalidTenantError) as caught:
        parse_record(with_(_error="stored data is not JSON (Expecting value)"))
    assert caught.value.tenant_id == "acme"
    assert caught.value.field is None
    assert str(caught.value) == "tenant 'acme': stored data is not JSON (Expecting value)"


def test_a_record_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(InvalidTenantError, match="must be a mapping, got list") as caught:
        parse_record(["acme"])  # type: ignore[arg-type]
    assert caught.value.tenant_id is None


def test_an_id_that_is_not_valid_unicode_is_rejected() -> None:
    with pytest.raises(InvalidTenantError) as caught:
        parse_record(with_(id="acme\udc80"))
    assert caught.value.field == "id"


# -- merged_record -----------------------------------------------------------------------


def test_a_mapping_changes_only_the_fields_it_names_and_bumps_the_stored_version() -> None:
    current = dict(FULL)
    merged = merged_record("acme", current, {"status": "suspended", "features": {"x": 1}})
    assert merged == {**FULL, "status": "suspended", "features": {"x": 1}, "version": 8}
    assert current == FULL  # the stored record is not changed in place


def test_a_mapping_for_a_new_tenant_gives_version_1_and_only_the_named_fields() -> None:
    assert merged_record("acme", None, {"status": "read_only"}) == {
        "id": "acme",
        "status": "read_only",
        "version": 1,
    }


def test_a_tenant_replaces_every_field() -> None:
    change = Tenant(id="acme", datasource="ds0", version=99)
    assert merged_record("acme", dict(FULL), change) == {
        "id": "acme",
        "datasource": "ds0",
        "isolation": "shared",
        "schema": None,
        "status": "active",
        "limits": dict.fromkeys(FULL["limits"]),
        "features": {},
        "version": 8,
    }


def test_version_in_a_mapping_is_ignored() -> None:
    merged = merged_record("acme", dict(FULL), {"version": 1000, "status": "active"})
    assert merged["version"] == 8
    assert merged_record("acme", None, {"version": 1000})["version"] == 1


def test_the_id_argument_wins_over_an_id_in_the_change() -> None:
    assert merged_record("acme", None, {"id": "globex"})["id"] == "acme"


def test_unknown_fields_are_refused_naming_them() -> None:
    with pytest.raises(InvalidTenantError) as caught:
        merged_record("acme", dict(FULL), {"status": "active", "zone": "eu", "colour": "red"})
    error = caught.value
    assert error.tenant_id == "acme"
    assert error.field == "colour"  # the first, sorted
    assert "unknown field(s) 'colour', 'zone'" in str(error)


@pytest.mark.parametrize("isolation", ["shared", "database"])
def test_leaving_schema_isolation_drops_the_schema(isolation: str) -> None:
    merged = merged_record("acme", dict(FULL), {"isolation": isolation})
    assert merged["isolation"] == isolation
    assert merged["schema"] is None
    assert parse_record(merged).schema is None


def test_staying_in_schema_isolation_keeps_the_schema() -> None:
    assert merged_record("acme", dict(FULL), {"isolation": "schema"})["schema"] == "acme_data"
    assert merged_record("acme", dict(FULL), {"status": "active"})["schema"] == "acme_data"


def test_a_schema_given_with_the_new_isolation_is_kept() -> None:
    merged = merged_record("acme", dict(FULL), {"isolation": "shared", "schema": "s"})
    assert merged["schema"] == "s"  # and parse_record then refuses it, naming the field


def test_a_record_with_a_malformed_version_is_overwritten_at_version_1() -> None:
    assert merged_record("acme", {"id": "acme", "version": "7"}, {})["version"] == 1


def test_a_mapping_naming_every_field_overwrites_an_undecodable_record() -> None:
    broken = {"id": "acme", "version": 7, "_error": "stored data is not JSON (Expecting value)"}
    change = {k: v for k, v in FULL.items() if k not in ("id", "version")}
    assert parse_record(merged_record("acme", broken, change)) == parse_record(
        {**FULL, "version": 8}
    )


# -- stored_version ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "version"),
    [
        (None, 0),
        ({"id": "acme", "version": 3}, 3),
        ({"id": "acme"}, 0),
        ({"id": "acme", "version": "3"}, 0),
        ({"id": "acme", "version": True}, 0),
        ({"id": "acme", "version": 3.0}, 0),
    ],
)
def test_stored_version(record: dict[str, Any] | None, version: int) -> None:
    assert stored_version(record) == version


# -- updated_at: the store's stamp, not part of the tenant -------------------------------


def test_a_stamped_record_is_the_same_tenant_as_an_unstamped_one() -> None:
    assert parse_record({**FULL, "updated_at": 1_800_000_000.25}) == parse_record(FULL)


def test_a_change_naming_updated_at_is_not_refused_and_the_stamp_is_not_kept() -> None:
    stored = {**FULL, "updated_at": 1_700_000_000.0}
    merged = merged_record("acme", stored, {"status": "active", "updated_at": 5.0})
    assert "updated_at" not in merged  # put stamps the new record with its own time
    assert merged == {**FULL, "status": "active", "version": 8}


@pytest.mark.parametrize(
    ("record", "stamp"),
    [
        ({"id": "acme", "updated_at": 1_800_000_000.5}, 1_800_000_000.5),
        ({"id": "acme", "updated_at": 1_800_000_000}, 1_800_000_000.0),
        ({"id": "acme", "updated_at": 0}, 0.0),
        ({"id": "acme"}, None),  # written before stamps existed
        ({"id": "acme", "updated_at": None}, None),
        ({"id": "acme", "updated_at": "2026-12-01T00:00:00Z"}, None),
        ({"id": "acme", "updated_at": True}, None),
        ({"id": "acme", "updated_at": -1.0}, None),
        ({"id": "acme", "updated_at": float("nan")}, None),
        ({"id": "acme", "updated_at": float("inf")}, None),
    ],
)
def test_change_time(record: dict[str, Any], stamp: float | None) -> None:
    assert change_time(record) == stamp
